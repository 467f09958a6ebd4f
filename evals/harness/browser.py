"""Opening a report in headless Chromium (Debian's ``/usr/bin/chromium``, driven by playwright) to check
that it renders with no external request, and to screenshot it. Playwright is a dev dependency."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
)


@dataclass
class Rendered:
    """What the page did: images and how many decoded, requests outside the file, console errors."""

    title: str
    images: int
    images_loaded: int
    external_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


def screenshot(html: Path, png: Path, *, executable: Path = CHROMIUM, width: int = 1200) -> Rendered:
    """Render ``html`` (a file) full-page into ``png``; report what it loaded."""
    from playwright.sync_api import sync_playwright

    png.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(executable), args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            external: list[str] = []
            errors: list[str] = []
            page.on(
                "request", lambda r: None if r.url.startswith(("file:", "data:")) else external.append(r.url)
            )
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(html.resolve().as_uri(), wait_until="load")
            loaded = page.evaluate(
                "Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length"
            )
            images = page.evaluate("document.images.length")
            page.screenshot(path=str(png), full_page=True)
            return Rendered(page.title(), int(images), int(loaded), external, errors)
        finally:
            browser.close()
