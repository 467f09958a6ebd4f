"""The small formulas many modules use, each kept in one place: the evidence ramp (numbers and arrays,
both edges), the IoU of one pair against the vectorised matrix, and Wilson's interval."""

from __future__ import annotations

import numpy as np
import pytest

from api.ui.dashboard.numbers import Interval
from api.ui.dashboard.numbers import wilson as dashboard_wilson
from evals.judge_accuracy.measure import wilson as report_wilson
from gtqa.checks.base import ramp
from gtqa.domain.boxes import iou, iou_matrix
from gtqa.scoring.estimates import Z95, wilson


@pytest.mark.parametrize(("lo", "hi"), [(0.2, 0.6), (0.6, 0.2), (0.4, 0.4)])
def test_the_ramp_has_the_same_edges_for_a_number_and_an_array(lo: float, hi: float) -> None:
    xs = np.array([-1.0, min(lo, hi), 0.3, 0.4, 0.5, max(lo, hi), 2.0])
    as_array = ramp(xs, lo, hi)
    assert as_array.shape == xs.shape
    assert as_array.tolist() == [ramp(float(x), lo, hi) for x in xs]
    assert ramp(lo, lo, hi) == 0.0, "no evidence at the start edge"
    assert ramp(hi, lo, hi) == (0.0 if hi == lo else 1.0), "full evidence at the full edge (a step at lo)"


def test_the_ramp_is_linear_between_its_edges_and_a_step_when_they_meet() -> None:
    assert ramp(np.array([0.3, 0.5]), 0.2, 0.6) == pytest.approx([0.25, 0.75])
    assert ramp(np.array([0.4, 0.4000001]), 0.4, 0.4).tolist() == [0.0, 1.0]
    assert ramp(3, 0, 10) == pytest.approx(0.3)


def test_one_pair_iou_is_the_matrix_iou() -> None:
    rng = np.random.default_rng(0)
    a = np.sort(rng.uniform(0, 100, (200, 2, 2)), axis=1).transpose(0, 2, 1).reshape(-1, 4)
    b = np.sort(rng.uniform(0, 100, (200, 2, 2)), axis=1).transpose(0, 2, 1).reshape(-1, 4)
    a[:5] = a[:5, [2, 3, 0, 1]]  # inverted boxes have no area
    matrix = iou_matrix(a, b)
    pairs = np.array([[iou(x, y) for y in b] for x in a])
    assert np.allclose(pairs, matrix) and (matrix > 0).any()
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(1 / 3)


def test_the_judge_report_uses_the_one_wilson_interval() -> None:
    lo, hi = wilson(7 / 9, 9, Z95)
    assert report_wilson(7, 9) == (round(lo, 6), round(hi, 6))
    assert report_wilson(0, 0) == (None, None)
    assert wilson(1.0, 20)[1] == 1.0 and 0.8 < wilson(1.0, 20)[0] < 0.9


@pytest.mark.parametrize(("k", "n"), [(0, 7), (3, 10), (10, 10), (1, 1000)])
def test_the_dashboard_uses_the_one_wilson_interval(k: int, n: int) -> None:
    assert dashboard_wilson(k, n) == Interval(k / n, *wilson(k / n, n)) and dashboard_wilson(0, 0) is None
