"""The comparison report opened in headless Chromium: it renders, every figure decodes, and it asks for
nothing outside the file. Needs Debian's chromium (``apt-get install -y chromium``): in CI (``CI`` set)
its absence is a failure; elsewhere the test is skipped and says why (the ``chromium`` fixture,
tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.harness.browser import screenshot
from evals.harness.compare import CompareOptions, compare_runs
from evals.harness.gate import parse_gate
from evals.harness.html import write_report
from evals.harness.runfile import EvalRun
from evals.harness.testing import flag, make_run

pytestmark = pytest.mark.browser


def _runs() -> tuple[EvalRun, EvalRun]:
    base, cand = [], []
    for i in range(60):
        frame, real = f"{i % 12:04d}/{i:06d}", i % 3 == 0
        kind = ("bad_box", "duplicate", "missing_object")[i % 3]
        label = None if kind == "missing_object" else f"{i}:0"
        box = (10.0 * i, 50, 10.0 * i + 30, 120)
        base.append(flag(frame, label, 0.3 + 0.6 * real, int(real), type=kind, box=box))
        cand.append(flag(frame, label, 0.6 if i % 4 else 0.2, int(real), type=kind, box=box))
    return make_run(base, run_id="base-run"), make_run(cand, run_id="candidate-run")


def test_the_report_renders_self_contained(chromium: Path, tmp_path: Path) -> None:
    base, cand = _runs()
    comparison = compare_runs(
        base, cand, CompareOptions(n_boot=300, budgets=(20,)), (parse_gate("ap<-0.05"),)
    )
    html, png = tmp_path / "report.html", tmp_path / "report.png"
    write_report(html, comparison, base, cand)
    page = screenshot(html, png, executable=chromium)
    assert page.title == "gtqa eval comparison"
    assert page.images == page.images_loaded == 3  # PR curves, reliability, per-slice differences
    assert page.external_requests == [] and page.console_errors == []
    assert png.stat().st_size > 20_000
