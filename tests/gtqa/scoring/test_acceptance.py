"""Batch acceptance, checked against plans computed by hand (AQL 1%, LTPD 5%, alpha 5%, beta 10%)."""

from __future__ import annotations

import pytest

from gtqa.scoring.acceptance import (
    AcceptancePlan,
    Decision,
    acceptance_probability,
    single_sampling_plan,
    sprt,
)

PLAN = AcceptancePlan(aql=0.01, ltpd=0.05, alpha=0.05, beta=0.10)


def test_wald_boundaries_are_the_hand_computed_ones() -> None:
    # ln(0.9 / 0.05) = ln 18 = 2.8904; ln(0.1 / 0.95) = -2.2513
    result = sprt(PLAN, 0, 0)
    assert result.reject_at == pytest.approx(2.8904, abs=1e-4)
    assert result.accept_at == pytest.approx(-2.2513, abs=1e-4)


def test_a_clean_batch_is_accepted_after_55_defect_free_audits_not_54() -> None:
    # each clean audit adds ln(0.95 / 0.99) = -0.041243: 54 of them -2.2271, 55 of them -2.2684
    assert sprt(PLAN, 54, 0).decision == Decision.keep_sampling
    assert sprt(PLAN, 55, 0).decision == Decision.accept


def test_two_defects_reject_within_seven_clean_audits_but_not_eight() -> None:
    # each defect adds ln 5 = 1.6094: 2 defects 3.2189, minus 7 x 0.041243 = 2.9302 >= 2.8904,
    # minus 8 x 0.041243 = 2.8889 < 2.8904
    assert sprt(PLAN, 9, 2).decision == Decision.reject
    assert sprt(PLAN, 10, 2).decision == Decision.keep_sampling
    assert sprt(PLAN, 10, 3).decision == Decision.reject


def test_the_single_sampling_plan_is_132_items_with_3_defects_allowed() -> None:
    plan = single_sampling_plan(PLAN)
    assert (plan.n, plan.c) == (132, 3)
    # by hand: P(X <= 3 | 132, 1%) = 0.2654 + 0.3538 + 0.2341 + 0.1025 = 0.9558;
    # P(X <= 3 | 132, 5%) = 0.0011 + 0.0080 + 0.0275 + 0.0626 = 0.0992
    assert acceptance_probability(132, 3, 0.01) == pytest.approx(0.9557, abs=1e-3)
    assert acceptance_probability(132, 3, 0.05) == pytest.approx(0.0992, abs=1e-3)
    # one item fewer, and the consumer's risk is no longer met
    assert acceptance_probability(131, 3, 0.05) > 0.10


def test_a_single_sampling_plan_decides_only_once_its_sample_is_complete() -> None:
    plan = single_sampling_plan(PLAN)
    assert plan.decide(50, 1) == Decision.keep_sampling
    assert plan.decide(132, 3) == Decision.accept
    assert plan.decide(40, 4) == Decision.reject


def test_a_plan_with_the_quality_levels_the_wrong_way_round_is_refused() -> None:
    with pytest.raises(ValueError, match="AQL < LTPD"):
        AcceptancePlan(aql=0.05, ltpd=0.01)
