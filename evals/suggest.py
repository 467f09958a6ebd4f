"""Which flags to audit next, and which unflagged labels to spot-check.

* **Uncertain flags**: the unaudited flags whose calibrated probability is closest to 0.5 (highest binary
  entropy) teach the calibration most per audit; ties go to the higher review priority. One per label.
* **Spot checks**: a uniform random sample (seeded) of labels no flag touches. Auditing them estimates
  the defects the reviewer misses: with ``k`` defects found in ``n`` spot-checked labels out of ``N``
  unflagged ones, about ``N * k / n`` defects hide among the unflagged labels (an unbiased estimate,
  because the sample is uniform).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gtqa.domain import Audit, Box2D, Dataset, Finding
from gtqa.spec import CompiledSpec


@dataclass(frozen=True)
class Suggestion:
    kind: str  # "uncertain" | "spot_check"
    frame: str
    label: str | None
    box: tuple[float, float, float, float]
    score: float | None
    reason: str

    def record(self) -> dict[str, object]:
        return {"kind": self.kind, "frame": self.frame, "label": self.label, "box": list(self.box),
                "score": self.score, "reason": self.reason}  # fmt: skip


def entropy(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


def uncertain_flags(findings: Sequence[Finding], audits: Sequence[Audit], n: int) -> list[Suggestion]:
    audited = {a.label for a in audits if a.label is not None}
    seen: set[tuple[str, str | None]] = set()
    ranked = sorted(findings, key=lambda f: (-entropy(f.score), -f.score))
    out: list[Suggestion] = []
    for f in ranked:
        key = (f.frame, f.label if f.label is not None else str(f.box))
        if (f.label is not None and f.label in audited) or key in seen or len(out) >= n:
            continue
        seen.add(key)
        out.append(
            Suggestion(
                "uncertain",
                f.frame,
                f.label,
                f.box,
                f.score,
                f"p={f.score:.2f} ({f.type.value}, {f.check}): an audit here teaches the calibration most",
            )
        )
    return out


def spot_checks(
    dataset: Dataset,
    findings: Sequence[Finding],
    audits: Sequence[Audit],
    spec: CompiledSpec,
    n: int,
    seed: int,
) -> list[Suggestion]:
    flagged = {f.label for f in findings if f.label is not None} | {a.label for a in audits if a.label}
    pool = [lab for lab in dataset.labels() if spec.is_reviewed(lab.cls) and lab.id not in flagged]
    rng = np.random.default_rng(seed)
    picks: list[int] = sorted(int(i) for i in rng.choice(len(pool), size=min(n, len(pool)), replace=False))
    reason = f"random unflagged label ({len(pool)} in the pool): estimates what the reviewer misses"
    return [
        Suggestion("spot_check", pool[i].frame, pool[i].id, _box(pool[i].box), None, reason) for i in picks
    ]


def _box(box: Box2D) -> tuple[float, float, float, float]:
    return (box.x1, box.y1, box.x2, box.y2)
