"""The re-check protocol of kitti_rechecked/SOURCE.md: the real error count, and hand-computed scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evals.recheck import ErrorKind, RecheckRow, read_recheck, recheck_errors, score_recheck
from gtqa.domain import Box2D, Dataset, Finding, Frame, IssueType, Label
from gtqa.domain.boxes import iou_matrix
from gtqa.formats import load_dataset


def _label(frame: str, i: int, cls: str, box: tuple[float, float, float, float]) -> Label:
    return Label(id=f"{frame}:{i}", frame=frame, cls=cls, box=Box2D.from_seq(box))


DATASET = Dataset(
    name="tiny",
    format="kitti",
    root="/nowhere",
    frames=(
        Frame(
            id="a",
            labels=(
                _label("a", 0, "Pedestrian", (0, 0, 10, 50)),
                _label("a", 1, "DontCare", (100, 0, 200, 100)),
            ),
        ),
        Frame(id="b"),
    ),
)


def _row(frame: str, p: float, box: tuple[float, float, float, float]) -> RecheckRow:
    return RecheckRow(frame, box, p, box[3] - box[1])


ROWS = [
    _row("a", 0.9, (0, 0, 10, 50)),  # real, matches its label (IoU 1): no error
    _row("a", 0.8, (20, 0, 30, 50)),  # real, IoU 0: overlooked              -> E1
    _row("a", 0.6, (2, 0, 12, 50)),  # IoU 400/600 = 0.67 >= 0.5: no error
    _row("a", 0.7, (5, 0, 15, 50)),  # IoU 250/750 = 0.33: misfitting        -> E2
    _row("a", 0.4, (40, 0, 50, 50)),  # probability < 0.5: not a pedestrian
    _row("a", 0.9, (60, 0, 70, 20)),  # 20 px high: ignored
    _row("a", 0.9, (120, 0, 140, 50)),  # inside DontCare: ignored
    _row("a", 0.9, (190, 0, 210, 50)),  # exactly half inside DontCare: ignored
    _row("b", 0.5, (0, 0, 10, 30)),  # probability exactly 0.5, no labels: overlooked -> E3
    _row("b", 0.9, (50, 0, 60, 24.9)),  # 24.9 px: ignored
]


def _flag(frame: str, label: str | None, box: tuple[float, float, float, float], score: float) -> Finding:
    kind = IssueType.missing_object if label is None else IssueType.bad_box
    return Finding(frame=frame, label=label, type=kind, score=score, box=box, check="t", message="")


def test_protocol_selects_the_errors() -> None:
    errors = recheck_errors(ROWS, DATASET)
    assert [(e.frame, e.box, e.kind) for e in errors] == [
        ("a", (20, 0, 30, 50), ErrorKind.overlooked),
        ("a", (5, 0, 15, 50), ErrorKind.misfitting),
        ("b", (0, 0, 10, 30), ErrorKind.overlooked),
    ]


def test_hand_computed_scores() -> None:
    flags = [
        _flag("a", None, (20, 0, 30, 50), 0.9),  # finds E1
        _flag("a", None, (21, 0, 31, 50), 0.8),  # E1 already found, IoU 0 with E2: false alarm
        _flag("a", "a:0", (0, 0, 10, 50), 0.7),  # the label's box: IoU 0.33 with E2: finds it
        _flag("b", None, (100, 100, 110, 130), 0.6),  # false alarm
        _flag("b", None, (0, 0, 10, 28), 0.5),  # IoU 0.93 with E3: finds it
    ]
    s = score_recheck(flags, recheck_errors(ROWS, DATASET), top_k=(2, 4, 50))
    assert (s.n_errors, s.n_overlooked, s.n_misfitting, s.n_flags, s.hits) == (3, 2, 1, 5, 3)
    assert (s.found_overlooked, s.found_misfitting) == (2, 1)
    assert s.ap == pytest.approx((1 / 1 + 2 / 3 + 3 / 5) / 3)
    assert s.precision_at == {"2": 0.5, "4": 0.5, "50": 0.06}
    assert s.recall_at == pytest.approx({"2": 1 / 3, "4": 2 / 3, "50": 1.0})


def test_a_flag_needs_iou_above_a_tenth() -> None:
    errors = recheck_errors([_row("b", 0.9, (0, 0, 10, 100))], DATASET)
    assert score_recheck([_flag("b", None, (0, 0, 10, 10), 0.9)], errors).hits == 0  # IoU exactly 0.1
    assert score_recheck([_flag("b", None, (0, 0, 10, 11), 0.9)], errors).hits == 1


def test_the_real_recheck_has_217_errors(shared_data: Path) -> None:
    root = shared_data / "kitti_rechecked"
    errors = recheck_errors(read_recheck(root / "recheck.csv"), load_dataset(root))
    assert len(errors) == 217  # kitti_rechecked/SOURCE.md
    assert sum(e.kind == ErrorKind.overlooked for e in errors) == 94


def test_the_benchmark_proposal_rule_reproduces_its_published_numbers(shared_data: Path) -> None:
    """SOURCE.md: detector score of predictions with IoU < 0.5 to every label: AP 0.121, P@100 0.26,
    R@200 0.198. Reproducing it pins the protocol (ranking, matching, AP) to the published one."""
    root = shared_data / "kitti_rechecked"
    data = load_dataset(root, predictions=[root / "pred_2"])
    flags = []
    for frame in data.frames:
        peds = np.array([lab.box.as_list() for lab in frame.labels if lab.cls == "Pedestrian"]).reshape(-1, 4)
        best = iou_matrix(frame.prediction_boxes(), peds).max(axis=1, initial=0.0)
        for p, iou in zip(frame.predictions, best, strict=True):
            if iou < 0.5:
                flags.append(_flag(frame.id, None, (p.box.x1, p.box.y1, p.box.x2, p.box.y2), p.score))
    s = score_recheck(flags, recheck_errors(read_recheck(root / "recheck.csv"), data))
    assert (round(s.ap, 3), round(s.precision_at["100"], 2), round(s.recall_at["200"], 3)) == (
        0.121,
        0.26,
        0.198,
    )
