"""Calibration learned from audits, against the open peers, on real errors and on injected defects.

    .venv/bin/python benchmarks/bench_calibration.py [--cv-seeds 0 1 2 3 4] [--inject-seeds 0 1 2 3]

1. kitti_rechecked (the real crowd re-check, SOURCE.md protocol): the peer baselines (detector-score rule,
   cleanlab ObjectLab) and gtqa with the spec's priors and with a calibration fitted on the re-check
   itself under grouped 5-fold cross-validation (no frame is scored by a model that saw it), repeated over
   several fold assignments for the spread. With the Cascade R-CNN detections (pred_2) alone, and with
   the second detector of box2d.list, which covers these frames too (cleanlab gets the same union).
   With both detectors, also the shipped default calibration's recipe: each fold's model trained on the
   other folds and on the injected copies it is fitted on (seeds 100-102, never scored).
   Calibration quality: expected calibration error of the held-out probabilities, and a reliability plot
   of the shipped recipe's (benchmarks/calibration_reliability.png).
2. Injected defects in kitti_tracking 0016 (seeds 0-3): per family, the spec's priors against the
   shipped default calibration (fitted on the re-check and on injected copies with seeds 100-102, so no
   injected defect scored here was seen in training; the sequence's real labels were), and against a
   calibration cross-validated within each copy (grouped by 25-frame blocks).
Results: benchmarks/out/calibration.json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np
from _common import HERE, OUT, data_dir, run_info, write_json
from bench_recheck import detector_rule, objectlab

from evals.calibration_data import AuditedSource, CalibrationData, collect
from evals.inject import inject_folder
from evals.inject.manifest import Manifest, manifest_audits
from evals.inject.score import score_injected
from evals.recheck import read_recheck, recheck_errors, score_recheck
from gtqa.domain import Finding
from gtqa.formats import load_dataset
from gtqa.review import review_dataset
from gtqa.scoring import mark_followers
from gtqa.scoring.calibration import (
    CalibrationModel,
    apply_model,
    cross_validated_scores,
    default_calibration_path,
)
from gtqa.scoring.reliability import expected_calibration_error, reliability_bins
from gtqa.scoring.targets import audit_targets
from gtqa.spec import CompiledSpec, load_spec

PLOT = HERE / "calibration_reliability.png"
TRAINING_SEEDS = (100, 101, 102)  # scripts/build_calibration.sh


def _headline(findings: list[Finding], errors: Any) -> dict[str, float]:
    s = score_recheck(sorted(findings, key=lambda f: -f.score), errors)
    return {"ap": s.ap, "P@100": s.precision_at["100"], "R@200": s.recall_at["200"], "hits": s.hits}


def _with(findings: list[Finding], scores: np.ndarray) -> list[Finding]:
    """The flags with these scores, in the queue's order (which flag leads on an object may change)."""
    return mark_followers(
        f.model_copy(update={"score": float(s)}) for f, s in zip(findings, scores, strict=True)
    )


def training_copies(tracking: Path, spec: CompiledSpec, rate: float) -> list[AuditedSource]:
    """The injected copies the default calibration is fitted on besides the re-check (seeds 100-102,
    as scripts/build_calibration.sh makes them), never scored here."""
    sources = []
    for seed in TRAINING_SEEDS:
        copy, _ = _injected_copy(tracking, spec, rate, seed, "training")
        sources.append(
            AuditedSource(copy, copy / "manifest.json", (tracking / "detections",), "kitti-tracking")
        )
    return sources


def _injected_copy(
    tracking: Path, spec: CompiledSpec, rate: float, seed: int, kind: str
) -> tuple[Path, Manifest]:
    """A corrupted copy of the tracking sequence under benchmarks/out/calibration, and its manifest."""
    copy = OUT / "calibration" / f"{kind}-seed{seed}"
    manifest = inject_folder(
        tracking, copy, spec, fmt="kitti-tracking", rate=rate, seed=seed, overwrite=copy.exists()
    )
    return copy, manifest


