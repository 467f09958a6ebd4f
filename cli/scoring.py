"""Which scorer a scan uses: a calibration given on the command line, else the spec's default
calibration when the data is of a format it was fitted on, else the spec's documented priors."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from gtqa.scoring.calibration import (
    CalibratedScorer,
    CalibrationModel,
    CalibrationSpecMismatchError,
    default_scorer,
)
from gtqa.scoring.scorer import PriorScorer, Scorer
from gtqa.spec import CompiledSpec

console = Console(stderr=True)


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
        console.print(f"[yellow]{choice.note}[/yellow]", soft_wrap=True)
    elif isinstance(choice.scorer, CalibratedScorer):
        console.print(choice.note, highlight=False)
    return choice.scorer


def _given(spec: CompiledSpec, path: Path, allow_spec_mismatch: bool) -> Scorer:
    try:
        model = CalibrationModel.load(path)
    except (OSError, ValueError) as exc:
        console.print(f"[red]error:[/red] cannot read calibration {path}: {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    scorer = CalibratedScorer(model, allow_spec_mismatch=allow_spec_mismatch)
    try:
        scorer.check_spec(spec)  # raises unless allowed; allowed, the scorer warns when it scores
    except CalibrationSpecMismatchError as exc:
        console.print(f"[red]error:[/red] {exc} (--allow-spec-mismatch)", soft_wrap=True)
        raise typer.Exit(2) from None
    return scorer
