"""Why an item was flagged (api.ui.why), without a server or a browser: the probability in words, only the
checks that contributed, and the detection the flag was reasoned from, of the class it reasoned about; on
the real KITTI object frames reviewed by the checks, and on small frames built here."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from api.schemas.findings import FindingOut
from api.ui.why import contributions, matching_detection, wording
from gtqa.domain import Box2D, Finding, IssueType, Label, Prediction
from gtqa.domain.boxes import iou
from gtqa.formats import load_dataset
from gtqa.review import review_dataset
from gtqa.spec import load_spec


def _out(f: Finding) -> FindingOut:
    return FindingOut(**f.model_dump(), id=1, batch_id=1, job_id=1, priority=f.score)


def _pred(cls: str, box: tuple[float, float, float, float], score: float = 0.9) -> Prediction:
    return Prediction(frame="f", cls=cls, box=Box2D(x1=box[0], y1=box[1], x2=box[2], y2=box[3]),
                      score=score, raw_score=score)  # fmt: skip


def _label(cls: str, box: tuple[float, float, float, float]) -> Label:
    return Label(id="f:0", frame="f", cls=cls, box=Box2D(x1=box[0], y1=box[1], x2=box[2], y2=box[3]))


def _flag(check: str, issue: IssueType, label: Label, **extra: object) -> FindingOut:
    box = (label.box.x1, label.box.y1, label.box.x2, label.box.y2)
    made = Finding(frame="f", label=label.id, type=issue, score=0.6, box=box, check=check, message="m",
                   cls=label.cls, raw=0.6, evidence=(check,), **extra)  # fmt: skip
    return _out(made)


@cache
def _kitti(root: Path) -> tuple[list[Finding], dict[str, tuple[list[Label], list[Prediction]]]]:
    data = load_dataset(root / "kitti_object", "kitti", [root / "kitti_object/predictions/box2d.list"])
    found = review_dataset(data, load_spec(None)).findings
    frames = {f.id: (list(f.labels), list(f.predictions)) for f in data.frames}
    return found, frames


def test_the_probability_is_said_in_words() -> None:
    assert wording(0.734, judged=False) == "73% chance this flag is a real defect"
    assert wording(0.001, judged=False).startswith("under 1% chance")
    assert (
        wording(0.9999, judged=True)
        == "over 99% chance this flag is a real defect (the judge's opinion included)"
    )


def test_a_check_that_scored_nothing_is_not_listed_as_contributing() -> None:
    label = _label("Car", (100, 100, 200, 180))
    flag = _flag("pred_bad_box", IssueType.bad_box, label).model_copy(
        update={"evidence": ("pred_bad_box", "box_size", "size_outlier"),
                "features": {"raw.pred_bad_box": 0.7, "raw.box_size": 0.0, "raw.size_outlier": 0.2}}
    )  # fmt: skip
    listed = contributions(flag)
    assert [c.check for c in listed] == ["pred_bad_box", "size_outlier"]
    assert all(c.about for c in listed), "each says what it looks for"


def test_the_match_of_a_pedestrian_is_a_pedestrian_detection_even_when_a_car_overlaps_more() -> None:
    person = _label("Pedestrian", (100, 100, 140, 200))
    car = _pred("Car", (98, 100, 142, 200), score=1.0)  # IoU about 0.9
    walker = _pred("Pedestrian", (110, 105, 150, 205), score=0.8)  # IoU about 0.6
    flag = _flag("pred_bad_box", IssueType.bad_box, person)
    assert matching_detection(flag, person, [car, walker]) == walker
    assert matching_detection(flag, person, [car]) is None, "no detection of its class: none shown"


def test_a_wrong_class_flag_is_matched_with_the_other_class_that_argued_it() -> None:
    person = _label("Pedestrian", (100, 100, 140, 200))
    walker = _pred("Pedestrian", (100, 100, 140, 200), score=0.2)
    cyclist = _pred("Cyclist", (101, 101, 141, 199), score=0.9)
    flag = _flag("pred_wrong_class", IssueType.wrong_class, person)
    assert matching_detection(flag, person, [walker, cyclist]) == cyclist


def test_a_flag_from_checks_that_read_no_detection_shows_none() -> None:
    car = _label("Car", (100, 100, 200, 180))
    flag = _flag("required_attributes", IssueType.attribute, car)
    assert matching_detection(flag, car, [_pred("Car", (100, 100, 200, 180))]) is None


def test_on_real_kitti_frames_every_match_is_of_the_class_the_flag_reasoned_about(shared_data: Path) -> None:
    found, frames = _kitti(shared_data)
    assert found, "the checks flag something on the KITTI object frames"
    matched = 0
    for f in found:
        labels, predictions = frames[f.frame]
        label = next((lb for lb in labels if lb.id == f.label), None)
        flag = _out(f)
        match = matching_detection(flag, label, predictions)
        assert all(c.strength > 0 for c in contributions(flag))
        if match is None:
            continue
        matched += 1
        target = f.proposed_box or f.box
        box = (match.box.x1, match.box.y1, match.box.x2, match.box.y2)
        assert iou(box, target) >= 0.1
        if f.type is IssueType.wrong_class and label is not None:
            assert match.cls != label.cls
        elif f.cls is not None:
            assert match.cls == f.cls, f"{f.check} on a {f.cls}: matched a {match.cls}"
    assert matched > 0, "some real flags were reasoned from a detection"
