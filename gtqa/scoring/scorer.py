"""A scorer turns the checks' raw findings into one calibrated flag per defect.

``PriorScorer`` uses the spec's documented priors; ``gtqa.scoring.calibration`` fits a model on past
audits that replaces them. Both fuse first (one flag per label and type, merged missing proposals),
and both end by saying which flags follow a more probable one on the same object (``mark_followers``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gtqa.domain import Finding
from gtqa.scoring.fuse import fuse, mark_followers
from gtqa.scoring.priors import apply_priors
from gtqa.spec import CompiledSpec


class Scorer(Protocol):
    name: str

    def score(self, raw: Sequence[Finding], spec: CompiledSpec) -> list[Finding]: ...


def fused_priors(raw: Sequence[Finding], spec: CompiledSpec) -> list[Finding]:
    """The checks' findings with the spec's priors, fused: every scorer's starting point."""
    return fuse(apply_priors(raw, spec), spec_hash=spec.hash)


class PriorScorer:
    name = "priors"

    def score(self, raw: Sequence[Finding], spec: CompiledSpec) -> list[Finding]:
        return mark_followers(fused_priors(raw, spec))
