"""Small SVG charts drawn on the server (no script, no library): bars over time, a line over time,
a burndown on a time axis and horizontal bars of shares. Each has a title and a description for screen
readers (the page shows the title too); the numbers are also in a table next to it. Colours come
from the palette; text is escaped."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape

from api.ui.palette import PALETTE

WIDTH, HEIGHT = 560, 200
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28


def nice_max(value: float) -> float:
    """The smallest 1, 2 or 5 x 10^k at or above ``value`` (an axis's top)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(float(m * power) for m in (1, 2, 5, 10) if m * power >= value)


def bars_over_time(
    ident: str, title: str, desc: str, labels: Sequence[str], values: Sequence[float]
) -> Markup:
    top, plot_h, step = _axes(values)
    parts = []
    for i, v in enumerate(values):
        h = plot_h * v / top
        x, y = LEFT + i * step + step * 0.1, TOP + plot_h - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.8:.1f}" height="{h:.1f}" '
            f'fill="{PALETTE["chart-1"]}"><title>{escape(labels[i])}: {v:g}</title></rect>'
        )
    return _frame(ident, title, desc, top, labels, "".join(parts))


def line_over_time(
    ident: str, title: str, desc: str, labels: Sequence[str], values: Sequence[float]
) -> Markup:
    top, plot_h, step = _axes(values)
    points = [(LEFT + (i + 0.5) * step, TOP + plot_h - plot_h * v / top) for i, v in enumerate(values)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    line = f'<polyline points="{path}" fill="none" stroke="{PALETTE["chart-2"]}" stroke-width="2"/>'
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{PALETTE["chart-2"]}">'
        f"<title>{escape(labels[i])}: {values[i]:g}</title></circle>"
        for i, (x, y) in enumerate(points)
    )
    return _frame(ident, title, desc, top, labels, line + dots)


def share_bars(ident: str, title: str, desc: str, rows: Sequence[tuple[str, float | None, str]]) -> Markup:
    """One bar per row, a share in [0, 1] (None: not measured yet), with its label and a note."""
    row_h, label_w, width = 22, 170, WIDTH
    height = TOP + row_h * max(len(rows), 1) + 8
    plot_w = width - label_w - 90
    parts = [_head(ident, title, desc, width, height)]
    for i, (label, share, note) in enumerate(rows):
        y = TOP + i * row_h
        parts.append(_text(label_w - 6, y + 15, _clip(label, 24), "end"))
        parts.append(
            f'<rect x="{label_w}" y="{y + 4}" width="{plot_w}" height="14" fill="none" '
            f'stroke="{PALETTE["border"]}" stroke-width="1"/>'
        )
        if share is not None:
            parts.append(
                f'<rect x="{label_w}" y="{y + 4}" width="{plot_w * share:.1f}" height="14" '
                f'fill="{PALETTE["chart-1"]}"><title>{escape(label)}: {share:.1%} ({escape(note)})</title>'
                "</rect>"
            )
        shown = f"{share:.0%}" if share is not None else "—"
        parts.append(_text(label_w + plot_w + 6, y + 15, f"{shown} {note}", "start"))
    return Markup("".join(parts) + "</svg>")


