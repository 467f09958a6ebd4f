"""The pages' colours, in one place: served as CSS custom properties (``/ui/static/palette.css``), used by
the server-drawn charts and read by the review page's canvas. ``PAIRS`` lists every foreground drawn on a
background with the contrast it must reach (WCAG 2.1: 4.5 for text, 3 for graphics and control borders);
a test checks them, so a colour change that hurts legibility fails."""

from __future__ import annotations

PALETTE: dict[str, str] = {
    "bg": "#ffffff",
    "surface": "#f3f5f7",
    "text": "#1b1f24",
    "muted": "#4d5761",
    "border": "#6b7580",
    "accent": "#0b5cad",
    "on-accent": "#ffffff",
    "focus": "#0b5cad",
    "defect": "#a4262c",
    "ok": "#1d6b35",
    "unsure": "#6f5200",
    "skip": "#4d5761",
    "on-button": "#ffffff",
    "good-bg": "#e3f4e8",
    "good-text": "#145227",
    "warn-bg": "#fff4ce",
    "warn-text": "#5c4400",
    "bad-bg": "#fde7e9",
    "bad-text": "#8a1f24",
    "kbd-bg": "#e8ebef",
    # The frame: a blank canvas when there is no image, and the boxes drawn on it (each also has its
    # own dash pattern and a dark outline on images, so colour is never the only cue).
    "canvas": "#262a31",
    "canvas-text": "#ffffff",
    "box-flag": "#ffb000",
    "box-fix": "#3ddc97",
    "box-other": "#9ecbff",
    "box-proposed": "#ff7ce5",
    "box-pred": "#d4f06b",
    "chart-1": "#0b5cad",
    "chart-2": "#a4262c",
    "chart-grid": "#d5dae0",
}

TEXT, GRAPHIC = 4.5, 3.0

# (foreground, background, minimum contrast ratio, where it is used)
PAIRS: tuple[tuple[str, str, float, str], ...] = (
    ("text", "bg", TEXT, "body text"),
    ("text", "surface", TEXT, "panels"),
    ("muted", "bg", TEXT, "secondary text"),
    ("muted", "surface", TEXT, "secondary text on panels"),
    ("accent", "bg", TEXT, "links"),
    ("accent", "surface", TEXT, "links on panels"),
    ("on-accent", "accent", TEXT, "primary buttons"),
    ("on-button", "defect", TEXT, "confirm button"),
    ("on-button", "ok", TEXT, "reject button"),
    ("on-button", "unsure", TEXT, "unsure button"),
    ("on-button", "skip", TEXT, "skip button"),
    ("good-text", "good-bg", TEXT, "on-track badge"),
    ("warn-text", "warn-bg", TEXT, "at-risk badge"),
    ("bad-text", "bad-bg", TEXT, "overdue badge and errors"),
    ("text", "kbd-bg", TEXT, "key caps"),
    ("border", "bg", GRAPHIC, "control borders"),
    ("border", "surface", GRAPHIC, "control borders on panels"),
    ("focus", "bg", GRAPHIC, "focus ring"),
    ("focus", "surface", GRAPHIC, "focus ring on panels"),
    ("canvas-text", "canvas", TEXT, "box captions"),
    # The boxes' captions are drawn in the box's colour, so the boxes reach text contrast.
    ("box-flag", "canvas", TEXT, "the flagged box and its caption"),
    ("box-fix", "canvas", TEXT, "the corrected box and its caption"),
    ("box-other", "canvas", TEXT, "neighbouring labels and their captions"),
    ("box-proposed", "canvas", TEXT, "the proposed box and its caption"),
    ("box-pred", "canvas", TEXT, "the matching prediction and its caption"),
    ("chart-1", "bg", GRAPHIC, "chart bars"),
    ("chart-2", "bg", GRAPHIC, "chart lines"),
)


def css_variables() -> str:
    lines = "".join(f"  --{name}: {value};\n" for name, value in PALETTE.items())
    return f":root {{\n{lines}}}\n"
