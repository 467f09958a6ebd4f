"""``gtqa evals …``: defect injection and scoring (``evals.inject``), what to audit next, and the eval
harness (``run``, ``compare``, ``runs``: ``cli.eval_runs``, ``evals.harness``). Evals are not tests:
they measure the reviewer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli._common import spec_or_exit
from cli.eval_runs import register
from cli.judge_accuracy import register as register_judge_accuracy
from cli.replay import replay_cmd
from cli.voice import brief, fail, fail_input, fail_os, note, stdout, warn
from evals.inject import InjectionError, inject_folder
from evals.inject.manifest import Family, parse_families, read_manifest
from evals.inject.score import InjectedScore, score_injected
from evals.recheck import RecheckScore, read_recheck, recheck_errors, score_recheck
from evals.report import print_injected, print_recheck
from gtqa.domain import Dataset, Finding, InputFormatError
from gtqa.formats import known_formats, load_dataset
from gtqa.formats.findings import read_findings
from gtqa.spec import CompiledSpec

evals_app = typer.Typer(
    name="evals",
    help="Inject defects into a copy of a dataset, score findings against injected or audited defects, and "
    "replay the reviewer on past audits to compare spec, prompt and calibration changes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

FormatOpt = Annotated[
    str | None, typer.Option("--format", "-f", help=f"one of: {known_formats()} (default: recognised)")
]
SpecOpt = Annotated[Path | None, typer.Option(help="QA spec (default: GTQA_SPEC_PATH, else specs/kitti.md)")]


def _dataset(path: Path, fmt: str | None) -> Dataset:
    try:
        return load_dataset(path, fmt)
    except InputFormatError as exc:
        raise fail_input(exc) from None


def _findings(path: Path) -> list[Finding]:
    try:
        return read_findings(path)
    except InputFormatError as exc:
        raise fail_input(exc) from None
    except OSError as exc:
        raise fail_os(exc) from None


@evals_app.command("inject")
def inject_cmd(
    dataset: Annotated[Path, typer.Argument(help="the dataset to corrupt (read only)")],
    output: Annotated[Path, typer.Option("--out", "-o", help="folder for the corrupted copy")],
    format: FormatOpt = None,
    rate: Annotated[float, typer.Option(help="share of reviewed objects to corrupt")] = 0.08,
    seed: Annotated[int, typer.Option(help="random seed: the same seed gives the same copy")] = 0,
    families: Annotated[
        list[str] | None,
        typer.Option(
            "--families", help=f"families to inject (repeat or comma-separate): {', '.join(Family)}"
        ),
    ] = None,
    spec: SpecOpt = None,
    overwrite: Annotated[bool, typer.Option(help="replace an earlier injected copy in --out")] = False,
) -> None:
    """Write a corrupted copy of DATASET and OUT/manifest.json listing every injected defect."""
    try:
        chosen = parse_families(families)
        manifest = inject_folder(
            dataset,
            output,
            spec_or_exit(spec),
            fmt=format,
            rate=rate,
            seed=seed,
            families=chosen,
            overwrite=overwrite,
        )
    except InputFormatError as exc:
        raise fail_input(exc) from None
    except (InjectionError, ValueError) as exc:
        raise fail(str(exc)) from None
    table = Table(title=f"{len(manifest.entries)} defects in {output} (seed {seed}, rate {rate:g})")
    for column in ("family", "issue type", "requested", "injected"):
        table.add_column(column)
    for family, count in manifest.families.items():
        table.add_row(family.value, family.issue_type.value, str(count.requested), str(count.injected))
    for family, why in manifest.unsupported.items():
        table.add_row(family.value, family.issue_type.value, "-", f"skipped: {why}")
    stdout().print(table)


@evals_app.command("score")
def score_cmd(
    findings: Annotated[Path, typer.Argument(help="findings JSONL (gtqa scan --out)")],
    dataset: Annotated[Path, typer.Option("--dataset", "-d", help="the dataset the findings are about")],
    manifest: Annotated[Path | None, typer.Option(help="manifest.json of an injected copy")] = None,
    recheck: Annotated[
        Path | None, typer.Option(help="re-check CSV of a real audit (kitti_rechecked)")
    ] = None,
    format: FormatOpt = None,
    spec: SpecOpt = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="also write the scores as JSON")] = None,
) -> None:
    """Score FINDINGS against an injected manifest (--manifest) or a real re-check (--recheck)."""
    if (manifest is None) == (recheck is None):
        raise fail("give exactly one of --manifest or --recheck")
    flags = _findings(findings)
    data = _dataset(dataset, format)
    if manifest is not None:
        result: InjectedScore | RecheckScore = _score_manifest(flags, manifest, data, spec_or_exit(spec))
    else:
        assert recheck is not None
        try:
            errors = recheck_errors(read_recheck(recheck), data)
        except InputFormatError as exc:
            raise fail_input(exc) from None
        except OSError as exc:
            raise fail_os(exc) from None
        result = score_recheck(flags, errors)
        print_recheck(stdout(), {"findings": result})
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")


def _score_manifest(
    flags: list[Finding], manifest_path: Path, data: Dataset, spec: CompiledSpec
) -> InjectedScore:
    try:
        manifest = read_manifest(manifest_path)
    except OSError as exc:
        raise fail_os(exc) from None
    except ValueError as exc:
        raise fail(f"{manifest_path}: not a manifest of gtqa evals inject: {brief(exc)}") from None
    ids = {lab.id for lab in data.labels()}
    unresolved = [
        e.id for e in manifest.entries for i in (e.label, *e.related) if i is not None and i not in ids
    ]
    if unresolved:
        warn(f"{len(unresolved)} manifest ids are not labels of {data.root}: wrong --dataset?")
    n_reviewed = sum(spec.is_reviewed(lab.cls) for lab in data.labels())
    result = score_injected(flags, manifest, n_reviewed)
    print_injected(stdout(), result)
    return result


register(evals_app)  # run, compare, runs: the eval harness (cli/eval_runs.py)
register_judge_accuracy(evals_app)  # judge-accuracy (cli/judge_accuracy.py)
evals_app.command("replay")(replay_cmd)  # the learning queue replayed on past audits (cli/replay.py)


@evals_app.command("suggest")
def suggest_cmd(
    findings: Annotated[Path, typer.Argument(help="findings JSONL (gtqa scan --out)")],
    dataset: Annotated[Path, typer.Option("--dataset", "-d", help="the dataset the findings are about")],
    output: Annotated[Path, typer.Option("--out", "-o", help="suggestions JSONL to write")],
    audits: Annotated[Path | None, typer.Option(help="audits already made (JSONL or re-check CSV)")] = None,
    uncertain: Annotated[int, typer.Option(help="how many uncertain flags to suggest")] = 50,
    spot: Annotated[int, typer.Option(help="how many unflagged labels to spot-check")] = 50,
    seed: Annotated[int, typer.Option(help="seed of the spot-check sample")] = 0,
    format: FormatOpt = None,
    spec: SpecOpt = None,
) -> None:
    """Suggest what to audit next: uncertain flags (most informative) and a random spot-check sample."""
    from evals.suggest import spot_checks, uncertain_flags
    from gtqa.formats.audits import load_audits

    data = _dataset(dataset, format)
    flags = _findings(findings)
    try:
        done = load_audits(audits, data) if audits else []
    except InputFormatError as exc:
        raise fail_input(exc) from None
    except OSError as exc:
        raise fail_os(exc) from None
    chosen = uncertain_flags(flags, done, uncertain) + spot_checks(
        data, flags, done, spec_or_exit(spec), spot, seed
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8") as fh:
        for s in chosen:
            fh.write(json.dumps(s.record()) + "\n")
    note(f"wrote {len(chosen)} suggestions to {output}")
