from __future__ import annotations

from evals.suggest import entropy, spot_checks, uncertain_flags
from gtqa.domain import Audit, Box2D, Dataset, Finding, Frame, IssueType, Label, Verdict
from gtqa.spec import load_spec


def _flag(label: str, score: float) -> Finding:
    return Finding(
        frame="f", label=label, type=IssueType.bad_box, score=score, box=(0, 0, 1, 1), check="c", message=""
    )


def test_uncertain_flags_come_closest_to_a_coin_flip_first_and_skip_audited_labels() -> None:
    flags = [_flag("f:0", 0.95), _flag("f:1", 0.52), _flag("f:2", 0.3), _flag("f:3", 0.49)]
    done = [Audit(id="a", frame="f", label="f:3", verdict=Verdict.defect)]
    got = uncertain_flags(flags, done, 2)
    assert [s.label for s in got] == ["f:1", "f:2"]
    assert entropy(0.5) > entropy(0.3) > entropy(0.05)


def test_spot_checks_sample_only_unflagged_reviewed_labels_reproducibly() -> None:
    labels = tuple(
        Label(
            id=f"f:{i}", frame="f", cls="DontCare" if i == 9 else "Car", box=Box2D(x1=i, y1=0, x2=i + 5, y2=5)
        )
        for i in range(10)
    )
    data = Dataset(name="d", format="kitti", root=".", frames=(Frame(id="f", labels=labels),))
    flags = [_flag("f:0", 0.9), _flag("f:1", 0.2)]
    a = spot_checks(data, flags, [], load_spec(), 5, seed=3)
    b = spot_checks(data, flags, [], load_spec(), 5, seed=3)
    assert a == b and len(a) == 5
    assert {s.label for s in a} <= {f"f:{i}" for i in range(2, 9)}
    assert len(spot_checks(data, flags, [], load_spec(), 50, seed=3)) == 7
