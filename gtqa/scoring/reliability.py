"""How well probabilities match outcomes: expected calibration error and reliability bins."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict


class ReliabilityBin(BaseModel):
    model_config = ConfigDict(frozen=True)

    lo: float
    hi: float
    n: int
    mean_predicted: float
    observed: float


def reliability_bins(p: np.ndarray, y: np.ndarray, n_bins: int = 10) -> list[ReliabilityBin]:
    """Equal-width bins of predicted probability with the observed defect rate in each."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, n_bins - 1)
    bins = []
    for b in range(n_bins):
        mask = which == b
        if mask.any():
            bins.append(
                ReliabilityBin(
                    lo=float(edges[b]),
                    hi=float(edges[b + 1]),
                    n=int(mask.sum()),
                    mean_predicted=float(p[mask].mean()),
                    observed=float(y[mask].mean()),
                )
            )
    return bins


def expected_calibration_error(p: np.ndarray, y: np.ndarray, n_bins: int = 10) -> float:
    """Sum over bins of |mean predicted - observed rate| weighted by the bin's share of flags."""
    if len(p) == 0:
        return 0.0
    bins = reliability_bins(p, y, n_bins)
    return float(sum(b.n * abs(b.mean_predicted - b.observed) for b in bins) / len(p))


def brier(p: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((p - y) ** 2)) if len(p) else 0.0
