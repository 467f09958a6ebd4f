"""A screenshot of the review page on real data: KITTI object frames (with their images) and the 2D
detector's output, reviewed by the service exactly as ``gtqa serve`` runs it, then the first item of
the queue opened by the demonstration auditor in Debian's Chromium.

    .venv/bin/python scripts/screenshot_review.py [--out .gtqa/review-kitti.png] [--port 8765]

Reads ``$GTQA_DATA_DIR`` (default ``../shared/data``); the service's state goes to a temporary folder.
The picture holds a KITTI image (CC BY-NC-SA): it is written under ``.gtqa/``, never committed.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evals.harness.browser import CHROMIUM, CHROMIUM_ARGS
from gtqa.settings import get_settings

READY_S = 300.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path(".gtqa/review-kitti.png"))
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    data = get_settings().data_dir / "kitti_object"
    if not data.is_dir():
        print(f"no KITTI object data at {data} (set GTQA_DATA_DIR)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="gtqa-shot-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GTQA_") or k == "GTQA_DATA_DIR"}
        env["GTQA_HOME"] = home
        log = Path(home) / "serve.log"
        argv_serve = [
            sys.executable,
            "-m",
            "cli",
            "serve",
            str(data),
            "-p",
            str(data / "predictions" / "box2d.list"),
        ]
        argv_serve += ["--demo-users", "--port", str(args.port)]
        with log.open("w") as out:
            serve = subprocess.Popen(argv_serve, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            if not _wait_serving(log, serve):
                print(log.read_text(), file=sys.stderr)
                return 1
            token = next(
                line.split("\t")[2].strip()
                for line in (Path(home) / "demo-tokens.txt").read_text().splitlines()
                if line.startswith("auditor\t")
            )
            _shoot(f"http://127.0.0.1:{args.port}", token, args.out)
        finally:
            serve.send_signal(signal.SIGINT)
            serve.wait(timeout=60)
    print(f"wrote {args.out}")
    return 0


def _wait_serving(log: Path, serve: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + READY_S
    while time.monotonic() < deadline:
        if "serving; press Ctrl-C" in log.read_text(errors="replace"):
            return True
        if serve.poll() is not None:
            return False
        time.sleep(0.5)
    return False


def _shoot(base: str, token: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    out.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{base}/ui/login")
            page.wait_for_function("() => document.activeElement?.id === 'token'")  # autofocus
            page.keyboard.type(token)
            page.keyboard.press("Enter")
            page.wait_for_url(f"{base}/ui/review")
            page.wait_for_selector("#review[data-state=ready]", timeout=30_000)
            page.wait_for_timeout(500)  # the image decoded and drawn
            page.screenshot(path=str(out))
            if errors:
                raise RuntimeError(f"console errors on the review page: {errors}")
        finally:
            browser.close()


if __name__ == "__main__":
    raise SystemExit(main())
