"""The replay's inputs from an audited dataset (``evals.replay``): flags scored by the starting scorer
(the spec's priors, or a calibration file), their outcomes, groups, and a learner that refits the
calibration (``gtqa.scoring.calibration.fit_calibration``) on the decided flags, together with the
starting calibration's own training data when it can be reached.

Reaching that data: a calibration file does not carry its training flags, only a hash of them
(``training_hash``: the feature matrix and targets of its audited flags). The refit can use them only
when the audited sources it was fitted on are given again (the ``gtqa calibrate`` sources, in the same
order, e.g. those of ``scripts/build_calibration.sh``); they are collected again and accepted only if
they hash to the file's ``training_hash``, so the warm start is the calibration's data and nothing else.
A service holding a calibration file alone cannot do this; it needs the sources (or the audits stored
with them) kept beside the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evals.calibration_data import AuditedSource, CalibrationData, collect
from evals.replay import Array, Learner
from gtqa.domain import Finding
from gtqa.scoring.calibration import CalibratedScorer, CalibrationModel, apply_model, fit_calibration
from gtqa.scoring.features import FeatureSpace
from gtqa.spec import CompiledSpec, content_hash


class TrainingDataMismatchError(ValueError):
    """The sources given as a calibration's training data are not what it was fitted on."""


@dataclass(frozen=True)
class ReplayData:
    findings: list[Finding]  # every flag of the dataset (context features need whole frames)
    known: Array  # indices of the flags whose outcome the audits tell: the replay's flags
    y: Array
    groups: list[str]  # of the known flags
    start: Array  # the starting scorer's scores of the known flags
    warm: CalibrationData | None = None  # the starting calibration's training data, checked


def replay_data(
    source: AuditedSource,
    spec: CompiledSpec,
    calibration: Path | None,
    start_sources: Sequence[AuditedSource] = (),
) -> ReplayData:
    """``start_sources``: the audited data ``calibration`` was fitted on (optional; needs a calibration)."""
    if start_sources and calibration is None:
        raise ValueError("training data of the start was given, but the start is the spec's priors")
    data = collect([source], spec)
    known = np.array([i for i, t in enumerate(data.targets) if t is not None], dtype=np.intp)
    y = np.array([data.targets[i] for i in known], dtype=np.float64)
    scored = data.findings
    warm = None
    if calibration is not None:
        model = CalibrationModel.load(calibration)
        CalibratedScorer(model).check_spec(spec)
        scored = apply_model(model, data.findings)
        if start_sources:
            warm = collect(start_sources, spec)
            check_training_data(model, warm, calibration)
    start = np.array([scored[i].score for i in known], dtype=np.float64)
    return ReplayData(data.findings, known, y, [data.groups[i] for i in known], start, warm)


def training_hash(data: CalibrationData) -> str:
    """The hash ``fit_calibration`` records for an unweighted fit on ``data``."""
    known = [i for i, t in enumerate(data.targets) if t is not None]
    _, matrix = FeatureSpace.fit_matrix(data.findings)
    y = [data.targets[i] for i in known]
    return content_hash([matrix[known].round(6).tolist(), y])


def check_training_data(model: CalibrationModel, data: CalibrationData, where: Path) -> None:
    if training_hash(data) != model.training_hash:
        raise TrainingDataMismatchError(
            f"{where}: the start data given is not what this calibration was fitted on (its training hash "
            "differs): give the same datasets, audits, predictions and formats, in the same order, as "
            "gtqa calibrate had (a weighted fit cannot be matched)"
        )


def calibration_learner(
    data: ReplayData, spec: CompiledSpec, *, seed: int = 0, start_weight: float = 1.0
) -> Learner:
    """Refit on the decided flags (indices into the known flags), weighted, plus the starting
    calibration's training flags (each weighing ``start_weight``) when ``data.warm`` holds them; the
    candidate scores every known flag, flags of types it never saw keeping their starting score.
    The warm flags join every fit and are never scored: the gate judges on the replay's flags only."""
    warm = data.warm or CalibrationData()
    n_warm = len(warm.findings)
    findings = [*warm.findings, *data.findings]
    rows = n_warm + data.known  # the known flags' rows in ``findings``
    base_targets = [*warm.targets, *([None] * len(data.findings))]
    base_weights = [start_weight] * n_warm + [1.0] * len(data.findings)
    groups = [f"start:{g}" for g in warm.groups] + ["?"] * len(data.findings)
    for j, g in zip(rows, data.groups, strict=True):
        groups[int(j)] = g

    def learn(fit: Array, y_fit: Array, w_fit: Array) -> Array:
        targets, weights = list(base_targets), list(base_weights)
        for i, yi, wi in zip(rows[fit], y_fit, w_fit, strict=True):
            targets[int(i)], weights[int(i)] = float(yi), float(wi)
        fitted = {groups[int(k)] for k in rows[fit]} | set(groups[:n_warm])
        model = fit_calibration(
            findings, targets, groups, spec, folds=min(5, len(fitted)), seed=seed, weights=weights
        )
        p = model.predict([findings[int(i)] for i in rows])
        return np.where(np.isnan(p), data.start, p)

    return learn
