"""The comparison statistics: McNemar and Holm against hand-computed cases, and the coverage of the paired
cluster-bootstrap interval on simulated runs whose true difference is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evals.harness.metrics import precision, recall
from evals.harness.stats import cluster_bootstrap, holm, mcnemar
from gtqa.scoring.ranked import Scored


def test_mcnemar_exact_on_few_discordant_pairs() -> None:
    # b = 2, c = 9: 11 discordant pairs; P(X <= 2) for Binomial(11, 1/2) = (1 + 11 + 55) / 2048
    test = mcnemar(2, 9)
    assert test.method == "exact"
    assert test.p_value == pytest.approx(2 * 67 / 2048)  # 0.0654
    assert mcnemar(9, 2).p_value == test.p_value
    assert mcnemar(5, 5).p_value == 1.0
    assert mcnemar(0, 0).method == "none" and mcnemar(0, 0).p_value == 1.0


def test_mcnemar_chi_square_with_continuity_correction_on_many() -> None:
    # b = 30, c = 50: (|30 - 50| - 1)^2 / 80 = 361 / 80 = 4.5125; chi2(1) tail = erfc(sqrt(4.5125 / 2))
    test = mcnemar(30, 50)
    assert test.method == "chi2-cc"
    assert test.statistic == pytest.approx(4.5125)
    assert test.p_value == pytest.approx(0.033648, abs=1e-6)
    assert test.p_value == pytest.approx(math.erfc(math.sqrt(4.5125 / 2)))


def test_holm_by_hand() -> None:
    # sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 -> kept monotone at 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, float("nan")]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


# Simulated paired runs. Frames are "easy" or "hard" (defect rate sigmoid(-2) or sigmoid(0)), so flags of
# one frame are correlated; each flag is a defect with its frame's rate. One uniform draw per flag decides
# both runs (a strongly paired design): the base raises a defect with probability 0.7, the candidate
# with 0.8; both raise a false alarm with probability 0.3.
RATES = (1 / (1 + math.e**2), 0.5)
RAISE = {"base": (0.3, 0.7), "cand": (0.3, 0.8)}  # P(raised | y = 0), P(raised | y = 1)


def _true(run: str) -> tuple[float, float]:
    """The population precision and recall (ratios of expected counts per frame)."""
    prevalence = sum(RATES) / 2
    fp, tp = RAISE[run]
    return prevalence * tp / (prevalence * tp + (1 - prevalence) * fp), tp


def _simulate(rng: np.random.Generator, frames: int) -> tuple[Scored, Scored, np.ndarray]:
    sizes = 1 + rng.poisson(5, frames)
    clusters = np.repeat(np.arange(frames), sizes)
    rate = np.array(RATES)[rng.integers(0, 2, frames)][clusters]
    y = (rng.random(len(clusters)) < rate).astype(np.float64)
    u = rng.random(len(clusters))
    present = np.ones(len(y), dtype=bool)

    def run(name: str) -> Scored:
        p_raise = np.where(y == 1, RAISE[name][1], RAISE[name][0])
        return Scored(score=np.where(u < p_raise, 0.9, 0.1), y=y, present=present)

    return run("base"), run("cand"), clusters


@pytest.mark.parametrize("metric", ["precision", "recall"])
def test_bootstrap_interval_covers_the_true_difference(metric: str) -> None:
    fn = precision if metric == "precision" else recall
    index = 0 if metric == "precision" else 1
    truth = _true("cand")[index] - _true("base")[index]
    rng = np.random.default_rng(20261126)
    covered, widths = 0, []
    for sim in range(200):
        base, cand, clusters = _simulate(rng, frames=150)

        def paired(w: np.ndarray, b: Scored = base, c: Scored = cand) -> tuple[np.ndarray, np.ndarray]:
            return fn(b, w), fn(c, w)

        ci = cluster_bootstrap(paired, clusters, 150, n_boot=1000, seed=sim)
        covered += ci.lo <= truth <= ci.hi
        widths.append(ci.hi - ci.lo)
    # recorded in benchmarks/RESULTS.md §6: pytest -s -k covers shows the figures
    print(
        f"{metric}: true difference {truth:+.3f}, coverage {covered / 200:.3f}, width {np.median(widths):.3f}"
    )
    assert covered / 200 >= 0.93, f"coverage {covered / 200:.3f} of 95 % intervals"
    assert 0 < np.median(widths) < 0.15  # informative, not trivially wide


def test_bootstrap_resamples_whole_clusters() -> None:
    # two clusters of perfectly correlated items: an item-level bootstrap would be far too narrow
    base = Scored(score=np.array([0.9] * 10 + [0.1] * 10), y=np.ones(20), present=np.ones(20, dtype=bool))
    cand = Scored(score=np.array([0.9] * 20), y=np.ones(20), present=np.ones(20, dtype=bool))
    clusters = np.array([0] * 10 + [1] * 10)
    ci = cluster_bootstrap(lambda w: (recall(base, w), recall(cand, w)), clusters, 2, n_boot=2000)
    assert ci.estimate == pytest.approx(0.5)
    # a replicate draws cluster 0 twice (delta 0), cluster 1 twice (delta 1) or both (0.5)
    assert ci.lo == pytest.approx(0.0) and ci.hi == pytest.approx(1.0)
