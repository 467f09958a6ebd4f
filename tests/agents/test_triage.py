"""Triage: which flags and prose rules go to the judge, and the uncertainty band's derivation."""

from __future__ import annotations

import pytest

from agents.context import MIN_GAIN, TriagePolicy
from agents.triage import plan_tasks
from gtqa.checks.base import CheckParams, label_finding
from gtqa.domain import Box2D, Finding, Frame, IssueType, Label
from gtqa.spec import load_spec

PROSE_RULE = "pedestrian-pushing-bicycle"  # applies to Pedestrian and Cyclist, issue type wrong_class


def _label(i: int, cls: str = "Pedestrian") -> Label:
    x = 100.0 * i
    return Label(id=f"f:{i}", frame="f", cls=cls, box=Box2D(x1=x, y1=100, x2=x + 40, y2=200))


def _flag(label: Label, score: float, issue: IssueType = IssueType.bad_box, check: str = "c") -> Finding:
    return label_finding(label, issue, score, check, "a flag", CheckParams())


def _plan(findings: list[Finding], labels: list[Label], policy: TriagePolicy) -> list[tuple[str, str]]:
    frame = Frame(id="f", labels=tuple(labels))
    tasks = plan_tasks(findings, [frame], load_spec(), policy)
    return [(t.label.id, t.finding.check if t.finding else t.rules[0].id) for t in tasks]


def _gain(p: float, accuracy: float) -> float:
    """Expected wrong decisions (at 0.5) one verdict of this accuracy avoids at probability p."""
    return max(0.0, min(p, 1 - p) - (1 - accuracy))


def test_the_default_band_is_the_one_derived_from_the_assumed_accuracy() -> None:
    policy = TriagePolicy()
    derived = TriagePolicy.for_accuracy(policy.judge_accuracy)
    assert (derived.low, derived.high) == pytest.approx((policy.low, policy.high))


@pytest.mark.parametrize("accuracy", [0.65, 0.7, 0.8, 0.9, 0.99])
def test_the_band_holds_exactly_the_flags_a_verdict_is_worth_asking_about(accuracy: float) -> None:
    policy = TriagePolicy.for_accuracy(accuracy)
    for p in [i / 200 for i in range(1, 200)]:
        worth = _gain(p, accuracy) > MIN_GAIN + 1e-9
        assert policy.uncertain(p) == worth or abs(_gain(p, accuracy) - MIN_GAIN) < 1e-9, p


def test_a_better_judge_is_asked_more_and_a_weak_one_nothing() -> None:
    widths = [
        TriagePolicy.for_accuracy(a).high - TriagePolicy.for_accuracy(a).low for a in (0.6, 0.7, 0.8, 0.9)
    ]
    assert widths == sorted(widths) and widths[0] == 0.0
    weak = TriagePolicy.for_accuracy(0.55)
    assert not any(weak.uncertain(p / 100) for p in range(101))


def test_one_question_per_label_on_its_highest_flag_and_none_when_that_is_certain() -> None:
    a, b, c = _label(0, "Car"), _label(1, "Car"), _label(2, "Car")
    findings = [
        _flag(a, 0.4, check="low"),
        _flag(a, 0.6, IssueType.attribute, check="top"),
        _flag(b, 0.5, check="uncertain"),
        _flag(b, 0.9, IssueType.duplicate, check="certain"),
        _flag(c, 0.1, check="clear"),
    ]
    assert _plan(findings, [a, b, c], TriagePolicy()) == [("f:0", "top")]
    every = TriagePolicy(one_question_per_label=False)
    assert _plan(findings, [a, b, c], every) == [("f:0", "low"), ("f:0", "top"), ("f:1", "uncertain")]


def test_a_prose_rule_is_asked_only_for_an_uncertain_flag_of_its_own_issue_type() -> None:
    walker, boxed, sure, unflagged = _label(0), _label(1), _label(2), _label(3)
    findings = [
        _flag(walker, 0.5, IssueType.wrong_class, check="pred_wrong_class"),
        _flag(boxed, 0.5, IssueType.bad_box, check="pred_bad_box"),
        _flag(sure, 0.95, IssueType.wrong_class, check="track_class_change"),
    ]
    labels = [walker, boxed, sure, unflagged]
    prose = [lab for lab, what in _plan(findings, labels, TriagePolicy()) if what == PROSE_RULE]
    assert prose == ["f:0"]
    any_flag = TriagePolicy(prose_needs_issue=False)
    prose = [lab for lab, what in _plan(findings, labels, any_flag) if what == PROSE_RULE]
    assert prose == ["f:0", "f:1", "f:2"]


def test_a_prose_rule_is_not_asked_for_a_class_it_does_not_concern() -> None:
    car = _label(0, "Car")
    findings = [_flag(car, 0.5, IssueType.wrong_class)]
    assert _plan(findings, [car], TriagePolicy()) == [("f:0", "c")]


def test_the_measured_judge_accuracy_is_a_setting_the_scan_the_workers_and_evals_read() -> None:
    from gtqa.checks.stats import DatasetStats
    from gtqa.domain import Dataset
    from gtqa.review import dataset_stats
    from gtqa.scoring.scorer import PriorScorer
    from gtqa.settings import Settings
    from workers.plan import JobPlan

    assert TriagePolicy.from_settings(Settings(_env_file=None)) == TriagePolicy()  # 0.8: the defaults
    measured = TriagePolicy.from_settings(Settings(_env_file=None, judge_accuracy=0.935))
    assert measured.judge_accuracy == 0.935 and measured.low < 0.3 and measured.high > 0.7
    spec = load_spec()
    stats: DatasetStats = dataset_stats(Dataset(name="d", format="kitti", root=".", frames=()), spec)
    plan = JobPlan(spec=spec, checks=(), stats=stats, scorer=PriorScorer(), triage=measured)
    from agents.context import DatasetSource

    source = DatasetSource(Dataset(name="d", format="kitti", root=".", frames=()))
    assert plan.context(source, None).triage is measured
