"""Rendering the pages: one Jinja2 environment (autoescaping), static URLs with a content hash so that a
release never serves a stale script, and the security headers every page gets (no inline script or
style is allowed by the Content-Security-Policy: the pages have none)."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markdown_it import MarkdownIt
from markupsafe import Markup

from api.ui.palette import css_variables

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
STATIC_TYPES = {"ui.css": "text/css", "review.js": "text/javascript", "palette.css": "text/css"}

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@cache
def templates() -> Jinja2Templates:
    env = Jinja2Templates(directory=HERE / "templates")
    env.env.globals["static"] = static_url
    env.env.filters.update(num=_num, pct=_pct, usd=_usd, raw=_raw, markdown=markdown)
    return env


def render(request: Request, name: str, context: dict[str, Any], *, status: int = 200) -> HTMLResponse:
    response = templates().TemplateResponse(request, name, context, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


@cache  # the files ship with the release; their URLs' hashes are taken once too
def static_bytes(name: str) -> bytes:
    if name == "palette.css":
        return css_variables().encode()
    return (STATIC_DIR / name).read_bytes()


@cache
def static_url(name: str) -> str:
    digest = hashlib.sha256(static_bytes(name)).hexdigest()[:12]
    return f"/ui/static/{name}?v={digest}"


@cache
def _markdown_renderer() -> MarkdownIt:
    # CommonMark with raw HTML off: any HTML in the text is shown escaped, never rendered; links with
    # javascript:, vbscript:, file: or data: (but images) URLs are refused by markdown-it's validateLink.
    return MarkdownIt("commonmark", {"html": False})


def markdown(text: str, *, heading_offset: int = 3) -> Markup:
    """A spec rule's prose as HTML (CommonMark; raw HTML escaped). Its headings move down by
    ``heading_offset`` levels (a ``##`` in a rule shown under the page's h3 becomes an h5)."""
    md = _markdown_renderer()
    tokens = md.parse(text)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + heading_offset)}"
    return Markup(md.renderer.render(tokens, md.options, {}))  # escaped by markdown-it: html is off


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}" if round(value, digits) != 0 else f"{0.0:.{digits}f}"  # never "-0.0"


def _pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{100 * value:.{digits}f}%"


def _usd(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"${value:,.{digits}f}"


def _raw(value: float | None) -> str:
    """A number as the page's ``data-value`` (full precision, for tests and scrapers); empty for None."""
    return "" if value is None else repr(float(value))