def recheck_rows(
    root: Path, box2d: Path, spec: CompiledSpec, cv_seeds: list[int], training: list[AuditedSource]
) -> dict[str, Any]:
    errors = recheck_errors(read_recheck(root / "recheck.csv"), load_dataset(root))
    rows: dict[str, Any] = {}
    held_out: tuple[np.ndarray, np.ndarray] | None = None
    for name, preds in (("pred_2", [root / "pred_2"]), ("pred_2+box2d", [root / "pred_2", box2d])):
        dataset = load_dataset(root, "kitti", predictions=preds)
        rows[f"detector rule ({name})"] = _headline(detector_rule(dataset, spec), errors)
        rows[f"detector rule, DontCare dropped ({name})"] = _headline(
            detector_rule(dataset, spec, drop_dontcare=True), errors
        )
        lab = objectlab(dataset, spec)
        rows[f"cleanlab ObjectLab ({name})"] = _headline(lab, errors)
        # The peers given gtqa's queue order too (a flag on an object already flagged more probably
        # goes after every leading flag), to show what that order alone is worth.
        rows[f"cleanlab ObjectLab, follower order ({name})"] = _headline(mark_followers(lab), errors)
        rows[f"detector rule, DontCare dropped, follower order ({name})"] = _headline(
            mark_followers(detector_rule(dataset, spec, drop_dontcare=True)), errors
        )
        data = collect([AuditedSource(root, root / "recheck.csv", tuple(preds), "kitti")], spec)
        rows[f"gtqa priors ({name})"] = _headline(data.findings, errors)  # in follower order
        runs = [_cv_run(data, errors, spec, seed) for seed in cv_seeds]
        rows[f"gtqa calibrated, 5-fold grouped CV ({name})"] = _spread(runs)
        if name == "pred_2+box2d":
            # The shipped default calibration's recipe: every fold's model is also trained on the
            # injected copies (never scored), so the re-check's frames are still scored only by models
            # that never saw them. The reliability plot is of this calibration.
            more = collect(training, spec)
            extra = (more.findings, more.targets, more.groups)
            recipe = [_cv_run(data, errors, spec, seed, extra) for seed in cv_seeds]
            rows[f"gtqa calibrated, re-check folds + injected copies ({name})"] = _spread(recipe)
            held_out = recipe[0]["held_out"]
    if held_out is not None:
        _plot(*held_out)
    return rows


def _cv_run(
    data: CalibrationData,
    errors: Any,
    spec: CompiledSpec,
    seed: int,
    extra: tuple[list[Finding], list[float | None], list[str]] = ([], [], []),
) -> dict[str, Any]:
    """One fold assignment: headline figures, the same without the follower order, ECE, per-fold AP."""
    scores, fold = cross_validated_scores(
        data.findings, data.targets, data.groups, spec, seed=seed, extra=extra
    )
    ranked = _with(data.findings, scores)
    run = _headline(ranked, errors)
    alone = _headline([f.model_copy(update={"follows": False}) for f in ranked], errors)
    run |= {f"{k} no follower order": v for k, v in alone.items() if k != "hits"}
    known = np.array([t is not None for t in data.targets])
    y = np.array([t for t in data.targets if t is not None], dtype=float)
    run["ece"] = expected_calibration_error(scores[known], y)
    run["fold_ap"] = _fold_aps(data.findings, scores, fold, errors)
    run["held_out"] = (scores[known], y)
    return run


def _fold_aps(findings: list[Finding], scores: np.ndarray, fold: np.ndarray, errors: Any) -> list[float]:
    """AP of each held-out fold alone (its frames' flags against its frames' errors)."""
    out = []
    for k in np.unique(fold):
        frames = {f.frame for f, g in zip(findings, fold, strict=True) if g == k}
        mine = _with([f for f, g in zip(findings, fold, strict=True) if g == k], scores[fold == k])
        errs = [e for e in errors if e.frame in frames]
        out.append(round(score_recheck(sorted(mine, key=lambda f: -f.score), errs).ap, 3))
    return out


