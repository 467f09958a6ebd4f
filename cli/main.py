"""``gtqa`` commands. Long work shows a rich progress bar; errors in input name the file and line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli._common import spec_or_exit
from cli.calibrate import calibrate
from cli.scoring import choose_scorer
from cli.serve import register as register_serve
from cli.submit import submit
from cli.users import users_app
from cli.workers import beat, worker
from evals.cli import evals_app
from gtqa.checks.registry import UnknownCheckError
from gtqa.domain import Dataset, Finding, InputFormatError
from gtqa.formats import known_formats, load_dataset
from gtqa.formats.findings import write_findings
from gtqa.review import plan_checks
from gtqa.settings import get_settings
from gtqa.spec import CompiledSpec

if TYPE_CHECKING:
    from agents.run import AgentResult
    from gtqa.scoring.scorer import Scorer

app = typer.Typer(
    name="gtqa",
    help="Agent-assisted QA review of autonomous-driving ground truth.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(evals_app, name="evals")
app.command("calibrate")(calibrate)
app.command("worker")(worker)
app.command("beat")(beat)
app.command("submit")(submit)
register_serve(app)
app.add_typer(users_app, name="users")
console = Console(stderr=True)
out = Console()


def _load(path: Path, fmt: str | None, predictions: list[Path]) -> Dataset:
    try:
        dataset = load_dataset(path, fmt, predictions)
    except InputFormatError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    for problem in dataset.problems[:20]:
        console.print(f"[yellow]{problem}[/yellow]", highlight=False, soft_wrap=True)
    if len(dataset.problems) > 20:
        console.print(f"[yellow]… and {len(dataset.problems) - 20} more input problems[/yellow]")
    return dataset


def _review(
    dataset: Dataset,
    spec: CompiledSpec,
    checks: list[str] | None,
    exclude: list[str],
    *,
    use_judge: bool = False,
    scorer: Scorer | None = None,
) -> AgentResult:
    """Run the reviewer agent (heuristics, plus the LLM judge on uncertain flags with ``use_judge``)."""
    from agents.judge import build_judge
    from agents.run import review

    try:
        plan_checks(dataset, checks, exclude)
    except UnknownCheckError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    with Progress(
        TextColumn("[bold]reviewing[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
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
                progress=lambda n: bar.advance(task, n),
            )
        finally:
            if judge is not None:
                judge.close()
    if result.judge is not None:
        j = result.judge
        console.print(
            f"judge: {result.judge_tasks} questions, {j.calls} calls, {j.cache_hits} from cache, "
            f"{j.needs_human} need a human, ${j.cost_usd:.4f} "
            f"(${j.cost_per_1000_labels_usd:.4f} per 1,000 labels)"
        )
    for error in result.errors:
        console.print(f"[red]{error}[/red]", highlight=False, soft_wrap=True)
    return result


def print_top(findings: list[Finding], top: int, title: str) -> None:
    table = Table(title=title, show_lines=False)
    for column in ("score", "type", "frame", "label", "box", "check", "message"):
        table.add_column(column, overflow="fold")
    for f in findings[:top]:
        box = "[" + ", ".join(f"{v:.0f}" for v in f.box) + "]"
        table.add_row(
            f"{f.score:.2f}", f.type.value, f.frame, f.label or "(missing)", box, f.check, f.message
        )
    out.print(table)


@app.command()
def scan(
    dataset: Annotated[Path, typer.Argument(help="dataset folder or file")],
    format: Annotated[
        str | None, typer.Option("--format", "-f", help=f"one of: {known_formats()} (default: recognised)")
    ] = None,
    predictions: Annotated[
        list[Path] | None,
        typer.Option("--predictions", "-p", help="detector output (repeat for several detectors)"),
    ] = None,
    spec: Annotated[Path | None, typer.Option(help="QA spec (default: specs/kitti.md)")] = None,
    output: Annotated[Path | None, typer.Option("--out", "-o", help="findings JSONL to write")] = None,
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
) -> None:
    """Review a dataset against the QA spec and write one JSON line per flag."""
    compiled = spec_or_exit(spec)
    data = _load(dataset, format, predictions or [])
    scorer = choose_scorer(
        compiled,
        data.format,
        calibration,
        use_default=default_calibration and spec is None,
        allow_spec_mismatch=allow_spec_mismatch,
    )
    result = _review(data, compiled, checks, exclude or [], use_judge=judge, scorer=scorer)
    if result.checks_skipped:
        skipped = ", ".join(f"{k} ({v})" for k, v in result.checks_skipped.items())
        console.print(f"skipped checks: {skipped}", highlight=False)
    if output:
        n = write_findings(output, result.findings)
        console.print(f"wrote {n} findings to {output}")
    print_top(
        result.findings,
        top,
        f"{data.name}: top {min(top, len(result.findings))} of "
        f"{len(result.findings)} flags (spec {compiled.name} {compiled.hash[:12]})",
    )


@app.command()
def demo(
    dataset: Annotated[
        Path | None, typer.Argument(help="a dataset to review when the bundled data is absent")
    ] = None,
    top: Annotated[int, typer.Option(help="how many flags to print")] = 10,
    scan_only: Annotated[
        bool, typer.Option(help="only scan and print the top flags of each dataset (no service)")
    ] = False,
    exit_when_done: Annotated[
        bool, typer.Option(help="stop the service once the data is reviewed (default: serve until ^C)")
    ] = False,
    port: Annotated[int, typer.Option(help="the API's TCP port")] = 8000,
) -> None:
    """The main job: start the service on this machine (API, worker, reconciler; embedded SQLite and
    file broker), ingest the bundled KITTI data (../shared/data), review it, and show the review queue
    and where to look. ``--scan-only`` scans without the service."""
    targets = _demo_targets(dataset)
    if not scan_only:
        from cli.serve import Target, run_service

        service_targets = [Target(path, tuple(preds)) for path, preds in targets]
        raise typer.Exit(run_service(service_targets, "127.0.0.1", port, None, exit_when_done, True, top))
    compiled = spec_or_exit(None)
    out_dir = Path(".gtqa") / "demo"
    for path, preds in targets:
        data = _load(path, None, preds)
        scorer = choose_scorer(compiled, data.format, None, use_default=True, allow_spec_mismatch=False)
        result = _review(data, compiled, None, [], scorer=scorer)
        written = out_dir / f"{data.name}.findings.jsonl"
        write_findings(written, result.findings)
        print_top(
            result.findings,
            top,
            f"{data.name}: {len(result.findings)} flags over "
            f"{sum(len(f.labels) for f in data.frames)} labels -> {written}",
        )


def _demo_targets(dataset: Path | None) -> list[tuple[Path, list[Path]]]:
    if dataset is not None:
        return [(dataset, [])]
    root = get_settings().data_dir
    if not root.is_dir():
        console.print(
            f"[red]The bundled KITTI data is not at {root}.[/red] Give a dataset path "
            "(`gtqa demo PATH`) or set GTQA_DATA_DIR to the folder holding kitti_object/, "
            "kitti_tracking/ and kitti_rechecked/."
        )
        raise typer.Exit(2)
    candidates = [
        (root / "kitti_object", [root / "kitti_object" / "predictions" / "box2d.list"]),
        (root / "kitti_tracking", [root / "kitti_tracking" / "detections"]),
        # box2d.list covers the re-checked frames too: a second detector for them.
        (
            root / "kitti_rechecked",
            [root / "kitti_rechecked" / "pred_2", root / "kitti_object" / "predictions" / "box2d.list"],
        ),
    ]
    return [(p, [q for q in preds if q.exists()]) for p, preds in candidates if p.exists()]


@app.command("checks")
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
    out.print(table)


@app.command("spec")
def show_spec(path: Annotated[Path | None, typer.Argument(help="spec file")] = None) -> None:
    """Compile a spec and show its rules and hash (exit 2 with file:line errors if it is invalid)."""
    compiled = spec_or_exit(path)
    out.print(f"{compiled.name} v{compiled.version}  hash {compiled.hash}")
    for rule in compiled.rules.values():
        out.print(f"  {rule.id:<28} {rule.kind:<20} line {rule.line:<4} {rule.section}")


def main() -> None:
    app()
