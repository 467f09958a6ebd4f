from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gtqa.checks.model import pred_wrong_class
from gtqa.checks.runner import chunk_scopes
from gtqa.checks.scope import ReviewScope
from gtqa.checks.stats import compute_stats
from gtqa.domain import Box2D, Finding, Frame, IssueType, Label, Prediction
from gtqa.formats import load_dataset
from gtqa.spec import load_spec

Box = tuple[float, float, float, float]
SPEC = load_spec()
LAB: Box = (100, 100, 150, 220)
NEAR: Box = (102, 101, 152, 222)  # IoU ~0.92 with LAB


def _label(cls: str = "Pedestrian", box: Box = LAB) -> Label:
    return Label(id="f:0", frame="f", cls=cls, box=Box2D.from_seq(box))


def _pred(cls: str, score: float, box: Box = NEAR) -> Prediction:
    return Prediction(frame="f", cls=cls, box=Box2D.from_seq(box), score=score, raw_score=score)


# The detector's class list is what it predicts anywhere in the scope: one box of each class, far away.
KNOWN = [
    _pred(c, 0.9, box=(600 + 60 * i, 100, 650 + 60 * i, 220))
    for i, c in enumerate(("Pedestrian", "Car", "Cyclist"))
]


def _run(label: Label, preds: list[Prediction], **params: object) -> list[Finding]:
    frame = Frame(id="f", labels=(label,), predictions=(*preds, *KNOWN))
    scope = ReviewScope(frames=(frame,), spec=SPEC, stats=compute_stats([frame], SPEC.is_reviewed))
    return pred_wrong_class.CHECK.run(
        scope, pred_wrong_class.CHECK.params_for(SPEC).model_copy(update=params)
    )


def test_a_label_the_detector_confidently_calls_another_class_is_flagged() -> None:
    (finding,) = _run(_label(), [_pred("Cyclist", 0.9)])
    assert finding.type is IssueType.wrong_class and finding.label == "f:0"
    assert finding.features["other_score"] == pytest.approx(0.9) and finding.features["same_score"] == 0.0
    assert finding.features["confusable"] == 1.0  # the spec lists Cyclist as confusable with Pedestrian
    assert "labelled Pedestrian, but the detector calls it Cyclist (score 0.90" in finding.message


def test_no_flag_when_the_labelled_class_is_also_detected_there_or_the_match_is_poor() -> None:
    assert _run(_label(), [_pred("Cyclist", 0.9), _pred("Pedestrian", 0.95)]) == []
    assert _run(_label(), [_pred("Cyclist", 0.4)]) == []  # not confident
    assert _run(_label(), [_pred("Cyclist", 0.9, box=(125, 100, 175, 220))]) == []  # IoU 0.33


def test_classes_the_detector_does_not_predict_are_not_judged() -> None:
    # A Car/Pedestrian/Cyclist detector calls every van a car: that is not evidence against "Van".
    assert _run(_label("Van"), [_pred("Car", 0.99)]) == []
    # A detector seen predicting only cyclists says nothing about a Pedestrian label.
    frame = Frame(id="f", labels=(_label(),), predictions=(_pred("Cyclist", 0.9),))
    scope = ReviewScope(frames=(frame,), spec=SPEC, stats=compute_stats([frame], SPEC.is_reviewed))
    assert pred_wrong_class.CHECK.run(scope) == []


def test_a_more_confident_other_class_and_a_weaker_labelled_class_give_stronger_evidence() -> None:
    rng = np.random.default_rng(5)
    for _ in range(10):
        low, high = rng.uniform(0.5, 0.65), rng.uniform(0.8, 1.0)
        (a,) = _run(_label(), [_pred("Cyclist", low)])
        (b,) = _run(_label(), [_pred("Cyclist", high)])
        assert b.raw > a.raw
        weak, strong = rng.uniform(0.0, 0.1), rng.uniform(0.3, 0.45)
        (c,) = _run(_label(), [_pred("Cyclist", 0.9), _pred("Pedestrian", weak)])
        (d,) = _run(_label(), [_pred("Cyclist", 0.9), _pred("Pedestrian", strong)])
        assert c.raw > d.raw


def test_a_known_confusion_weighs_a_little_more() -> None:
    (car,) = _run(_label("Car", LAB), [_pred("Cyclist", 0.8)])
    (ped,) = _run(_label("Pedestrian"), [_pred("Cyclist", 0.8)])
    assert car.features["confusable"] == 0.0 and ped.raw == pytest.approx(car.raw * 1.2)


def test_on_kitti_tracking_swapped_classes_are_found_and_real_labels_rarely_flagged(
    shared_data: Path,
) -> None:
    root = shared_data / "kitti_tracking"
    data = load_dataset(root, predictions=[root / "detections"])
    rng = np.random.default_rng(6)
    swap = {"Car": "Pedestrian", "Pedestrian": "Cyclist", "Cyclist": "Pedestrian"}
    frames, changed, judged = [], set(), 0
    for frame in data.frames:
        labels = []
        for lab in frame.labels:
            if lab.cls in swap:
                judged += 1
                if rng.random() < 0.1:
                    lab = lab.model_copy(update={"cls": swap[lab.cls]})
                    changed.add(lab.id)
            labels.append(lab)
        frames.append(frame.model_copy(update={"labels": tuple(labels)}))
    stats = compute_stats(frames, SPEC.is_reviewed)
    flagged = {f.label for s in chunk_scopes(frames, SPEC, stats) for f in pred_wrong_class.CHECK.run(s)}
    # Measured: 77 % of swapped labels flagged, 1.1 % of the others (real Pedestrian/Cyclist confusions
    # among them, e.g. people walking bicycles).
    assert len(flagged & changed) >= 0.6 * len(changed)
    assert len(flagged - changed) <= 0.03 * (judged - len(changed))