def _spread(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("ap", "P@100", "R@200", "ece")
    out: dict[str, Any] = {k: statistics.mean(r[k] for r in runs) for k in keys}
    out |= {f"{k}_sd": statistics.pstdev(r[k] for r in runs) for k in keys}
    out |= {f"{k}_min": min(r[k] for r in runs) for k in keys}
    out |= {f"{k}_runs": [round(r[k], 3) for r in runs] for k in keys}
    for k in ("ap", "P@100", "R@200"):
        out[f"{k} no follower order"] = statistics.mean(r[f"{k} no follower order"] for r in runs)
    out["fold_ap"] = [r["fold_ap"] for r in runs]
    return out


def _plot(p: np.ndarray, y: np.ndarray) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bins = reliability_bins(p, y)
    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=110)
    ax.plot([0, 1], [0, 1], color="#888", lw=1, ls="--", label="perfect")
    ax.plot(
        [b.mean_predicted for b in bins],
        [b.observed for b in bins],
        marker="o",
        label="gtqa calibrated (shipped recipe)",
    )
    for b in bins:
        ax.annotate(
            str(b.n), (b.mean_predicted, b.observed), fontsize=7, xytext=(3, -9), textcoords="offset points"
        )
    ax.set(
        xlabel="predicted probability of a real defect",
        ylabel="observed share of real defects",
        title=f"kitti_rechecked, held-out folds (ECE {expected_calibration_error(p, y):.3f})",
    )
    ax.title.set_fontsize(9)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(PLOT)
    print(f"wrote {PLOT}")


def injected_rows(source: Path, spec: CompiledSpec, seeds: list[int], rate: float) -> dict[str, Any]:
    default = default_calibration_path(spec)
    model = CalibrationModel.load(default) if default.is_file() else None
    if model is not None and model.spec_hash != spec.hash:
        print(
            f"{default} is for another spec version: rebuild it (scripts/build_calibration.sh)",
            file=sys.stderr,
        )
        model = None
    rows: dict[str, Any] = {}
    for seed in seeds:
        copy, manifest = _injected_copy(source, spec, rate, seed, "tracking")
        dataset = load_dataset(copy, "kitti-tracking", predictions=[copy / "detections"])
        findings = review_dataset(dataset, spec).findings
        n_reviewed = sum(spec.is_reviewed(lab.cls) for lab in dataset.labels())
        variants = {"priors": findings}
        if model is not None:
            variants["default calibration"] = mark_followers(apply_model(model, findings))
        targets = audit_targets(
            findings, manifest_audits(manifest), exhaustive_frames={f.id for f in dataset.frames}
        )
        index = {f.id: f for f in dataset.frames}
        groups = [f"{index[f.frame].sequence}/{index[f.frame].index // 25}" for f in findings]
        scores, _ = cross_validated_scores(findings, targets, groups, spec, seed=seed)
        variants["calibrated, CV within the copy"] = _with(findings, scores)
        for name, flags in variants.items():
            s = score_injected(sorted(flags, key=lambda f: -f.score), manifest, n_reviewed)
            rows.setdefault(name, []).append(s.model_dump(mode="json"))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cv-seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--inject-seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--rate", type=float, default=0.08)
    parser.add_argument("--out", type=Path, default=OUT / "calibration.json")
    args = parser.parse_args(argv)
    root = data_dir()
    spec = load_spec()
    result = {
        "run": run_info(),
        "spec": f"{spec.name}@{spec.hash[:12]}",
        "recheck": recheck_rows(
            root / "kitti_rechecked",
            root / "kitti_object/predictions/box2d.list",
            spec,
            args.cv_seeds,
            training_copies(root / "kitti_tracking", spec, args.rate),
        ),
        "injected": injected_rows(root / "kitti_tracking", spec, args.inject_seeds, args.rate),
    }
    for name, row in result["recheck"].items():
        print(f"{name:<65} AP {row['ap']:.3f}  P@100 {row['P@100']:.3f}  R@200 {row['R@200']:.3f}")
        if "ap_sd" in row:
            for k in ("ap", "P@100", "R@200"):
                print(f"    {k}: sd {row[k + '_sd']:.3f}, per fold assignment {row[k + '_runs']}")
            print(
                f"    ECE {row['ece']:.3f}; without the follower order AP {row['ap no follower order']:.3f}"
                f"  P@100 {row['P@100 no follower order']:.3f}  R@200 {row['R@200 no follower order']:.3f}"
            )
    write_json(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
