"""Injected defects at scale: 8 % of kitti_tracking sequence 0016, scanned with and without detections.

    .venv/bin/python benchmarks/bench_injected.py [--seeds 0 1 2 3] [--rate 0.08] [--data DIR]

For each seed, ``evals.inject`` writes a corrupted copy under ``benchmarks/out/injected/seed<S>/`` (labels
written, images, calibration and detections symlinked), gtqa reviews it twice, from the labels alone and
with the PointRCNN detections, and ``evals.inject.score`` scores the findings against the manifest. The first
seed is the headline; the others give the spread. Results go to ``benchmarks/out/injected.json``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from _common import OUT, data_dir, run_info, write_json
from rich.console import Console
from rich.table import Table

from evals.inject import inject_folder
from evals.inject.manifest import Manifest
from evals.inject.score import InjectedScore, score_injected
from evals.report import print_injected
from gtqa.formats import load_dataset
from gtqa.review import review_dataset
from gtqa.spec import CompiledSpec, load_spec

MODES = {"labels": [], "detections": ["detections"]}  # prediction folders, relative to the copy
console = Console(width=150)


def scan_and_score(copy: Path, manifest: Manifest, spec: CompiledSpec, mode: str) -> dict[str, Any]:
    """Review the copy and score it. A check that crashed is an infrastructure error, reported apart
    (its defects count as missed, and the error says why)."""
    dataset = load_dataset(copy, "kitti-tracking", predictions=[copy / p for p in MODES[mode]])
    start = time.perf_counter()
    review = review_dataset(dataset, spec)
    seconds = time.perf_counter() - start
    for error in review.errors:
        print(f"check error ({copy.name}, {mode}): {error}", file=sys.stderr)
    n_reviewed = sum(spec.is_reviewed(lab.cls) for lab in dataset.labels())
    score = score_injected(review.findings, manifest, n_reviewed)
    return {
        "seconds": round(seconds, 3),
        "checks_run": review.checks_run,
        "check_errors": review.errors,
        "score": score.model_dump(mode="json"),
    }


def run_seed(source: Path, out: Path, seed: int, rate: float, spec: CompiledSpec) -> dict[str, Any]:
    copy = out / f"seed{seed}"
    manifest = inject_folder(
        source, copy, spec, fmt="kitti-tracking", rate=rate, seed=seed, overwrite=copy.exists()
    )
    result: dict[str, Any] = {"seed": seed, "copy": str(copy), "defects": len(manifest.entries)}
    for mode in MODES:
        result[mode] = scan_and_score(copy, manifest, spec, mode)
    return result


def _headline(score: dict[str, Any]) -> dict[str, float]:
    return {
        "ap": score["ap"],
        "recall@5%": score["recall_at"]["5%"],
        "recall@10%": score["recall_at"]["10%"],
        "recall": score["recall"],
        "typed recall": score["typed_recall"],
    }


def spread(runs: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """Mean, standard deviation, min and max over seeds of each headline number, per mode."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for mode in MODES:
        values = [_headline(r[mode]["score"]) for r in runs]
        out[mode] = {
            k: {
                "mean": statistics.fmean(v[k] for v in values),
                "std": statistics.pstdev(v[k] for v in values),
                "min": min(v[k] for v in values),
                "max": max(v[k] for v in values),
            }
            for k in values[0]
        }
    return out


def family_means(runs: list[dict[str, Any]], mode: str) -> dict[str, dict[str, float]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        for f in r[mode]["score"]["families"]:
            rows.setdefault(f["family"], []).append(f)
    return {
        fam: {
            "ap": statistics.fmean(f["ap"] for f in fs),
            "recall@5%": statistics.fmean(f["recall_at"]["5%"] for f in fs),
            "recall@10%": statistics.fmean(f["recall_at"]["10%"] for f in fs),
            "typed recall": statistics.fmean(f["typed_recall"] for f in fs),
        }
        for fam, fs in rows.items()
    }


def print_summary(runs: list[dict[str, Any]], spreads: dict[str, Any]) -> None:
    table = Table(title=f"injected defects, kitti_tracking 0016, seeds {[r['seed'] for r in runs]}")
    for column in ("mode", "seed", "defects", "AP", "R@5%", "R@10%", "recall", "typed", "scan s"):
        table.add_column(column, justify="right")
    for mode in MODES:
        for r in runs:
            h = _headline(r[mode]["score"])
            table.add_row(
                mode,
                str(r["seed"]),
                str(r["defects"]),
                *(f"{v:.3f}" for v in h.values()),
                f"{r[mode]['seconds']:.2f}",
            )
        s = spreads[mode]
        table.add_row(mode, "mean±sd", "", *(f"{v['mean']:.3f}±{v['std']:.3f}" for v in s.values()), "")
    console.print(table)
    for mode in MODES:
        means = family_means(runs, mode)
        t = Table(title=f"per family, {mode}: mean over {len(runs)} seeds")
        for column in ("family", "AP", "R@5%", "R@10%", "typed recall"):
            t.add_column(column, justify="right")
        for fam, m in means.items():
            t.add_row(fam, *(f"{v:.3f}" for v in m.values()))
        console.print(t)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=None, help="kitti_tracking folder")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3], help="first = headline")
    parser.add_argument("--rate", type=float, default=0.08)
    parser.add_argument("--work", type=Path, default=OUT / "injected", help="where the copies are written")
    parser.add_argument("--out", type=Path, default=OUT / "injected.json")
    args = parser.parse_args(argv)
    source = args.data or data_dir() / "kitti_tracking"
    if not source.is_dir():
        print(f"no kitti_tracking at {source} (set GTQA_DATA_DIR or pass --data)", file=sys.stderr)
        return 2
    spec = load_spec()
    runs = [run_seed(source, args.work, seed, args.rate, spec) for seed in args.seeds]
    for mode in MODES:
        print_injected(
            console, InjectedScore.model_validate(runs[0][mode]["score"]), f"seed {args.seeds[0]}, {mode}"
        )
    spreads = spread(runs)
    print_summary(runs, spreads)
    payload = {
        "run": run_info(),
        "dataset": str(source),
        "rate": args.rate,
        "seeds": args.seeds,
        "spec": f"{spec.name}@{spec.hash[:12]}",
        "headline": {mode: _headline(runs[0][mode]["score"]) for mode in MODES},
        "spread": spreads,
        "family_means": {mode: family_means(runs, mode) for mode in MODES},
        "runs": runs,
    }
    write_json(args.out, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
