"""``gtqa evals replay``: replay a learning review queue on past audits (``evals.replay``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from cli._common import PredictionsOpt, data_spec_or_exit, predictions_per_dataset
from cli.voice import brief, fail, fail_input, note, stdout
from gtqa.domain import InputFormatError


def replay_cmd(
    dataset: Annotated[Path, typer.Argument(help="the audited dataset")],
    audits: Annotated[Path, typer.Option("--audits", "-a", help="audits: JSONL, re-check .csv, manifest")],
    output: Annotated[Path, typer.Option("--out", "-o", help="the rounds as JSON")],
    predictions: PredictionsOpt = None,
    format: Annotated[str | None, typer.Option("--format", "-f", help="dataset format")] = None,
    calibration: Annotated[
        Path | None, typer.Option(help="starting calibration file (default: the spec's priors)")
    ] = None,
    batch: Annotated[int, typer.Option(min=1, help="flags the auditors decide per round")] = 100,
    rounds: Annotated[int, typer.Option(min=1, help="rounds to replay")] = 4,
    explore: Annotated[
        float, typer.Option(min=0.0, max=0.9, help="share of each batch drawn at random (0: no correction)")
    ] = 0.1,
    gate: Annotated[
        str,
        typer.Option(
            help="crossfit: judge every decided flag out-of-fold; holdout: a fixed share; none: promote all"
        ),
    ] = "crossfit",
    folds: Annotated[int, typer.Option(min=2, help="cross-fitting folds of the gate")] = 5,
    holdout: Annotated[
        float, typer.Option(min=0.05, max=0.9, help="share of frames held out (--gate holdout)")
    ] = 0.3,
    margin: Annotated[float, typer.Option(min=0.0, help="AP a candidate may lose (CI lower bound)")] = 0.02,
    min_fit: Annotated[int, typer.Option(help="fewest decided fit flags to refit on")] = 50,
    max_weight: Annotated[
        float, typer.Option(min=1.0, help="cap of an explored flag's inverse-inclusion weight")
    ] = 20.0,
    exhaustive: Annotated[bool, typer.Option(help="JSONL audits judged whole frames")] = False,
    seed: Annotated[int, typer.Option(help="seed of the split, the exploration and the fits")] = 0,
    spec_path: Annotated[
        Path | None,
        typer.Option(
            "--spec", help="QA spec (default: GTQA_SPEC_PATH, else the shipped spec for the data's format)"
        ),
    ] = None,
    start_dataset: Annotated[
        list[Path] | None,
        typer.Option(
            help="a dataset the --calibration was fitted on (repeatable, in gtqa calibrate's order)"
        ),
    ] = None,
    start_audits: Annotated[
        list[Path] | None, typer.Option(help="its audits (one per --start-dataset)")
    ] = None,
    start_predictions: Annotated[
        list[str] | None, typer.Option(help="[N:]PATH: predictions of the N-th --start-dataset")
    ] = None,
    start_format: Annotated[list[str] | None, typer.Option(help="format of each --start-dataset")] = None,
    start_weight: Annotated[
        float, typer.Option(min=0.0, help="weight of each of the start's training flags in a refit")
    ] = 1.0,
) -> None:
    """Replay refit-gate-promote-re-rank on past audits: per round, the precision of the learning and
    the static queue's decisions and the AP of the remaining queue. With --start-dataset (the sources
    the --calibration was fitted on, checked against its training hash) each refit also fits on them."""
    from cli.calibrate import parse_sources
    from evals.calibration_data import AuditedSource
    from evals.replay import ReplayConfig, replay
    from evals.replay_data import calibration_learner, replay_data
    from gtqa.formats import detect_format
    from gtqa.scoring.calibration import CalibrationSpecMismatchError, CalibrationVersionError

    if gate not in ("crossfit", "holdout", "none"):
        raise typer.BadParameter(f"--gate {gate}: crossfit, holdout or none")
    try:
        spec = data_spec_or_exit(spec_path, format or detect_format(dataset))
    except InputFormatError as exc:
        raise fail_input(exc) from None
    preds = predictions_per_dataset(predictions or [], 1)[0]
    starts = [
        AuditedSource(d, a, p, f, exhaustive)
        for d, a, p, f in parse_sources(
            start_dataset or [], start_audits or [], start_predictions or [], start_format or []
        )
    ]
    try:
        source = AuditedSource(dataset, audits, preds, format, exhaustive)
        data = replay_data(source, spec, calibration, starts)
    except InputFormatError as exc:
        raise fail_input(exc) from None
    except (OSError, CalibrationSpecMismatchError, CalibrationVersionError, ValueError) as exc:
        raise fail(brief(exc)) from None
    note(f"{len(data.y)} flags with a known outcome, {int(data.y.sum())} real defects")
    if data.warm is not None:
        warm = [t for t in data.warm.targets if t is not None]
        note(f"the start's training data: {len(warm)} audited flags, {int(sum(warm))} real defects (hash ok)")
    config = ReplayConfig(
        batch=batch, rounds=rounds, explore=explore, gate=_GATES[gate],
        folds=folds, holdout=holdout, margin=margin, min_fit=min_fit, max_weight=max_weight,
        seed=seed,
    )  # fmt: skip
    learner = calibration_learner(data, spec, seed=seed, start_weight=start_weight)
    result = replay(data.start, data.y, data.groups, learner, config)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(result.model_dump_json(indent=1) + "\n", encoding="utf-8")
    table = Table("round", "P learning", "P static", "AP rest learning", "AP rest static", "promoted", "why")
    for r in result.rounds:
        table.add_row(
            str(r.round),
            f"{r.precision_learning:.3f}",
            f"{r.precision_static:.3f}",
            _f(r.ap_remaining_learning),
            _f(r.ap_remaining_static),
            "yes" if r.promoted else "no",
            r.reason,
        )
    stdout().print(table)
    note(f"wrote {output}")


_GATES: dict[str, Literal["crossfit", "holdout", "none"]] = {g: g for g in ("crossfit", "holdout", "none")}


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"
