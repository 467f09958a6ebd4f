"""The evidence of a fused flag as a fixed-length vector, for the calibration model.

Every flag contributes generic features (its prior probability, how many checks agree, its box's size
and shape, its issue type and class as one-hot columns) and every feature its checks recorded
(``raw.<check>`` and ``<check>.<name>``), and its context among the other flags of its frame
(``ctx.*``: whether a more probable flag on another object overlaps it, how many flags the frame has).
The columns are fixed when a model is fitted; a feature a flag lacks is NaN (gradient boosting treats
it as missing), one the model never saw is ignored. Context features are computed over the findings
given, so give whole frames: every flag of a frame, audited or not.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict

from gtqa.domain import Finding
from gtqa.domain.boxes import iou_matrix

GENERIC = ("prior", "n_evidence", "box_width", "box_height", "log_box_height", "log_aspect", "is_missing")


def label_evidence(findings: Sequence[Finding]) -> dict[tuple[str, str], dict[str, float]]:
    """Every label's evidence pooled over all its flags (the agreement between checks): a label flagged
    as a duplicate is judged with what the detectors and geometry checks said of it too."""
    pooled: dict[tuple[str, str], dict[str, float]] = {}
    for f in findings:
        if f.label is not None:
            into = pooled.setdefault((f.frame, f.label), {"n_label_flags": 0.0})
            into.update(f.features)
            into[f"flagged_as={f.type.value}"] = 1.0
            into["n_label_flags"] += 1.0
    return pooled


def _prior(f: Finding) -> float:
    return f.heuristic_score if f.heuristic_score is not None else f.score


def frame_context(findings: Sequence[Finding], *, strong: float = 0.5) -> list[dict[str, float]]:
    """Each flag's context in its frame, from the flags' priors (the same before and after a
    calibration): the highest IoU with a more probable flag on another object (``ctx.shadow_iou``; on
    a label, ``ctx.shadow_label_iou``), how many flags on other objects overlap it at all
    (``ctx.overlapping``), and how many flags, and flags above ``strong``, its frame has. A flag in the
    shadow of a stronger one is often the same object seen twice, and crowded frames are harder."""
    out: list[dict[str, float]] = [{} for _ in findings]
    by_frame: dict[str, list[int]] = {}
    for i, f in enumerate(findings):
        by_frame.setdefault(f.frame, []).append(i)
    for idx in by_frame.values():
        boxes = np.array([findings[i].box for i in idx], dtype=np.float64).reshape(-1, 4)
        iou = iou_matrix(boxes, boxes)
        prior = np.array([_prior(findings[i]) for i in idx])
        labels = np.array([findings[i].label or "" for i in idx], dtype=object)
        has_label = labels != ""
        # another object: not the flag itself, nor another flag on the same label
        other = ~np.eye(len(idx), dtype=bool) & ~((labels[:, None] == labels[None, :]) & has_label[:, None])
        rank = np.arange(len(idx))
        stronger = other & (
            (prior[None, :] > prior[:, None])
            | ((prior[None, :] == prior[:, None]) & (rank[None, :] < rank[:, None]))
        )
        n_strong = float((prior > strong).sum())
        for a, i in enumerate(idx):
            on_label = stronger[a] & has_label
            out[i] = {
                "ctx.shadow_iou": float(iou[a, stronger[a]].max(initial=0.0)),
                "ctx.shadow_label_iou": float(iou[a, on_label].max(initial=0.0)),
                "ctx.overlapping": float((iou[a, other[a]] > 0.0).sum()),
                "ctx.frame_flags": float(len(idx)),
                "ctx.frame_strong": n_strong,
            }
    return out


def flag_features(
    f: Finding,
    pooled: dict[tuple[str, str], dict[str, float]] | None = None,
    context: dict[str, float] | None = None,
) -> dict[str, float]:
    x1, y1, x2, y2 = f.box
    w, h = max(x2 - x1, 0.0), max(y2 - y1, 0.0)
    prior = _prior(f)
    generic = {
        "prior": prior,
        "n_evidence": float(len(f.evidence)),
        "box_width": w,
        "box_height": h,
        "log_box_height": math.log(h + 1.0),
        "log_aspect": math.log((h + 1.0) / (w + 1.0)),
        "is_missing": float(f.label is None),
        f"type={f.type.value}": 1.0,
        f"cls={f.cls}": 1.0,
    }
    shared = pooled.get((f.frame, f.label), {}) if pooled is not None and f.label is not None else {}
    return {**generic, **(context or {}), **shared, **f.features}


class FeatureSpace(BaseModel):
    """The model's columns, in order."""

    model_config = ConfigDict(frozen=True)

    names: tuple[str, ...]

    @classmethod
    def fit(cls, findings: Sequence[Finding], *, min_count: int = 5) -> FeatureSpace:
        return cls._from_rows(_rows(findings), min_count)

    @classmethod
    def fit_matrix(
        cls, findings: Sequence[Finding], *, min_count: int = 5
    ) -> tuple[FeatureSpace, np.ndarray]:
        """The space fitted on ``findings`` and their matrix, computing each flag's features once."""
        rows = _rows(findings)
        space = cls._from_rows(rows, min_count)
        return space, space._matrix(rows)

    @classmethod
    def _from_rows(cls, rows: list[dict[str, float]], min_count: int) -> FeatureSpace:
        counts: Counter[str] = Counter(k for row in rows for k in row)
        extra = sorted(k for k, n in counts.items() if n >= min_count and k not in GENERIC)
        return cls(names=(*GENERIC, *extra))

    def matrix(self, findings: Sequence[Finding]) -> np.ndarray:
        return self._matrix(_rows(findings))

    def _matrix(self, rows: list[dict[str, float]]) -> np.ndarray:
        index = {name: i for i, name in enumerate(self.names)}
        out = np.full((len(rows), len(self.names)), np.nan, dtype=np.float64)
        one_hot = [i for i, n in enumerate(self.names) if n.startswith(("type=", "cls=", "flagged_as="))]
        out[:, one_hot] = 0.0
        for r, row in enumerate(rows):
            for name, value in row.items():
                col = index.get(name)
                if col is not None and math.isfinite(value):
                    out[r, col] = value
        return out


def _rows(findings: Sequence[Finding]) -> list[dict[str, float]]:
    """Every flag's features, with its label's pooled evidence and its frame context."""
    pooled = label_evidence(findings)
    context = frame_context(findings)
    return [flag_features(f, pooled, c) for f, c in zip(findings, context, strict=True)]
