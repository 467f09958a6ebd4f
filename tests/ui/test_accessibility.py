"""Accessibility basics of every page, in Chromium: each control has an accessible name, the keyboard
focus follows the page's reading order, text has the WCAG AA contrast against what is behind it (as the
browser computes both colours), the palette's declared pairs reach their ratios, and no page logs a
console error."""

from __future__ import annotations

from typing import Any

import pytest

from api.ui.palette import PAIRS, PALETTE

# Controls without an accessible name (label, aria-label, aria-labelledby, text or title).
UNNAMED = """() => {
  const named = (el) => {
    if (el.getAttribute('aria-label')) return true;
    const by = el.getAttribute('aria-labelledby');
    if (by && by.split(' ').some((id) => document.getElementById(id)?.textContent.trim())) return true;
    if (el.labels && [...el.labels].some((l) => l.textContent.trim())) return true;
    return Boolean(el.textContent.trim() || el.getAttribute('title'));
  };
  const controls = document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button, a[href], [tabindex]:not(main), svg[role=img]');
  return [...controls].filter((el) => !named(el)).map((el) => el.outerHTML.slice(0, 120));
}"""

# Text whose colour is below 4.5:1 against its effective background (3:1 for large text).
LOW_CONTRAST = """() => {
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const out = [];
  for (const el of document.querySelectorAll('body *:not(svg *):not(script):not(style)')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const box = el.getBoundingClientRect();
    if (!own || !box.width || !box.height || getComputedStyle(el).visibility === 'hidden') continue;
    if (el.closest('.visually-hidden, .skip-link, [hidden], dialog:not([open])')) continue;
    const style = getComputedStyle(el);
    const [a, b] = [lum(rgb(style.color)), lum(background(el))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) out.push(`${el.tagName} "${el.textContent.trim().slice(0, 40)}" ${ratio.toFixed(2)}`);
  }
  return out;
}"""

FOCUSED = """() => { const e = document.activeElement;
  return e.id || e.dataset.verdict || e.dataset.action || e.getAttribute('href') || e.textContent.trim(); }"""


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


@pytest.mark.parametrize(("fg", "bg", "need", "where"), PAIRS, ids=[p[3] for p in PAIRS])
def test_the_palette_pairs_reach_their_contrast(fg: str, bg: str, need: float, where: str) -> None:
    a, b = _luminance(PALETTE[fg]), _luminance(PALETTE[bg])
    assert (max(a, b) + 0.05) / (min(a, b) + 0.05) >= need, where


def _audit_page(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").count() >= 1, url
    assert page.evaluate(UNNAMED) == [], url
    assert page.evaluate(LOW_CONTRAST) == [], url


@pytest.mark.browser
def test_every_page_has_named_controls_and_readable_text(site, page, console, login) -> None:
    site.seed(frames=4, judge_costs=(0.001,))
    page.goto(f"{site.url}/ui/login")
    assert page.evaluate(UNNAMED) == [] and page.evaluate(LOW_CONTRAST) == []
    login(page, site, "admin")  # the admin sees every page
    page.wait_for_selector("#review[data-state=ready]") if page.url.endswith("review") else None
    _audit_page(page, f"{site.url}/ui/review")
    page.wait_for_selector("#review[data-state=ready]")
    assert page.evaluate(UNNAMED) == [] and page.evaluate(LOW_CONTRAST) == []  # with an item shown
    for path in ("/ui/dashboard", "/ui/specs", f"/ui/specs/{site.spec.hash}", "/ui/prompts"):
        _audit_page(page, f"{site.url}{path}")
    assert console.errors == []


@pytest.mark.browser
def test_the_focus_order_follows_the_review_page(site, page, console, login) -> None:
    site.seed(frames=3)
    login(page, site, "auditor")
    page.wait_for_selector("#review[data-state=ready]")
    page.locator("body").focus()
    order = []
    for _ in range(40):
        page.keyboard.press("Tab")
        order.append(page.evaluate(FOCUSED))
    assert order[0] == "#main", "the first stop skips to the content"
    header = ["/ui/review", "help-open", "Log out"]
    stage = ["zoom", "frame", "defect", "not_defect", "unsure", "skip"]
    fields = ["issue", "cls", "x1", "y1", "x2", "y2", "truncation", "occlusion", "comment"]
    expected = header + stage + fields
    positions = [order.index(stop) for stop in expected]
    assert positions == sorted(positions), order
    page.locator("#frame").focus()  # from the frame (40 tabs may end in a field, where k is typed)
    page.keyboard.press("k")  # to the class field
    assert page.evaluate("document.activeElement.id") == "cls"
    page.keyboard.press("Escape")  # leave the field, back to the frame
    assert page.evaluate("document.activeElement.id") == "frame"
    assert console.errors == []
