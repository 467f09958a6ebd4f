"""Held-out splits of an eval dataset, and a calibration fitted on one half to be evaluated on the other.

A calibration measured on the audits it was fitted on flatters itself; ``split_sequences`` cuts the
audited sequences in two by a hash of their id (stable across machines and runs, whole sequences kept
together), ``fit_on`` fits ``gtqa.scoring.calibration`` on one half with the reviewer's heuristic flags,
and ``gtqa evals run --frames OTHER_HALF --calibration FILE`` measures it on the other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from agents.run import areview
from evals.harness.dataset import EvalDataset, audited_frames
from evals.harness.records import sequence_of
from gtqa.domain import Dataset
from gtqa.scoring.calibration import CalibrationModel, fit_calibration
from gtqa.scoring.targets import audit_targets
from gtqa.spec import CompiledSpec


def split_sequences(frames: Iterable[str], *, salt: str = "gtqa-evals") -> tuple[list[str], list[str]]:
    """Frames in two halves, by a hash of each frame's sequence (about half each)."""
    first: list[str] = []
    second: list[str] = []
    for frame in sorted(frames):
        digest = hashlib.sha256(f"{salt}:{sequence_of(frame)}".encode()).digest()
        (first if digest[0] % 2 == 0 else second).append(frame)
    return first, second


async def fit_on(
    dataset: Dataset,
    evals: EvalDataset,
    spec: CompiledSpec,
    *,
    checks: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    seed: int = 0,
) -> CalibrationModel:
    """A calibration fitted on the heuristic flags of ``evals``' audited frames (no judge)."""
    subset = audited_frames(dataset, evals)
    result = await areview(subset, spec, checks=checks, exclude=exclude)
    targets = audit_targets(result.findings, evals.audits, exhaustive_frames=evals.exhaustive)
    groups = [sequence_of(f.frame) for f in result.findings]
    return fit_calibration(result.findings, targets, groups, spec, seed=seed)
