"""``gtqa calibrate``: fit the calibration model on audited datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli._common import PredictionsOpt, predictions_per_dataset, spec_or_exit
from cli.voice import fail_input, fail_os, note
from gtqa.domain import InputFormatError


def parse_sources(
    datasets: list[Path], audits: list[Path], predictions: list[str], formats: list[str]
) -> list[tuple[Path, Path, tuple[Path, ...], str | None]]:
    """Pair ``--dataset`` and ``--audits`` by position; ``--predictions [N:]PATH`` belongs to the N-th
    dataset (``cli._common.predictions_per_dataset``)."""
    if len(datasets) != len(audits):
        raise typer.BadParameter(f"{len(datasets)} --dataset but {len(audits)} --audits: give one each")
    preds = predictions_per_dataset(predictions, len(datasets))
    fmts = formats + [""] * (len(datasets) - len(formats))
    return [(d, a, preds[i], fmts[i] or None) for i, (d, a) in enumerate(zip(datasets, audits, strict=True))]


def calibrate(
    dataset: Annotated[list[Path], typer.Option("--dataset", "-d", help="audited dataset (repeatable)")],
    audits: Annotated[
        list[Path], typer.Option("--audits", "-a", help="its audits: JSONL, re-check .csv or manifest.json")
    ],
    output: Annotated[Path, typer.Option("--out", "-o", help="calibration model file (JSON) to write")],
    predictions: PredictionsOpt = None,
    formats: Annotated[
        list[str] | None,
        typer.Option("--format", "-f", help="format of each dataset, in order (default: recognised)"),
    ] = None,
    spec_path: Annotated[
        Path | None, typer.Option("--spec", help="QA spec (default: GTQA_SPEC_PATH, else specs/kitti.md)")
    ] = None,
    exhaustive: Annotated[
        bool,
        typer.Option(
            "--exhaustive/--no-exhaustive",
            help="the JSONL audits judged every object of their frames (a re-check CSV and a manifest "
            "always do)",
        ),
    ] = False,
    folds: Annotated[int, typer.Option(help="cross-validation folds for the probability maps")] = 5,
    seed: Annotated[int, typer.Option(help="seed of the folds and of the model's fit")] = 0,
) -> None:
    """Fit a calibration on audited datasets: flags' evidence -> probability of a real defect."""
    from evals.calibration_data import AuditedSource, collect
    from gtqa.scoring.calibration import fit_calibration

    spec = spec_or_exit(spec_path)
    sources = [
        AuditedSource(d, a, p, f, exhaustive)
        for d, a, p, f in parse_sources(dataset, audits, predictions or [], formats or [])
    ]
    try:
        data = collect(sources, spec)
    except InputFormatError as exc:
        raise fail_input(exc) from None
    except OSError as exc:  # a missing or unreadable audits file: the user's to mend, not a traceback
        raise fail_os(exc) from None
    known = [t for t in data.targets if t is not None]
    note(f"{len(data.findings)} flags, {len(known)} with a known outcome, {int(sum(known))} real defects")
    model = fit_calibration(
        data.findings,
        data.targets,
        data.groups,
        spec,
        folds=folds,
        seed=seed,
        formats=[d.format for d in data.datasets],
        detectors=[p.detector for d in data.datasets for f in d.frames for p in f.predictions],
    )
    model.save(output)
    v = model.validation
    note(
        f"wrote {output}: ECE (out of fold) {v['ece_oof']:.3f}, Brier {v['brier_oof']:.3f}, "
        f"types {', '.join(t.value for t in model.types)}"
    )
