"""The spot-check estimators: their 95% intervals cover a known truth in at least 93% of 200 seeded runs."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from gtqa.scoring.estimates import (
    Estimate,
    Stratum,
    defect_rate,
    defects_total,
    hours_saved,
    wilson,
)

RUNS = 200
MIN_COVERAGE = 0.93

# (population, sample size, defect rate) per stratum: unflagged labels, then low-score flag bands.
DESIGNS = {
    "one stratum, 30 audits, 5% defects": [(5000, 30, 0.05)],
    "unflagged + two flag bands": [(4000, 60, 0.02), (1500, 40, 0.08), (500, 30, 0.25)],
    "rare defects, small strata": [(800, 40, 0.01), (200, 20, 0.05)],
}


def _populations(rng: np.random.Generator, design: list[tuple[int, int, float]]) -> list[np.ndarray]:
    return [rng.random(size) < rate for size, _, rate in design]


def _sample(
    rng: np.random.Generator, design: list[tuple[int, int, float]], pops: list[np.ndarray]
) -> list[Stratum]:
    out = []
    for (size, n, _), pop in zip(design, pops, strict=True):
        picked = rng.choice(size, size=n, replace=False)
        out.append(Stratum(size, n, int(pop[picked].sum())))
    return out


def _coverage(run: Callable[[np.random.Generator], tuple[Estimate | None, float]], seed: int) -> float:
    rng = np.random.default_rng(seed)
    covered = 0
    for _ in range(RUNS):
        estimate, truth = run(rng)
        assert estimate is not None
        covered += estimate.low <= truth <= estimate.high
    return covered / RUNS


@pytest.mark.parametrize("name", DESIGNS)
def test_the_miss_rate_interval_covers_the_true_rate(name: str) -> None:
    design = DESIGNS[name]

    def run(rng: np.random.Generator) -> tuple[Estimate | None, float]:
        pops = _populations(rng, design)
        truth = sum(p.sum() for p in pops) / sum(len(p) for p in pops)
        return defect_rate(_sample(rng, design, pops)), float(truth)

    assert _coverage(run, seed=1) >= MIN_COVERAGE


@pytest.mark.parametrize("name", DESIGNS)
def test_the_defects_left_behind_interval_covers_the_true_count(name: str) -> None:
    design = DESIGNS[name]

    def run(rng: np.random.Generator) -> tuple[Estimate | None, float]:
        pops = _populations(rng, design)
        return defects_total(_sample(rng, design, pops)), float(sum(p.sum() for p in pops))

    assert _coverage(run, seed=2) >= MIN_COVERAGE


@pytest.mark.parametrize(("timed_labels", "timed_items"), [(10, 20), (40, 60)])
def test_the_hours_saved_interval_covers_the_true_saving(timed_labels: int, timed_items: int) -> None:
    # Decision times are skewed (gamma, shape 2): 40 s per label and 25 s per flag on average.
    n_labels, n_items, label_mean, item_mean = 5000, 1200, 40.0, 25.0
    truth = (n_labels * label_mean - n_items * item_mean) / 3600

    def run(rng: np.random.Generator) -> tuple[Estimate | None, float]:
        labels = rng.gamma(2.0, label_mean / 2, size=timed_labels)
        items = rng.gamma(2.0, item_mean / 2, size=timed_items)
        return hours_saved(labels.tolist(), items.tolist(), n_labels, n_items), truth

    assert _coverage(run, seed=3) >= MIN_COVERAGE


def test_the_total_is_the_horvitz_thompson_total_of_a_stratified_sample() -> None:
    # 2 of 10 sampled (pi 0.2) with 1 defect, 5 of 50 (pi 0.1) with 2: 1/0.2 + 2/0.1 = 25 = 10*0.5 + 50*0.4
    estimate = defects_total([Stratum(10, 2, 1), Stratum(50, 5, 2)])
    assert estimate is not None and estimate.value == pytest.approx(25.0)


def test_no_estimate_before_every_stratum_has_an_audit() -> None:
    assert defect_rate([]) is None
    assert defect_rate([Stratum(100, 5, 0), Stratum(100, 0, 0)]) is None
    assert hours_saved([30.0], [20.0, 21.0], 100, 10) is None


def test_no_defect_seen_still_gives_an_interval_above_zero() -> None:
    estimate = defect_rate([Stratum(5000, 20, 0)])
    assert estimate is not None and estimate.value == 0.0 and estimate.high > 0.1


def test_the_interval_narrows_as_audits_accumulate() -> None:
    few = defect_rate([Stratum(5000, 20, 2)])
    many = defect_rate([Stratum(5000, 200, 20)])
    assert few is not None and many is not None
    assert many.high - many.low < few.high - few.low


def test_an_estimate_is_shown_with_its_interval_and_n() -> None:
    assert Estimate(0.042, 0.011, 0.09, 31).text() == "4.2% [1.1%, 9.0%], n=31"


def test_wilson_matches_a_hand_computed_interval() -> None:
    # 2 of 20: centre (0.1 + 1.92/20) / 1.192 = 0.1644, half 1.96 sqrt(0.0045 + 0.0024) / 1.192 = 0.1366
    low, high = wilson(0.1, 20)
    assert low == pytest.approx(0.0279, abs=5e-4) and high == pytest.approx(0.3010, abs=5e-4)


def test_clean_audits_in_two_strata_narrow_the_interval_like_two_audits_in_one() -> None:
    # no defect in one audit of each of two strata: as informative as 0 of 2, Wilson's 0 to 0.658
    two = defect_rate([Stratum(100, 1, 0), Stratum(100, 1, 0)])
    assert two is not None and two.high == pytest.approx(wilson(0.0, 2)[1])
