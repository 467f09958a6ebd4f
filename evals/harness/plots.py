"""The comparison report's figures, as base64 PNGs (matplotlib's object API: no pyplot, no global state)."""

from __future__ import annotations

import base64
import io

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from evals.harness.compare import Comparison
from evals.harness.metrics import scored_of
from evals.harness.pairing import PairedArrays
from evals.harness.runfile import EvalRun
from evals.harness.slices import SliceDelta
from gtqa.scoring.ranked import Scored
from gtqa.scoring.reliability import reliability_bins

BASE_COLOUR, CAND_COLOUR = "#1f77b4", "#d62728"


def png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def pr_curve(s: Scored) -> tuple[np.ndarray, np.ndarray]:
    """Recall and precision down the ranking of the present items (recall over all positives)."""
    order = np.flatnonzero(s.present)[np.argsort(-s.rank[s.present], kind="stable")]
    hits = np.cumsum(s.y[order])
    positives = max(float(s.y.sum()), 1.0)
    return hits / positives, hits / np.arange(1, len(order) + 1)


def pr_figure(arrays: PairedArrays, threshold: float) -> str:
    fig = Figure(figsize=(5.2, 4.0))
    ax = fig.add_subplot()
    for name, s, colour in (("base", arrays.base, BASE_COLOUR), ("candidate", arrays.cand, CAND_COLOUR)):
        r, p = pr_curve(s)
        ax.plot(r, p, color=colour, label=name, lw=1.6)
        at = s.present & (s.score >= threshold)
        if at.any():
            tp = float((s.y * at).sum())
            ax.plot(tp / max(s.y.sum(), 1.0), tp / at.sum(), "o", color=colour, ms=6)
    ax.set(xlabel="recall (pooled over both runs' flags)", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02))
    ax.set_title(f"precision-recall (dots: threshold {threshold:g})", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right")
    return png(fig)


def reliability_figure(base: EvalRun, cand: EvalRun) -> str:
    fig = Figure(figsize=(5.2, 4.0))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="#888", lw=1, ls="--", label="perfect")
    for name, run, colour in (("base", base, BASE_COLOUR), ("candidate", cand, CAND_COLOUR)):
        s = scored_of(run.items)
        bins = reliability_bins(s.score, s.y)
        x = [b.mean_predicted for b in bins]
        y = [b.observed for b in bins]
        sizes = [12 + 60 * np.sqrt(b.n / max(len(s), 1)) for b in bins]
        ece = run.metrics.overall.ece
        ax.plot(x, y, "-", color=colour, lw=1.2)
        ax.scatter(
            x, y, s=sizes, color=colour, label=f"{name} (ECE {ece if ece is not None else float('nan'):.3f})"
        )
    ax.set(xlabel="predicted defect probability", ylabel="observed defect rate", xlim=(0, 1), ylim=(0, 1))
    ax.set_title("reliability (marker area ~ flags in bin)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    return png(fig)


def slices_figure(comparison: Comparison) -> str | None:
    rows = [s for s in comparison.slices if s.items > 0]
    if not rows:
        return None
    fig = Figure(figsize=(9.0, 0.6 + 0.32 * len(rows)))
    axes = fig.subplots(1, 2, sharey=True)
    labels = [f"{s.dimension}={s.value} (n={s.items})" for s in rows]
    for ax, metric in zip(axes, ("precision", "recall"), strict=True):
        _forest(ax, rows, metric)
        ax.set_title(f"{metric}: candidate - base, {comparison.level:.0%} CI", fontsize=10)
    axes[0].set_yticks(range(len(rows)), labels, fontsize=8)
    axes[0].invert_yaxis()
    return png(fig)


def _forest(ax: Axes, rows: list[SliceDelta], metric: str) -> None:
    ax.axvline(0.0, color="#888", lw=1)
    for y, s in enumerate(rows):
        d = next(m for m in s.metrics if m.metric == metric)
        if d.delta is None:
            continue
        colour = CAND_COLOUR if s.regression else "#333"
        lo = d.delta - d.lo if d.lo is not None else 0.0
        hi = d.hi - d.delta if d.hi is not None else 0.0
        ax.errorbar([d.delta], [y], xerr=[[lo], [hi]], fmt="o", color=colour, ms=4, capsize=2)
    ax.grid(alpha=0.3, axis="x")
