"""Cohen's kappa of blind second reviews, against a hand-computed table and by simulation."""

from __future__ import annotations

import numpy as np
import pytest

from gtqa.scoring.agreement import cohen_kappa, kappa_estimate


def test_kappa_matches_a_hand_computed_two_by_two_table() -> None:
    # 20 defect/defect, 5 defect/ok, 10 ok/defect, 15 ok/ok: p_o = 35/50 = 0.7,
    # p_e = 0.5 x 0.6 + 0.5 x 0.4 = 0.5, kappa = 0.2 / 0.5 = 0.4
    first = ["defect"] * 25 + ["ok"] * 25
    second = ["defect"] * 20 + ["ok"] * 5 + ["defect"] * 10 + ["ok"] * 15
    assert cohen_kappa(first, second) == pytest.approx(0.4)


def test_perfect_agreement_is_one_and_independent_answers_are_near_zero() -> None:
    rng = np.random.default_rng(0)
    answers = rng.integers(0, 3, 500).tolist()
    assert cohen_kappa(answers, answers) == pytest.approx(1.0)
    assert abs(cohen_kappa(answers, rng.integers(0, 3, 500).tolist())) < 0.1


def test_the_kappa_interval_covers_the_true_agreement() -> None:
    # The second auditor copies the first with probability q, else answers at random with the same
    # rates (defect 30%): the population kappa is then q.
    rng = np.random.default_rng(4)
    q, runs, covered = 0.6, 200, 0
    for _ in range(runs):
        first = rng.random(80) < 0.3
        second = np.where(rng.random(80) < q, first, rng.random(80) < 0.3)
        estimate = kappa_estimate(first.tolist(), second.tolist(), seed=int(rng.integers(1 << 30)))
        assert estimate is not None
        covered += estimate.low <= q <= estimate.high
    assert covered / runs >= 0.93


def test_no_kappa_before_two_items_were_reviewed_twice() -> None:
    assert kappa_estimate(["defect"], ["ok"]) is None
