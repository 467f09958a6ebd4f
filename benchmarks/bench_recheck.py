"""Real label errors: every method's flags on kitti_rechecked, scored side by side with one protocol.

    .venv/bin/python benchmarks/bench_recheck.py [--data DIR] [--findings NAME=FINDINGS.jsonl ...]

The rows are the peer baselines of ``kitti_rechecked/SOURCE.md`` and gtqa's own scan, all turned into
findings (a proposed missing box, or a flagged label with its box, each with a score) and scored by
``evals.recheck`` (the SOURCE.md protocol). A row is a :class:`Method`: a name and a function from the
dataset (labels + ``pred_2`` predictions) and the spec to findings. To add a row (a calibrated gtqa run,
the agent with its judge …) append a ``Method`` to ``METHODS``, or pass ``--findings NAME=PATH`` to
score a findings file written elsewhere.

``--queue-order`` measures instead the auditors' queue order on the re-check with both detectors
(``pred_2`` and kitti_object's ``box2d.list``): flags ranked by review priority (probability x severity
weight, followers last, as ``gtqa.storage`` stores it), and the real errors found among the first
10/20/50/100/200 review items, with the priority's class severity taken from the finding's class for a
proposed missing object (the fix of issue 16) and without it (``cls=None``, the order before), under the
spec's priors and under the shipped default calibration (which was fitted on this re-check, so its row is
in-sample: it measures the order, not the calibration).

How the cleanlab row is made (cleanlab 2.9, ``cleanlab/object_detection/rank.py``): per frame, the
original Pedestrian labels are the given labels (class 0) and the Cascade R-CNN detections the
predictions (``[x1, y1, x2, y2, score]``, one class). ``compute_overlooked_box_scores`` gives one score
per *prediction*: NaN unless the detection is confident (score >= 0.95) and touches no label (IoU 0),
else its similarity to the nearest label of its class (lower = more likely overlooked);
``compute_badloc_box_scores`` gives one score per *label*: 1.0 unless a detection with score > 0.5
overlaps it, else its best similarity to such a detection (lower = more likely badly located).
Similarity is 0.9 IoU + 0.1 exp(-0.1 centre distance in px). Each non-NaN overlooked score becomes a
proposed missing box and each label a flagged box, with flag score ``1 - cleanlab score``, all ranked
together (both are cleanlab's per-box quality on one scale; labels scoring 1.0 rank last, at 0).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from _common import OUT, data_dir, run_info, write_json
from rich.console import Console

from evals.recheck import RecheckError, RecheckScore, read_recheck, recheck_errors, score_recheck
from evals.report import print_recheck
from gtqa.domain import Dataset, Finding, Frame, IssueType, Label, Prediction
from gtqa.domain.boxes import coverage_matrix, iou_matrix
from gtqa.formats import load_dataset
from gtqa.formats.findings import read_findings, write_findings
from gtqa.review import review_dataset
from gtqa.scoring import priority
from gtqa.scoring.calibration import default_scorer
from gtqa.scoring.priority import FOLLOWER_WEIGHT
from gtqa.spec import CompiledSpec, load_spec

PEDESTRIAN = "Pedestrian"
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Method:
    name: str
    description: str
    run: Callable[[Dataset, CompiledSpec], list[Finding]]
    published: dict[str, float] = field(default_factory=dict)  # SOURCE.md: AP, P@100, R@200


def _missing(frame: str, box: Box, score: float, check: str) -> Finding:
    return Finding(
        frame=frame, label=None, type=IssueType.missing_object, score=score, box=box, check=check, message=""
    )


def _box(item: Label | Prediction) -> Box:
    return (item.box.x1, item.box.y1, item.box.x2, item.box.y2)


def _boxes(frame: Frame, cls: str) -> np.ndarray:
    return np.array([_box(lab) for lab in frame.labels if lab.cls == cls], dtype=np.float64).reshape(-1, 4)


def _pedestrian_predictions(frame: Frame) -> list[Prediction]:
    """The frame's pedestrian detections (all detectors: a second detector's Cars and Cyclists are not
    candidates for this pedestrian-only re-check)."""
    return [p for p in frame.predictions if p.cls == PEDESTRIAN]


def detector_rule(dataset: Dataset, spec: CompiledSpec, *, drop_dontcare: bool = False) -> list[Finding]:
    """The benchmark's proposal rule: every prediction whose IoU with every Pedestrian label is below
    0.5, scored by the detector; optionally without proposals at least half inside one DontCare box
    (the spec's ``ignore_proposals_inside``)."""
    limit = spec.dontcare.ignore_proposals_inside
    out: list[Finding] = []
    for frame in dataset.frames:
        peds = _pedestrian_predictions(frame)
        preds = np.array([_box(p) for p in peds], dtype=np.float64).reshape(-1, 4)
        best = iou_matrix(preds, _boxes(frame, PEDESTRIAN)).max(axis=1, initial=0.0)
        inside = coverage_matrix(preds, _boxes(frame, spec.taxonomy.dontcare or "DontCare")).max(
            axis=1, initial=0.0
        )
        for p, iou, cover in zip(peds, best, inside, strict=True):
            if iou < 0.5 and not (drop_dontcare and cover >= limit):
                out.append(_missing(frame.id, _box(p), p.score, "baseline.detector"))
    return out


def objectlab(dataset: Dataset, spec: CompiledSpec) -> list[Finding]:
    """cleanlab 2.9 ObjectLab overlooked + badly-located box scores (see the module docstring)."""
    from cleanlab.object_detection.rank import compute_badloc_box_scores, compute_overlooked_box_scores

    labels, predictions = [], []
    for frame in dataset.frames:
        peds = _boxes(frame, PEDESTRIAN)
        labels.append({"bboxes": peds, "labels": np.zeros(len(peds), dtype=int)})
        peds_pred = _pedestrian_predictions(frame)
        boxes = np.array([[*_box(p), p.score] for p in peds_pred], dtype=np.float64).reshape(-1, 5)
        predictions.append([boxes])
    overlooked = compute_overlooked_box_scores(labels=labels, predictions=predictions)
    badloc = compute_badloc_box_scores(labels=labels, predictions=predictions)
    out: list[Finding] = []
    for frame, ov, bl in zip(dataset.frames, overlooked, badloc, strict=True):
        for p, s in zip(_pedestrian_predictions(frame), ov, strict=True):
            if not np.isnan(s):
                out.append(_missing(frame.id, _box(p), float(1.0 - s), "baseline.objectlab.overlooked"))
        pedestrians = [lab for lab in frame.labels if lab.cls == PEDESTRIAN]
        for lab, s in zip(pedestrians, bl, strict=True):
            out.append(
                Finding(
                    frame=frame.id,
                    label=lab.id,
                    type=IssueType.bad_box,
                    score=float(min(max(1.0 - s, 0.0), 1.0)),
                    box=_box(lab),
                    check="baseline.objectlab.badloc",
                    message="",
                )
            )
    return out


def gtqa_scan(dataset: Dataset, spec: CompiledSpec) -> list[Finding]:
    """gtqa's heuristic review (every registered check that the data allows, priors from the spec).
    A check that crashed is an infrastructure error: reported, not silently scored as misses."""
    review = review_dataset(dataset, spec)
    for error in review.errors:
        print(f"check error: {error}", file=sys.stderr)
    return review.findings


METHODS: list[Method] = [
    Method(
        "detector",
        "detector score of predictions with IoU < 0.5 to every label",
        detector_rule,
        {"ap": 0.121, "P@100": 0.26, "R@200": 0.198},
    ),
    Method(
        "detector-dontcare",
        "the same, DontCare-covered proposals dropped",
        lambda d, s: detector_rule(d, s, drop_dontcare=True),
        {"ap": 0.135, "P@100": 0.30, "R@200": 0.207},
    ),
    Method(
        "objectlab",
        "cleanlab 2.9 ObjectLab, overlooked + badly-located box scores",
        objectlab,
        {"ap": 0.142, "P@100": 0.43, "R@200": 0.263},
    ),
    Method("gtqa", "gtqa scan (review_dataset, spec priors) with the pred_2 predictions", gtqa_scan),
]


def _from_file(arg: str) -> Method:
    name, sep, path = arg.partition("=")
    if not sep:
        raise SystemExit(f"--findings wants NAME=PATH, got {arg!r}")
    return Method(name, f"findings file {path}", lambda d, s: read_findings(Path(path)))


def run(root: Path, methods: list[Method], save: Path | None) -> dict[str, Any]:
    spec = load_spec()
    dataset = load_dataset(root, "kitti", predictions=[root / "pred_2"])
    errors: list[RecheckError] = recheck_errors(read_recheck(root / "recheck.csv"), dataset)
    scores: dict[str, RecheckScore] = {}
    rows: dict[str, Any] = {}
    for method in methods:
        start = time.perf_counter()
        findings = method.run(dataset, spec)
        seconds = time.perf_counter() - start
        if save is not None:
            write_findings(save / f"{method.name}.jsonl", findings)
        scores[method.name] = score_recheck(findings, errors)
        rows[method.name] = {
            "description": method.description,
            "seconds": round(seconds, 3),
            "score": scores[method.name].model_dump(mode="json"),
            "published": method.published,
        }
    print_recheck(Console(width=150), scores, title=f"{root.name}, SOURCE.md protocol")
    _print_published(scores, methods)
    return {"run": run_info(), "dataset": str(root), "spec": f"{spec.name}@{spec.hash[:12]}", "rows": rows}


QUEUE_DEPTHS = (10, 20, 50, 100, 200)


def _old_priority(f: Finding, spec: CompiledSpec) -> float:
    """The priority stored before issue 16: a finding without a label weighed by its type alone."""
    weight = spec.severity(f.type, f.cls if f.label is not None else None).weight
    return f.score * weight * (FOLLOWER_WEIGHT if f.follows else 1.0)


def _queue_ranked(findings: list[Finding], key: Callable[[Finding], float]) -> list[Finding]:
    """Findings with their score replaced by a queue priority (<= 1: the heaviest weight is 1), so the
    protocol's score order is the queue's order."""
    ranked = [f.model_copy(update={"score": key(f), "follows": False}) for f in findings]
    return sorted(ranked, key=lambda f: -f.score)


def queue_order(root: Path, box2d: Path) -> dict[str, Any]:
    spec = load_spec()
    dataset = load_dataset(root, "kitti", predictions=[root / "pred_2", box2d])
    errors = recheck_errors(read_recheck(root / "recheck.csv"), dataset)
    choice = default_scorer(spec, "kitti")
    scorers = {"priors": None, f"default ({choice.scorer.name})": choice.scorer}
    rows: dict[str, Any] = {}
    for name, scorer in scorers.items():
        findings = review_dataset(dataset, spec, scorer=scorer).findings
        for order, key in (
            ("class severity (fixed)", lambda f: priority(f, spec)),
            ("cls=None (before)", lambda f: _old_priority(f, spec)),
        ):
            s = score_recheck(_queue_ranked(findings, key), errors, top_k=QUEUE_DEPTHS)
            found = {k: round(p * int(k)) for k, p in s.precision_at.items()}
            rows[f"{name}, {order}"] = {"found_at": found, "ap": s.ap, "n_errors": s.n_errors}
            print(
                f"{name:>22}, {order:<24} found at {'/'.join(map(str, QUEUE_DEPTHS))}: "
                f"{'/'.join(str(v) for v in found.values())}  (AP {s.ap:.3f})"
            )
    return {
        "run": run_info(),
        "dataset": str(root),
        "spec": f"{spec.name}@{spec.hash[:12]}",
        "rows": rows,
        "scorer_note": choice.note,
    }


def _print_published(scores: dict[str, RecheckScore], methods: list[Method]) -> None:
    for m in methods:
        if m.published:
            s = scores[m.name]
            got = {"ap": s.ap, "P@100": s.precision_at["100"], "R@200": s.recall_at["200"]}
            pairs = ", ".join(f"{k} {got[k]:.3f} (SOURCE {v:.3f})" for k, v in m.published.items())
            print(f"{m.name:>18}: {pairs}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=None, help="kitti_rechecked folder")
    parser.add_argument("--out", type=Path, default=OUT / "recheck.json")
    parser.add_argument("--findings", action="append", default=[], metavar="NAME=PATH", help="extra row")
    parser.add_argument(
        "--save-findings", type=Path, default=OUT / "recheck", help="folder for each row's JSONL"
    )
    parser.add_argument("--queue-order", action="store_true", help="the queue order's found errors")
    args = parser.parse_args(argv)
    root = args.data or data_dir() / "kitti_rechecked"
    if not root.is_dir():
        print(f"no kitti_rechecked at {root} (set GTQA_DATA_DIR or pass --data)", file=sys.stderr)
        return 2
    if args.queue_order:
        box2d = root.parent / "kitti_object" / "predictions" / "box2d.list"
        write_json(OUT / "recheck_queue_order.json", queue_order(root, box2d))
        return 0
    methods = METHODS + [_from_file(arg) for arg in args.findings]
    write_json(args.out, run(root, methods, args.save_findings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
