"""The meaningful backlog: the depth a budget or an hour's cost reaches, and the defects left behind."""

from __future__ import annotations

import pytest

from gtqa.scoring.backlog import backlog


def test_without_a_budget_or_a_cost_every_waiting_item_is_the_backlog() -> None:
    b = backlog([0.5, 0.2, 0.1], 30.0)
    assert b.depth == 3 and b.expected_found == pytest.approx(0.8) and b.left_behind == pytest.approx(0.0)


def test_a_budget_stops_the_backlog_where_the_hours_run_out() -> None:
    # 1 hour at 60 s per item: 60 items; 100 waiting at 0.1 each: 6 expected found, 4 left behind
    b = backlog([0.1] * 100, 60.0, budget_hours=1.0)
    assert b.depth == 60 and b.hours == pytest.approx(1.0)
    assert b.expected_found == pytest.approx(6.0) and b.left_behind == pytest.approx(4.0)


def test_review_stops_paying_where_defects_per_hour_fall_below_the_cost() -> None:
    # break-even: 40 per hour x 36 s / 3600 / 20 per defect = 0.02 defects per item
    probabilities = [0.3] * 20 + [0.05] * 30 + [0.01] * 200
    b = backlog(probabilities, 36.0, hour_cost=40.0, defect_value=20.0)
    assert b.depth == 50  # every item above 0.02 pays, every one below costs
    assert b.expected_found == pytest.approx(0.3 * 20 + 0.05 * 30)
    assert b.left_behind == pytest.approx(0.01 * 200)


def test_one_stray_weak_flag_does_not_stop_the_backlog() -> None:
    # 0.3, 0.3, 0.01, 0.3 at break-even 0.02: reviewing the weak third item still pays for the fourth
    b = backlog([0.3, 0.3, 0.01, 0.3, 0.01], 36.0, hour_cost=40.0, defect_value=20.0)
    assert b.depth == 4


def test_a_dearer_hour_shortens_the_backlog_and_leaves_more_behind() -> None:
    probabilities = [0.5 * 0.97**i for i in range(300)]
    cheap = backlog(probabilities, 30.0, hour_cost=20.0, defect_value=50.0)
    dear = backlog(probabilities, 30.0, hour_cost=80.0, defect_value=50.0)
    assert dear.depth < cheap.depth and dear.left_behind > cheap.left_behind


def test_the_tighter_of_budget_and_cost_sets_the_depth() -> None:
    b = backlog([0.3] * 100, 36.0, budget_hours=0.5, hour_cost=1.0, defect_value=100.0)
    assert b.depth == 50 and "budget" in b.rule
