"""The replay's warm start (evals.replay_data): the starting calibration's training data is accepted only
when it hashes to the calibration's training hash, and every refit fits on it too."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evals.calibration_data import CalibrationData
from evals.replay_data import (
    ReplayData,
    TrainingDataMismatchError,
    calibration_learner,
    check_training_data,
)
from gtqa.domain import Finding, IssueType
from gtqa.scoring.calibration import fit_calibration
from gtqa.spec import load_spec


def _data(n: int, seed: int, prefix: str) -> CalibrationData:
    """Flags whose evidence ``x`` raises the defect probability (sigmoid(6x - 4)), four to a frame."""
    rng = np.random.default_rng(seed)
    data = CalibrationData()
    for i in range(n):
        x = float(rng.uniform(0, 1))
        frame = f"{prefix}{i // 4}"
        data.findings.append(
            Finding(
                frame=frame,
                label=f"{frame}:{i}",
                type=IssueType.bad_box,
                score=0.3,
                raw=0.3,
                box=(0, 0, 10, 10),
                check="c",
                message="",
                features={"c.x": x, "c.noise": float(rng.normal())},
            )
        )
        data.targets.append(float(rng.uniform() < 1.0 / (1.0 + np.exp(-(6 * x - 4)))))
        data.groups.append(frame)
    return data


def _replay_data(data: CalibrationData, warm: CalibrationData | None) -> ReplayData:
    known = np.arange(len(data.findings), dtype=np.intp)
    y = np.array(data.targets, dtype=np.float64)
    return ReplayData(data.findings, known, y, data.groups, np.full(len(y), 0.3), warm)


def test_the_start_data_is_accepted_only_when_it_is_what_the_calibration_was_fitted_on(
    tmp_path: Path,
) -> None:
    spec = load_spec()
    warm = _data(240, 0, "w")
    model = fit_calibration(warm.findings, warm.targets, warm.groups, spec, folds=3, rounds=20)
    check_training_data(model, warm, tmp_path / "start.json")
    other = _data(240, 0, "w")
    other.targets[0] = 1.0 - float(other.targets[0] or 0.0)  # one audit decided otherwise
    with pytest.raises(TrainingDataMismatchError, match=r"start\.json"):
        check_training_data(model, other, tmp_path / "start.json")


def test_a_refit_fits_on_the_start_data_too() -> None:
    """Decided flags all false alarms: alone they cannot be fitted; with the start's data they can, and
    the refit ranks the replay's flags by the evidence the start's data taught."""
    spec = load_spec()
    data, warm = _data(200, 1, "r"), _data(400, 2, "w")
    y = np.array(data.targets, dtype=np.float64)
    negatives = np.flatnonzero(y == 0)[:30]
    cold = calibration_learner(_replay_data(data, None), spec)
    with pytest.raises(ValueError, match="both real defects and false alarms"):
        cold(negatives, y[negatives], np.ones(len(negatives)))
    warmed = calibration_learner(_replay_data(data, warm), spec)
    scores = warmed(negatives, y[negatives], np.ones(len(negatives)))
    x = np.array([f.features["c.x"] for f in data.findings])
    assert np.corrcoef(scores, x)[0, 1] > 0.5
