"""``gtqa calibrate``: fit the calibration model on audited datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gtqa.domain import InputFormatError

console = Console(stderr=True)


def parse_sources(
    datasets: list[Path], audits: list[Path], predictions: list[str], formats: list[str]
) -> list[tuple[Path, Path, tuple[Path, ...], str | None]]:
    """Pair ``--dataset`` and ``--audits`` by position; ``--predictions N:PATH`` belongs to the N-th
    dataset (1-based; a bare PATH to the first)."""
    if len(datasets) != len(audits):
        raise typer.BadParameter(f"{len(datasets)} --dataset but {len(audits)} --audits: give one each")
    preds: dict[int, list[Path]] = {}
    for value in predictions:
        head, sep, tail = value.partition(":")
        n, path = (int(head), tail) if sep and head.isdigit() else (1, value)
        if not 1 <= n <= len(datasets):
            raise typer.BadParameter(f"--predictions {value}: there is no dataset number {n}")
        preds.setdefault(n, []).append(Path(path))
    fmts = formats + [""] * (len(datasets) - len(formats))
    return [
        (d, a, tuple(preds.get(i + 1, [])), fmts[i] or None)
        for i, (d, a) in enumerate(zip(datasets, audits, strict=True))
    ]


def calibrate(
    dataset: Annotated[list[Path], typer.Option("--dataset", "-d", help="audited dataset (repeatable)")],
    audits: Annotated[
        list[Path], typer.Option("--audits", "-a", help="its audits: JSONL, re-check .csv or manifest.json")
    ],
    output: Annotated[Path, typer.Option("--out", "-o", help="calibration model file (JSON) to write")],
    predictions: Annotated[
        list[str] | None,
        typer.Option("--predictions", "-p", help="detector output; N:PATH for the N-th dataset (repeatable)"),
    ] = None,
    formats: Annotated[
        list[str] | None, typer.Option("--format", "-f", help="format of each dataset")
    ] = None,
    spec_path: Annotated[
        Path | None, typer.Option("--spec", help="QA spec (default: specs/kitti.md)")
    ] = None,
    exhaustive: Annotated[
        bool, typer.Option(help="JSONL audits judged every object of their frames")
    ] = False,
    folds: Annotated[int, typer.Option(help="cross-validation folds for the probability maps")] = 5,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Fit a calibration on audited datasets: flags' evidence -> probability of a real defect."""
    from evals.calibration_data import AuditedSource, collect
    from gtqa.scoring.calibration import fit_calibration
    from gtqa.spec import SpecError, load_spec

    try:
        spec = load_spec(str(spec_path) if spec_path else None)
    except SpecError as exc:
        console.print(f"[red]invalid spec[/red]\n{exc}")
        raise typer.Exit(2) from None
    sources = [
        AuditedSource(d, a, p, f, exhaustive)
        for d, a, p, f in parse_sources(dataset, audits, predictions or [], formats or [])
    ]
    try:
        data = collect(sources, spec)
    except InputFormatError as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    known = [t for t in data.targets if t is not None]
    console.print(
        f"{len(data.findings)} flags, {len(known)} with a known outcome, {int(sum(known))} real defects"
    )
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
    console.print(
        f"wrote {output}: ECE (out of fold) {v['ece_oof']:.3f}, Brier {v['brier_oof']:.3f}, "
        f"types {', '.join(t.value for t in model.types)}",
        highlight=False,
    )
