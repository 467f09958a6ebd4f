"""``gtqa scan`` (review a dataset against the QA spec, write its flags), ``gtqa checks`` and ``gtqa
spec``. Long work shows a progress bar on standard error; input errors name the file and line
(``cli.voice``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli._common import PredictionsOpt, data_spec_or_exit, predictions_per_dataset, spec_or_exit
from cli.scoring import choose_scorer
from cli.voice import err, fail, fail_input, note, report_problems, stdout, warn
from gtqa.checks.registry import UnknownCheckError
from gtqa.domain import Dataset, Finding, InputFormatError, dropped_summary
from gtqa.formats import known_formats, load_dataset, unreadable_sources
from gtqa.formats.findings import write_findings
from gtqa.review import plan_checks
from gtqa.settings import get_settings
from gtqa.spec import CompiledSpec

if TYPE_CHECKING:
    from agents.run import AgentResult
    from gtqa.scoring.scorer import Scorer


def load_or_exit(
    path: Path, fmt: str | None, predictions: Sequence[Path], *, strict: bool = False
) -> Dataset:
    """The dataset (its skipped records reported, then one line counting what was dropped), or exit 2
    naming the file and line at fault; ``strict``, exit 2 as well when anything was dropped."""
    try:
        dataset = load_dataset(path, fmt, list(predictions))
    except InputFormatError as exc:
        raise fail_input(exc) from None
    report_problems(dataset.problems)
    unreadable = unreadable_sources(dataset, predictions)
    if unreadable:  # a malformed predictions file is not a detector that found nothing
        raise fail_input(unreadable[0])
    dropped = dataset.dropped()
    if dropped and strict:
        raise fail(f"{path}: dropped {dropped_summary(dropped)} while reading (--strict)")
    if dropped:
        warn(f"dropped while reading: {dropped_summary(dropped)} (the rest is reviewed)")
    return dataset


def review_or_exit(
    dataset: Dataset,
    spec: CompiledSpec,
    checks: list[str] | None,
    exclude: list[str],
    *,
    use_judge: bool = False,
    scorer: Scorer | None = None,
) -> AgentResult:
    """Run the reviewer agent (heuristics, plus the LLM judge on uncertain flags with ``use_judge``)."""
    from agents.context import TriagePolicy
    from agents.judge import build_judge
    from agents.run import review

    try:
        plan_checks(dataset, checks, exclude)
    except UnknownCheckError as exc:
        raise fail(str(exc)) from None
    with Progress(
        TextColumn("[bold]reviewing[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(dataset.name, total=len(dataset.frames))
        judge = build_judge(get_settings()) if use_judge else None
        try:
            result = review(
                dataset,
                spec,
                judge=judge,
                scorer=scorer,
                checks=checks,
                exclude=exclude,
                chunk_size=get_settings().chunk_size,
                triage=TriagePolicy.from_settings(get_settings()),
                progress=lambda n: bar.advance(task, n),
            )
        finally:
            if judge is not None:
                judge.close()
    if result.judge is not None:
        j = result.judge
        note(
            f"judge: {result.judge_tasks} questions, {j.calls} calls, {j.cache_hits} from cache, "
            f"{j.needs_human} need a human, ${j.cost_usd:.4f} "
            f"(${j.cost_per_1000_labels_usd:.4f} per 1,000 labels)"
        )
    for error in result.errors:  # a frame a check failed on: reported, the others reviewed
        warn(str(error))
    return result


def print_top(findings: list[Finding], top: int, title: str) -> None:
    """The first ``top`` flags as a table on standard output."""
    table = Table(title=title, show_lines=False)
    for column in ("score", "type", "frame", "label", "box", "check", "message"):
        table.add_column(column, overflow="fold")
    for f in findings[:top]:
        box = "[" + ", ".join(f"{v:.0f}" for v in f.box) + "]"
        table.add_row(
            f"{f.score:.2f}", f.type.value, f.frame, f.label or "(missing)", box, f.check, f.message
        )
    stdout().print(table)


def scan(
    dataset: Annotated[Path, typer.Argument(help="dataset folder or file")],
    format: Annotated[
        str | None, typer.Option("--format", "-f", help=f"one of: {known_formats()} (default: recognised)")
    ] = None,
    predictions: PredictionsOpt = None,
    spec: Annotated[
        Path | None,
        typer.Option(help="QA spec (default: GTQA_SPEC_PATH, else the shipped spec for the data's format)"),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--out", "-o", help="findings JSONL to write (fields: docs/cli.md)")
    ] = None,
    checks: Annotated[list[str] | None, typer.Option("--check", help="run only these checks")] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="skip these checks")] = None,
    top: Annotated[int, typer.Option(help="how many flags to print")] = 15,
    judge: Annotated[
        bool,
        typer.Option("--judge", help="ask the LLM judge about uncertain flags (OPENAI_* / GTQA_JUDGE_*)"),
    ] = False,
    calibration: Annotated[
        Path | None, typer.Option(help="calibration model (default: the spec's own, for its formats)")
    ] = None,
    default_calibration: Annotated[
        bool, typer.Option(help="use the spec's default calibration when no --calibration is given")
    ] = True,
    allow_spec_mismatch: Annotated[
        bool, typer.Option(help="apply a calibration fitted under another spec version (warns)")
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="exit 2, reviewing nothing, when reading dropped a label, frame or prediction"
        ),
    ] = False,
) -> None:
    """Review a dataset against the QA spec and write one JSON line per flag."""
    (preds,) = predictions_per_dataset(predictions or [], 1)
    data = load_or_exit(dataset, format, preds, strict=strict)
    compiled = data_spec_or_exit(spec, data.format)
    scorer = choose_scorer(
        compiled,
        data.format,
        calibration,
        use_default=default_calibration and spec is None,
        allow_spec_mismatch=allow_spec_mismatch,
    )
    result = review_or_exit(data, compiled, checks, exclude or [], use_judge=judge, scorer=scorer)
    if result.checks_skipped:
        note("skipped checks: " + ", ".join(f"{k} ({v})" for k, v in result.checks_skipped.items()))
    if output:
        n = write_findings(output, result.findings)
        note(f"wrote {n} findings to {output}")
    print_top(
        result.findings,
        top,
        f"{data.name}: top {min(top, len(result.findings))} of "
        f"{len(result.findings)} flags (spec {compiled.name} {compiled.hash[:12]})",
    )


def list_checks() -> None:
    """List the registered checks."""
    from gtqa.checks.registry import CHECKS

    table = Table(title="registered checks")
    for column in ("id", "family", "types", "needs", "description"):
        table.add_column(column)
    for c in CHECKS:
        table.add_row(
            c.id,
            c.family,
            ", ".join(t.value for t in c.issue_types),
            ", ".join(sorted(c.requires)) or "-",
            c.description,
        )
    stdout().print(table)


def show_spec(path: Annotated[Path | None, typer.Argument(help="spec file")] = None) -> None:
    """Compile a spec and show its rules and hash (exit 2 with file:line errors if it is invalid)."""
    compiled = spec_or_exit(path)
    out = stdout()
    out.print(f"{compiled.name} v{compiled.version}  hash {compiled.hash}")
    for rule in compiled.rules.values():
        out.print(f"  {rule.id:<28} {rule.kind:<20} line {rule.line:<4} {rule.section}")
