"""Screenshots of the eval comparison report on kitti_rechecked, for the README: two ``gtqa evals run``
runs (as shipped; without the ``pred_bad_box`` check), ``gtqa evals compare`` with the gate of the
README, and the report opened in Debian's headless Chromium.

    .venv/bin/python scripts/screenshot_eval_report.py [--out docs] [--work .gtqa/eval-report]

Writes ``eval-report-top.png`` (what changed, the runs, the gate, the overall table) and
``eval-report-slices.png`` (the per-slice table) under ``--out``; fails (exit 1) when the page asked for
anything outside the file, logged a console error or left an image undecoded. Reads ``$GTQA_DATA_DIR``
(default ``../shared/data``). The report holds no image of the data, only figures and label ids.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from evals.harness.browser import CHROMIUM, CHROMIUM_ARGS

GATE = "precision_at_budget<-0.02"


def _gtqa(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "cli", *args], check=False)


def _runs(data: Path, work: Path) -> Path:
    common = ["--audits", str(data / "recheck.csv"), "--dataset", str(data), "-p", str(data / "pred_2")]
    base, cand, html = work / "base.json", work / "cand.json", work / "report.html"
    _gtqa("evals", "run", *common, "--name", "as shipped", "--out", str(base), "--no-store")
    _gtqa("evals", "run", *common, "--exclude", "pred_bad_box", "--name", "without pred_bad_box",
          "--out", str(cand), "--no-store")  # fmt: skip
    _gtqa("evals", "compare", str(base), str(cand), "--fail-if", GATE, "--html", str(html))
    return html


def _shoot(html: Path, out: Path) -> int:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            problems: list[str] = []
            page.on(
                "request", lambda r: None if r.url.startswith(("file:", "data:")) else problems.append(r.url)
            )
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.goto(html.resolve().as_uri(), wait_until="load")
            broken = page.evaluate(
                "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth)).length"
            )
            overall = page.locator("h2", has_text="Overall").locator("xpath=following-sibling::p[2]")
            box = overall.bounding_box()
            top = (box["y"] + box["height"] + 16) if box else 1400
            page.screenshot(
                path=str(out / "eval-report-top.png"),
                clip={"x": 0, "y": 0, "width": 1280, "height": top},
                full_page=True,
            )
            table = page.locator("h2", has_text="Per slice").locator("xpath=following-sibling::table[1]")
            table.screenshot(path=str(out / "eval-report-slices.png"))
        finally:
            browser.close()
    for p in problems:
        print(f"the report asked for or logged: {p}", file=sys.stderr)
    if broken:
        print(f"{broken} images did not decode", file=sys.stderr)
    return 1 if problems or broken else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--work", type=Path, default=Path(".gtqa/eval-report"))
    args = parser.parse_args(argv)
    data = Path(os.environ.get("GTQA_DATA_DIR", "../shared/data")) / "kitti_rechecked"
    args.work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    html = _runs(data, args.work)
    code = _shoot(html, args.out)
    print(f"wrote {args.out / 'eval-report-top.png'} and {args.out / 'eval-report-slices.png'}")
    return code


if __name__ == "__main__":
    sys.exit(main())
