"""Auditor agreement on blind second reviews: Cohen's kappa with a 95% interval.

Two auditors decide the same items without seeing each other's answer (a blind second review); kappa is
their agreement beyond what their own answer rates would give by chance,
``(p_o - p_e) / (1 - p_e)``. Its interval is a percentile bootstrap over the items (seeded, so a figure
shown twice is the same figure); ``n`` is the number of doubly reviewed items. An answer is what the
auditor chose: a defect's issue type, else the verdict, so two auditors calling the same defect by two
types disagree. Gold (known-answer) accuracy is a share with its Wilson interval.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Protocol

import numpy as np

from gtqa.scoring.estimates import Estimate, wilson

BOOTSTRAP = 1000


def cohen_kappa(first: Sequence[Hashable], second: Sequence[Hashable]) -> float:
    """Cohen's kappa of two raters' answers on the same items (1.0 when both always give one answer)."""
    a, b = _codes(first, second)
    return float(_kappas(a, b, np.arange(len(a))[None, :])[0])


def kappa_estimate(
    first: Sequence[Hashable], second: Sequence[Hashable], *, seed: int = 0, resamples: int = BOOTSTRAP
) -> Estimate | None:
    """Kappa with its bootstrap 95% interval, or None before two items were reviewed twice."""
    if len(first) != len(second):
        raise ValueError(f"{len(first)} first answers but {len(second)} second ones")
    if len(first) < 2:
        return None
    a, b = _codes(first, second)
    rng = np.random.default_rng(seed)
    draws = _kappas(a, b, rng.integers(0, len(a), size=(resamples, len(a))))
    low, high = np.nanpercentile(draws, [2.5, 97.5])
    return Estimate(cohen_kappa(first, second), float(low), float(high), len(a))


def _codes(first: Sequence[Hashable], second: Sequence[Hashable]) -> tuple[np.ndarray, np.ndarray]:
    index = {v: i for i, v in enumerate(dict.fromkeys([*first, *second]))}
    return np.array([index[v] for v in first]), np.array([index[v] for v in second])


def _kappas(a: np.ndarray, b: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Kappa of each resample (one row of item indices each), vectorised over the rows."""
    k = int(max(a.max(initial=0), b.max(initial=0))) + 1
    ra, rb = a[rows], b[rows]
    observed = (ra == rb).mean(axis=1)
    pa = np.stack([(ra == c).mean(axis=1) for c in range(k)], axis=1)
    pb = np.stack([(rb == c).mean(axis=1) for c in range(k)], axis=1)
    expected = (pa * pb).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(expected < 1.0, (observed - expected) / (1.0 - expected), 1.0)
    return np.asarray(kappa, dtype=np.float64)


class Paired(Protocol):
    """One doubly reviewed item: who answered first and second, and what (``gtqa.storage.SecondReview``)."""

    @property
    def first_auditor(self) -> str: ...
    @property
    def first_answer(self) -> str: ...
    @property
    def second_auditor(self) -> str: ...
    @property
    def second_answer(self) -> str: ...


def auditor_agreement(pairs: Sequence[Paired]) -> dict[str, Estimate | None]:
    """Each auditor's kappa against the other auditors, over the items they reviewed in a pair (either
    first or second): their answers against the other auditor's on the same items."""
    own: dict[str, tuple[list[str], list[str]]] = {}
    for p in pairs:
        for me, mine, theirs in ((p.first_auditor, p.first_answer, p.second_answer),
                                 (p.second_auditor, p.second_answer, p.first_answer)):  # fmt: skip
            a, b = own.setdefault(me, ([], []))
            a.append(mine)
            b.append(theirs)
    return {name: kappa_estimate(a, b) for name, (a, b) in sorted(own.items())}


def category_agreement(pairs: Sequence[Paired], categories: Iterable[str]) -> dict[str, Estimate | None]:
    """Per category (an issue type), the kappa of "the answer is this category" between the first and
    the second answer over every pair: how well auditors agree on calling that type. Only categories one
    of the answers used."""
    used = {p.first_answer for p in pairs} | {p.second_answer for p in pairs}
    out: dict[str, Estimate | None] = {}
    for c in categories:
        if c in used:
            out[c] = kappa_estimate(
                [p.first_answer == c for p in pairs], [p.second_answer == c for p in pairs]
            )
    return out


def gold_accuracy(right: int, n: int) -> Estimate | None:
    """The share of gold items answered right with its 95% Wilson interval; None before any."""
    if n == 0:
        return None
    low, high = wilson(right / n, n)
    return Estimate(right / n, low, high, n)


def below(estimate: Estimate | None, threshold: float) -> str:
    """``low`` when the whole 95% interval lies below ``threshold``, ``watch`` when only the point does,
    else empty (also before there is an estimate)."""
    if estimate is None:
        return ""
    if estimate.high < threshold:
        return "low"
    return "watch" if estimate.value < threshold else ""
