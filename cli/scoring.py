"""Which scorer a scan uses: a calibration given on the command line, else the spec's default
calibration when the data is of a format it was fitted on, else the spec's documented priors."""

from __future__ import annotations

from pathlib import Path

from cli.voice import brief, fail, fail_os, note, warn
from gtqa.scoring.calibration import (
    CalibratedScorer,
    CalibrationModel,
    CalibrationSpecMismatchError,
    default_scorer,
)
from gtqa.scoring.scorer import PriorScorer, Scorer
from gtqa.spec import CompiledSpec


def choose_scorer(
    spec: CompiledSpec,
    data_format: str,
    calibration: Path | None,
    *,
    use_default: bool,
    allow_spec_mismatch: bool,
) -> Scorer:
    if calibration is not None:
        return _given(spec, calibration, allow_spec_mismatch)
    if not use_default:
        return PriorScorer()
    choice = default_scorer(spec, data_format)
    if choice.stale:
        warn(choice.note)
    elif isinstance(choice.scorer, CalibratedScorer):
        note(choice.note)
    return choice.scorer


def _given(spec: CompiledSpec, path: Path, allow_spec_mismatch: bool) -> Scorer:
    try:
        model = CalibrationModel.load(path)
    except OSError as exc:
        raise fail_os(exc) from None
    except ValueError as exc:
        raise fail(f"{path}: not a calibration file of gtqa calibrate: {brief(exc)}") from None
    scorer = CalibratedScorer(model, allow_spec_mismatch=allow_spec_mismatch)
    try:
        scorer.check_spec(spec)  # raises unless allowed; allowed, the scorer warns when it scores
    except CalibrationSpecMismatchError as exc:
        raise fail(f"{path}: {exc} (--allow-spec-mismatch)") from None
    return scorer