def lines_over_time(
    ident: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    lines: Sequence[tuple[str, Sequence[float | None]]],
) -> Markup:
    """One line per named series over the same periods (None: no value that period, the line joins the
    periods that have one), told apart by colour and dash, with a legend."""
    values = [v for _, vs in lines for v in vs if v is not None]
    top, plot_h, step = _axes(values)
    body = []
    for k, (name, vs) in enumerate(lines):
        colour, dash = (
            ("chart-1", "chart-2")[k % 2],
            ("", ' stroke-dasharray="6 3"', ' stroke-dasharray="2 2"')[k // 2 % 3],
        )
        points = [
            (LEFT + (i + 0.5) * step, TOP + plot_h * (1 - v / top), i, v)
            for i, v in enumerate(vs)
            if v is not None
        ]
        body.append(_polyline([(x, y) for x, y, _, _ in points], colour, dash))
        body.extend(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{PALETTE[colour]}">'
            f"<title>{escape(name)}, {escape(labels[i])}: {v:g}</title></circle>"
            for x, y, i, v in points
        )
        ly = TOP + 4 + 13 * k
        body.append(
            f'<line x1="{WIDTH - RIGHT - 130}" x2="{WIDTH - RIGHT - 110}" y1="{ly:.1f}" y2="{ly:.1f}" '
            f'stroke="{PALETTE[colour]}" stroke-width="2"{dash}/>'
            + _text(WIDTH - RIGHT - 106, ly + 4, _clip(name, 16), "start")
        )
    return _frame(ident, title, desc, top, labels, "".join(body))


@dataclass(frozen=True)
class Timeline:
    """A burndown's data: counts at moments (oldest first) and the moments to mark on its time axis."""

    at: Sequence[datetime]  # the end of each period (the last one: now)
    left: Sequence[int]  # items not yet decided, skipped ones included
    skipped: Sequence[int]
    now: datetime
    finish: datetime | None  # the estimated finish
    due: datetime | None  # the end of the due date


def burndown(ident: str, title: str, desc: str, t: Timeline) -> Markup:
    """Items left to decide and, dashed, those skipped, over time; a dotted projection from now to the
    estimated finish at zero, and the estimated finish and the due date marked as vertical lines. The
    time axis runs to the later of the two marks, or to three times the past span when the finish is
    further (its mark then says it lies beyond)."""
    if not t.at:
        return _frame(ident, title, desc, 1.0, [], "")
    t0 = t.at[0]
    past = max((t.now - t0).total_seconds(), 1.0)
    marks = [m for m in (t.finish, t.due) if m is not None]
    t1 = min(max([t.now, *marks]), datetime.fromtimestamp(t0.timestamp() + 3 * past, t0.tzinfo))
    span, top = max((t1 - t0).total_seconds(), 1.0), nice_max(max(t.left, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def xy(moment: datetime, n: float) -> tuple[float, float]:
        share = min(max((moment - t0).total_seconds() / span, 0.0), 1.0)
        return LEFT + plot_w * share, TOP + plot_h * (1 - n / top)

    body = [
        _polyline([xy(m, n) for m, n in zip(t.at, t.left, strict=True)], "chart-2", ""),
        _polyline(
            [xy(m, n) for m, n in zip(t.at, t.skipped, strict=True)], "chart-1", ' stroke-dasharray="6 3"'
        ),
    ]
    if t.finish is not None:
        end = xy(t.finish, 0)
        body.append(_polyline([xy(t.now, t.left[-1]), end], "muted", ' stroke-dasharray="2 3"'))
        body.append(_marker(end[0], 22, "est. finish" + (" (beyond) →" if t.finish > t1 else ""), "muted"))
    if t.due is not None:
        body.append(_marker(xy(t.due, 0)[0], 10, "due" + (" (beyond) →" if t.due > t1 else ""), "chart-2"))
    body.append(_marker(xy(t.now, 0)[0], 34, "now", "chart-grid"))
    fmt = "%d %b %H:%M" if span < 3 * 86400 else "%d %b"
    labels = [t0.strftime(fmt), t1.strftime(fmt)]  # the ends; now is marked
    return _frame(ident, title, desc, top, labels, "".join(body))


def _polyline(points: Sequence[tuple[float, float]], colour: str, extra: str) -> str:
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return f'<polyline points="{path}" fill="none" stroke="{PALETTE[colour]}" stroke-width="2"{extra}/>'


def _marker(x: float, dy: float, label: str, colour: str) -> str:
    return (
        f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" stroke="{PALETTE[colour]}" '
        f'stroke-width="1.5" stroke-dasharray="4 2"/>'
        + _text(min(x, WIDTH - RIGHT) - 3, TOP + dy, label, "end")
    )


def _axes(values: Sequence[float]) -> tuple[float, float, float]:
    """A chart over time's scale: the axis's top value, the plot's height and one value's width."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    return nice_max(max(values, default=0)), plot_h, plot_w / max(len(values), 1)


def _frame(ident: str, title: str, desc: str, top: float, labels: Sequence[str], body: str) -> Markup:
    plot_h, bottom = HEIGHT - TOP - BOTTOM, HEIGHT - BOTTOM
    grid = []
    for share in (0.0, 0.5, 1.0):
        y = TOP + plot_h * (1 - share)
        grid.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{PALETTE["chart-grid"]}" stroke-width="1"/>'
        )
        grid.append(_text(LEFT - 6, y + 4, f"{top * share:g}", "end"))
    ticks = [0, len(labels) // 2, len(labels) - 1] if labels else []
    step = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    for i in dict.fromkeys(ticks):  # the end ticks align inwards, so that no label is cut off
        anchor = "start" if i == 0 else "end" if i == len(labels) - 1 else "middle"
        x = LEFT if anchor == "start" else WIDTH - RIGHT if anchor == "end" else LEFT + (i + 0.5) * step
        grid.append(_text(x, bottom + 18, labels[i], anchor))
    head = _head(ident, title, desc, WIDTH, HEIGHT)
    return Markup(head + "".join(grid) + body + "</svg>")


def _head(ident: str, title: str, desc: str, width: int, height: int) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(desc)}</desc>'
    )


def _text(x: float, y: float, text: str, anchor: str) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="11" '
        f'fill="{PALETTE["muted"]}">{escape(text)}</text>'
    )


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
