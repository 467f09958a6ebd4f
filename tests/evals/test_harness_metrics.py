"""The eval metrics on hand-made items: definitions, unknown flags never counted, weights = duplication."""

from __future__ import annotations

import numpy as np
import pytest

from evals.harness.metrics import ece, metric_fn, run_metrics, scored_of
from evals.harness.records import EvalItem
from evals.ranking import average_precision as ranked_ap
from gtqa.domain import IssueType
from gtqa.scoring.ranked import Scored, average_precision, precision_at_k
from gtqa.scoring.reliability import expected_calibration_error


def item(n: int, score: float, outcome: int | None, *, type: str = "bad_box", cls: str = "Car") -> EvalItem:
    return EvalItem(
        key=f"f{n}|{n}|{type}", frame=f"f{n}", sequence=f"f{n}", label=str(n), type=IssueType(type), cls=cls,
        check="c", box=(0, 0, 10, 10), score=score, outcome=outcome, vendor="v1" if n % 2 else "v2",
    )  # fmt: skip


ITEMS = [
    item(0, 0.95, 1),
    item(1, 0.90, None),  # unknown: ignored everywhere
    item(2, 0.80, 0),
    item(3, 0.60, 1, type="duplicate"),
    item(4, 0.40, 1),
    item(5, 0.30, 0, cls="Pedestrian"),
    item(6, 0.10, 0),
]


def test_definitions_by_hand() -> None:
    m = run_metrics(ITEMS, threshold=0.5, budgets=(2, 10)).overall
    # known flags ranked: 0.95 y, 0.80 n, 0.60 y, 0.40 y, 0.30 n, 0.10 n; raised at 0.5: the first three
    assert (m.flags, m.known, m.positives, m.raised) == (7, 6, 3, 3)
    assert m.precision == pytest.approx(2 / 3)
    assert m.recall == pytest.approx(2 / 3)
    assert m.f1 == pytest.approx(2 / 3)
    assert m.ap == pytest.approx((1 / 1 + 2 / 3 + 3 / 4) / 3)
    assert m.precision_at == {"2": pytest.approx(0.5), "10": pytest.approx(0.3)}  # short list: misses
    assert m.known_share_at == {"2": pytest.approx(0.5), "10": pytest.approx(6 / 7)}


def test_unknown_flags_are_never_false_alarms() -> None:
    more_unknown = [*ITEMS, item(7, 0.99, None), item(8, 0.7, None)]
    assert run_metrics(more_unknown).overall.precision == run_metrics(ITEMS).overall.precision


def test_slices_by_type_class_and_vendor() -> None:
    m = run_metrics(ITEMS, threshold=0.5)
    assert set(m.by_type) == {"bad_box", "duplicate"}
    assert m.by_type["duplicate"].precision == 1.0 and m.by_type["duplicate"].precision_at == {}
    assert m.by_class["Pedestrian"].raised == 0 and m.by_class["Pedestrian"].precision is None
    assert set(m.by_vendor) == {"v1", "v2"}


def test_nothing_raised_or_no_defect_is_undefined_not_zero() -> None:
    m = run_metrics([item(0, 0.2, 0)], threshold=0.5).overall
    assert m.precision is None and m.recall is None and m.ap is None


def test_agrees_with_the_existing_ranking_metrics_and_reliability() -> None:
    s = scored_of(ITEMS)
    ones = np.ones(len(s))
    ranked = s.y[np.argsort(-s.score, kind="stable")].astype(bool)
    assert float(average_precision(s, ones)) == pytest.approx(ranked_ap(list(ranked), int(s.y.sum())))
    assert float(ece(s, ones)) == pytest.approx(expected_calibration_error(s.score, s.y))


@pytest.mark.parametrize("name", ["precision", "recall", "f1", "ap", "ece", "precision_at_3"])
def test_integer_weights_equal_duplicated_items(name: str) -> None:
    rng = np.random.default_rng(3)
    n = 40
    s = Scored(
        score=rng.random(n).round(3), y=(rng.random(n) < 0.4).astype(float), present=rng.random(n) < 0.8
    )
    w = rng.integers(0, 4, n).astype(float)
    copies = np.repeat(np.arange(n), w.astype(int))
    dup = Scored(score=s.score[copies], y=s.y[copies], present=s.present[copies])
    fn = metric_fn(name)
    assert float(fn(s, w)) == pytest.approx(float(fn(dup, np.ones(len(copies)))))
    batch = np.stack([w, np.ones(n)])
    assert fn(s, batch) == pytest.approx([float(fn(s, w)), float(fn(s, np.ones(n)))])


def test_absent_flags_are_not_ranked_but_their_defects_count() -> None:
    s = Scored(score=np.array([0.9, 0.0]), y=np.array([1.0, 1.0]), present=np.array([True, False]))
    ones = np.ones(2)
    assert float(average_precision(s, ones)) == pytest.approx(0.5)
    assert float(precision_at_k(s, ones, 2)) == pytest.approx(0.5)
    assert float(metric_fn("recall")(s, ones)) == pytest.approx(0.5)


def test_unknown_metric_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="precision_at_<K>"):
        metric_fn("accuracy")


def test_tied_scores_have_no_order() -> None:
    s = Scored(
        score=np.array([0.9, 0.5, 0.5, 0.5, 0.5]), y=np.array([0.0, 1, 0, 0, 0]), present=np.ones(5, bool)
    )
    ones = np.ones(5)
    # the budget of 3 takes the 0.9 flag and 2 of the 4 tied ones, a quarter of which are real
    assert float(precision_at_k(s, ones, 3)) == pytest.approx(2 * 0.25 / 3)
    # one step for the tie group: recall 0 -> 1 at precision 1 / 5
    assert float(average_precision(s, ones)) == pytest.approx(0.2)
    shuffled = Scored(score=s.score[[0, 4, 3, 1, 2]], y=s.y[[0, 4, 3, 1, 2]], present=s.present)
    assert float(precision_at_k(shuffled, ones, 3)) == pytest.approx(float(precision_at_k(s, ones, 3)))
    assert float(average_precision(shuffled, ones)) == pytest.approx(float(average_precision(s, ones)))


def test_followers_rank_after_every_leader_as_in_the_queue() -> None:
    # The 0.9 flag follows another on its object: the queue reviews it after the 0.2 leader.
    led = Scored(
        score=np.array([0.9, 0.5, 0.2]),
        y=np.array([0.0, 1.0, 1.0]),
        present=np.ones(3, bool),
        follows=np.array([True, False, False]),
    )
    ones = np.ones(3)
    assert float(precision_at_k(led, ones, 2)) == pytest.approx(1.0)
    assert float(average_precision(led, ones)) == pytest.approx(1.0)
    plain = Scored(score=led.score, y=led.y, present=led.present)
    assert float(precision_at_k(plain, ones, 2)) == pytest.approx(0.5)
    assert float(precision_at_k(led.cut(np.array([True, True, False])), ones[:2], 1)) == pytest.approx(1.0)
    followed = [item(0, 0.9, 0).model_copy(update={"follows": True}), item(1, 0.5, 1)]
    assert run_metrics(followed, budgets=(1,)).overall.precision_at["1"] == pytest.approx(1.0)
