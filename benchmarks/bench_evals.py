"""The eval harness on a real past audit: two real configuration changes compared on kitti_rechecked.

    .venv/bin/python benchmarks/bench_evals.py [--data DIR] [--bootstrap N] [--no-screenshot]

The eval dataset is the crowd re-check of ``kitti_rechecked`` (``recheck.csv`` as audits, exhaustive
frames), the reviewer runs on the original labels with the out-of-sample Cascade R-CNN predictions
(``pred_2/``), heuristics only (no judge). Two comparisons, each a pair of ``gtqa evals run`` runs and a
``gtqa evals compare`` with paired cluster-bootstrap intervals:

* ``checks``: all checks vs the same without ``pred_bad_box``, on every audited frame;
* ``calibration``: the spec's priors vs a calibration fitted (``gtqa.scoring.calibration``) on the
  audited frames of one half of the sequences (split by a hash of the frame id) and measured on the
  other half, where neither run has seen an audit.

Writes under ``benchmarks/out/evals/``: the run files, ``compare-<name>.json``, ``report-<name>.html``,
``report.html`` and ``report.png`` (the calibration report, screenshotted in headless Chromium when
``/usr/bin/chromium`` exists), the fitted calibration, the held-out frame list, a run store
(``store/evals/``) and ``summary.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from _common import OUT, data_dir, run_info, write_json
from rich.console import Console

from evals.harness.browser import CHROMIUM, screenshot
from evals.harness.compare import CompareOptions, Comparison, compare_runs
from evals.harness.dataset import EvalDataset, from_file
from evals.harness.gate import parse_gate
from evals.harness.html import write_report
from evals.harness.printing import print_comparison, print_run
from evals.harness.run import RunConfig, run_eval
from evals.harness.runfile import EvalRun
from evals.harness.splits import fit_on, split_sequences
from evals.harness.store import list_runs, save_run
from gtqa.domain import Dataset
from gtqa.formats import load_dataset
from gtqa.settings import get_settings
from gtqa.spec import load_spec

HERE = OUT / "evals"
GATES = ("precision_at_budget<-0.02", "recall<-0.02", "ece>0.02")


def _run(name: str, config: RunConfig) -> tuple[EvalRun, float]:
    start = time.perf_counter()
    run = run_eval(config, get_settings())
    seconds = time.perf_counter() - start
    run.save(HERE / f"run-{name}.json")
    save_run(run, HERE / "store")
    print_run(Console(), run)
    return run, seconds


def _compare(name: str, base: EvalRun, cand: EvalRun, n_boot: int) -> tuple[Comparison, float]:
    start = time.perf_counter()
    gates = tuple(parse_gate(g) for g in GATES)
    comparison = compare_runs(base, cand, CompareOptions(n_boot=n_boot), gates)
    seconds = time.perf_counter() - start
    (HERE / f"compare-{name}.json").write_text(comparison.model_dump_json(indent=1) + "\n", encoding="utf-8")
    write_report(HERE / f"report-{name}.html", comparison, base, cand)
    print_comparison(Console(), comparison)
    return comparison, seconds


def _checks(data: Dataset, evals: EvalDataset, n_boot: int) -> dict[str, Any]:
    spec = load_spec()
    base, t_base = _run("all-checks", RunConfig(dataset=data, evals=evals, spec=spec))
    cand, t_cand = _run(
        "without-pred_bad_box", RunConfig(dataset=data, evals=evals, spec=spec, exclude=("pred_bad_box",))
    )
    comparison, t_cmp = _compare("checks", base, cand, n_boot)
    return _row(comparison, {"base_run_s": t_base, "candidate_run_s": t_cand, "compare_s": t_cmp})


def _calibration(data: Dataset, evals: EvalDataset, n_boot: int) -> dict[str, Any]:
    spec = load_spec()
    fit_frames, test_frames = split_sequences(evals.frames)
    start = time.perf_counter()
    model = asyncio.run(fit_on(data, evals.restricted(fit_frames), spec))
    t_fit = time.perf_counter() - start
    path = HERE / "calibration-half-a.json"
    model.save(path)
    (HERE / "frames-half-b.txt").write_text("\n".join(test_frames) + "\n", encoding="utf-8")
    held_out = evals.restricted(test_frames)
    base, t_base = _run("half-b-priors", RunConfig(dataset=data, evals=held_out, spec=spec))
    cand, t_cand = _run(
        "half-b-calibrated", RunConfig(dataset=data, evals=held_out, spec=spec, calibration=path)
    )
    comparison, t_cmp = _compare("calibration", base, cand, n_boot)
    seconds = {"fit_s": t_fit, "base_run_s": t_base, "candidate_run_s": t_cand, "compare_s": t_cmp}
    row = _row(comparison, seconds)
    row["split"] = {"fit_frames": len(fit_frames), "test_frames": len(test_frames)}
    row["calibration_validation"] = model.validation
    return row


def _row(c: Comparison, seconds: dict[str, float]) -> dict[str, Any]:
    return {
        "base": c.base.model_dump(),
        "candidate": c.candidate.model_dump(),
        "items": c.items,
        "known": c.known,
        "clusters": c.clusters,
        "metrics": [m.model_dump() for m in c.metrics],
        "mcnemar": c.mcnemar.model_dump(),
        "regressions": [f"{s.dimension}={s.value}" for s in c.slices if s.regression],
        "changed": len(c.changed),
        "gates": [g.model_dump() for g in c.gates],
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=None, help="kitti_rechecked folder")
    parser.add_argument("--bootstrap", type=int, default=2000, help="bootstrap replicates")
    parser.add_argument("--no-screenshot", action="store_true", help="skip the Chromium screenshot")
    args = parser.parse_args(argv)
    root = args.data or data_dir() / "kitti_rechecked"
    if not root.is_dir():
        print(f"no kitti_rechecked at {root} (set GTQA_DATA_DIR or pass --data)", file=sys.stderr)
        return 2
    shutil.rmtree(HERE / "store", ignore_errors=True)  # the store is append-only: start it afresh
    data = load_dataset(root, "kitti", [root / "pred_2"])
    evals = from_file(root / "recheck.csv", data)
    rows = {
        "checks": _checks(data, evals, args.bootstrap),
        "calibration": _calibration(data, evals, args.bootstrap),
    }
    shutil.copyfile(HERE / "report-calibration.html", HERE / "report.html")
    if not args.no_screenshot and CHROMIUM.exists():
        page = screenshot(HERE / "report.html", HERE / "report.png")
        print(
            f"report.png: {page.images_loaded}/{page.images} figures, {len(page.external_requests)} external"
        )
    stored = [r.id for r in list_runs(HERE / "store")]
    payload = {"run": run_info(), "audits": evals.checksum, "stored_runs": stored, "comparisons": rows}
    write_json(HERE / "summary.json", payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
