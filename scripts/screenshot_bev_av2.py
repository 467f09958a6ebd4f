"""The bird's-eye view of a flagged cuboid on the shared Argoverse 2 log: review it with specs/av2.md,
take the best flag in a sweep that has LiDAR points, and write the view as SVG and PNG
(``.gtqa/bev-av2.svg``, ``.gtqa/bev-av2.png``; the AV2 data is not redistributed here).

    .venv/bin/python scripts/screenshot_bev_av2.py
"""

from __future__ import annotations

from pathlib import Path

from api.ui.bev import bev_payload, bev_svg
from evals.harness.browser import screenshot
from gtqa.checks.scope import sweep_points
from gtqa.formats.av2 import read_av2
from gtqa.review import review_dataset
from gtqa.settings import get_settings
from gtqa.spec import compile_spec

REPO = Path(__file__).resolve().parents[1]
LOG = "7fab2350-7eaf-3b7e-a39d-6937a4c1bede"


def main() -> None:
    data = read_av2(get_settings().data_dir / "av2_sensor" / LOG)
    swept = {f.id: f for f in data.frames if f.labels and "sweep" in f.labels[0].attributes}
    findings = review_dataset(data, compile_spec(REPO / "specs" / "av2.md")).findings
    best = max((f for f in findings if f.frame in swept and f.label), key=lambda f: f.score)
    svg = bev_svg(bev_payload(swept[best.frame], best.label, data.frames, sweep_points))
    out = REPO / ".gtqa"
    out.mkdir(exist_ok=True)
    (out / "bev-av2.svg").write_text(svg, encoding="utf-8")
    html = out / "bev-av2.html"
    html.write_text(f"<html><body style='margin:0;background:#111'>{svg}</body></html>", encoding="utf-8")
    screenshot(html, out / "bev-av2.png", width=800)
    print(f"{best.check} {best.label} ({best.message}) -> {out / 'bev-av2.png'}")


if __name__ == "__main__":
    main()
