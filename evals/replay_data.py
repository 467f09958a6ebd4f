"""The replay's inputs from an audited dataset (``evals.replay``): flags scored by the starting scorer
(the spec's priors, or a calibration file), their outcomes, groups, and a learner that refits the
calibration (``gtqa.scoring.calibration.fit_calibration``) on decided flags only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evals.calibration_data import AuditedSource, collect
from evals.replay import Array, Learner
from gtqa.domain import Finding
from gtqa.scoring.calibration import CalibratedScorer, CalibrationModel, apply_model, fit_calibration
from gtqa.spec import CompiledSpec


@dataclass(frozen=True)
class ReplayData:
    findings: list[Finding]  # every flag of the dataset (context features need whole frames)
    known: Array  # indices of the flags whose outcome the audits tell: the replay's flags
    y: Array
    groups: list[str]  # of the known flags
    start: Array  # the starting scorer's scores of the known flags


def replay_data(source: AuditedSource, spec: CompiledSpec, calibration: Path | None) -> ReplayData:
    data = collect([source], spec)
    known = np.array([i for i, t in enumerate(data.targets) if t is not None], dtype=np.intp)
    y = np.array([data.targets[i] for i in known], dtype=np.float64)
    scored = data.findings
    if calibration is not None:
        model = CalibrationModel.load(calibration)
        CalibratedScorer(model).check_spec(spec)
        scored = apply_model(model, data.findings)
    start = np.array([scored[i].score for i in known], dtype=np.float64)
    return ReplayData(data.findings, known, y, [data.groups[i] for i in known], start)


def calibration_learner(data: ReplayData, spec: CompiledSpec, *, seed: int = 0) -> Learner:
    """Refit on the decided flags (indices into the known flags), weighted; the candidate scores every
    known flag, flags of types it never saw keeping their starting score."""
    n = len(data.findings)
    targets_of = data.known

    def learn(fit: Array, y_fit: Array, w_fit: Array) -> Array:
        targets: list[float | None] = [None] * n
        weights = [1.0] * n
        for i, yi, wi in zip(targets_of[fit], y_fit, w_fit, strict=True):
            targets[int(i)], weights[int(i)] = float(yi), float(wi)
        groups = ["?"] * n
        for j, g in zip(targets_of, data.groups, strict=True):
            groups[int(j)] = g
        folds = min(5, len({data.groups[int(k)] for k in fit}))
        model = fit_calibration(data.findings, targets, groups, spec, folds=folds, seed=seed, weights=weights)
        p = model.predict([data.findings[int(i)] for i in targets_of])
        return np.where(np.isnan(p), data.start, p)

    return learn
