"""``gtqa evals run``, ``gtqa evals compare`` and ``gtqa evals runs`` (registered on the evals sub-app).

The agent (LangGraph, openai) and matplotlib are imported when a command needs them, not when ``gtqa``
starts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli._common import PredictionsOpt, command_line, data_spec_or_exit, predictions_per_dataset
from cli.voice import FAILED, brief, err, fail, fail_input, fail_os, note, stdout
from evals.harness.compare import CompareOptions, ComparisonError, compare_runs
from evals.harness.dataset import EvalDataset, from_file, read_frame_list
from evals.harness.gate import Gate, GateError, parse_gate
from evals.harness.metrics import DEFAULT_BUDGETS
from evals.harness.printing import number, print_comparison, print_run
from evals.harness.runfile import EvalRun
from evals.harness.store import list_runs, save_run
from gtqa.domain import Dataset, InputFormatError
from gtqa.formats import known_formats, load_dataset
from gtqa.settings import get_settings

BudgetOpt = Annotated[
    list[int] | None,
    typer.Option("--budget", help="review budgets K for precision@K (repeat; default 100, 200)"),
]
ThresholdOpt = Annotated[float, typer.Option(help="decision threshold on the score")]
SpecOpt = Annotated[
    Path | None,
    typer.Option(help="QA spec (default: GTQA_SPEC_PATH, else the shipped spec for the data's format)"),
]


def eval_inputs(
    audits: Path,
    dataset: Path,
    fmt: str | None,
    predictions: tuple[Path, ...],
    frames: Path | None,
    exhaustive: bool | None,
) -> tuple[Dataset, EvalDataset]:
    try:
        data = load_dataset(dataset, fmt, list(predictions))
        evals = from_file(audits, data, exhaustive=exhaustive)
        if frames is not None:
            evals = evals.restricted(read_frame_list(frames))
    except InputFormatError as exc:
        raise fail_input(exc) from None
    except OSError as exc:
        raise fail_os(exc) from None
    if not evals.audits:
        raise fail(f"no audits in {audits}" + (f" for the frames of {frames}" if frames else ""))
    return data, evals


def prompts_folder(path: Path | None) -> Path:
    from agents.judge.prompts import PROMPTS_DIR

    if path is None:
        return PROMPTS_DIR
    return path / "judge" if (path / "judge").is_dir() else path


def run_cmd(
    ctx: typer.Context,
    audits: Annotated[
        Path, typer.Option("--audits", "-a", help="past audits: gtqa audit JSONL or a re-check CSV")
    ],
    dataset: Annotated[Path, typer.Option("--dataset", "-d", help="the audited dataset")],
    output: Annotated[Path, typer.Option("--out", "-o", help="the run file to write (JSON)")],
    predictions: PredictionsOpt = None,
    format: Annotated[str | None, typer.Option("--format", "-f", help=f"one of: {known_formats()}")] = None,
    spec: SpecOpt = None,
    prompts: Annotated[Path | None, typer.Option(help="prompt folder (default: prompts/)")] = None,
    calibration: Annotated[
        Path | None,
        typer.Option(help="calibration file (default: the spec's shipped one, as gtqa scan; see below)"),
    ] = None,
    default_calibration: Annotated[
        bool,
        typer.Option(
            help="without --calibration, score with the spec's shipped calibration when gtqa scan would "
            "(no --spec, data of a format it was fitted on); --no-default-calibration: the spec's priors"
        ),
    ] = True,
    name: Annotated[
        str | None, typer.Option("--name", help="a name for the run, shown in reports and pages")
    ] = None,
    judge: Annotated[bool, typer.Option("--judge", help="ask the LLM judge about uncertain flags")] = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="judge from the cache only; a miss needs a human")
    ] = False,
    cache_dir: Annotated[
        Path | None, typer.Option(help="judge cache (default: GTQA_JUDGE_CACHE_DIR)")
    ] = None,
    frames: Annotated[
        Path | None, typer.Option(help="only the audits of these frames (one id a line)")
    ] = None,
    exhaustive: Annotated[
        bool | None,
        typer.Option(
            "--exhaustive/--no-exhaustive",
            help="the audits judged every object of their frames (default: yes for a re-check CSV, "
            "no for JSONL)",
        ),
    ] = None,
    checks: Annotated[list[str] | None, typer.Option("--check", help="run only these checks")] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="skip these checks")] = None,
    threshold: ThresholdOpt = 0.5,
    budget: BudgetOpt = None,
    store: Annotated[bool, typer.Option(help="also save the run in the eval store (GTQA_HOME/evals)")] = True,
) -> None:
    """Replay the reviewer on the audited frames and score every flag against the audits."""
    from agents.context import TriagePolicy
    from evals.harness.run import RunConfig, run_eval

    (preds,) = predictions_per_dataset(predictions or [], 1)
    data, evals = eval_inputs(audits, dataset, format, preds, frames, exhaustive)
    config = RunConfig(
        dataset=data, evals=evals, spec=data_spec_or_exit(spec, data.format),
        predictions=tuple(str(p) for p in preds),
        calibration=calibration, judge=judge, offline=offline, cache_dir=cache_dir,
        prompts_dir=prompts_folder(prompts), checks=checks, exclude=exclude or [], threshold=threshold,
        budgets=tuple(budget or DEFAULT_BUDGETS), name=name, command=command_line(ctx),
        triage=TriagePolicy.from_settings(get_settings()),
        default_calibration=default_calibration and spec is None,
    )  # fmt: skip
    try:
        run = run_eval(config, get_settings())
    except OSError as exc:
        raise fail_os(exc) from None
    except ValueError as exc:
        raise fail(str(exc)) from None
    run.save(output)
    if store:
        note(f"stored as {save_run(run).path}")
    print_run(stdout(), run)


def _gates(texts: list[str]) -> tuple[Gate, ...]:
    try:
        return tuple(parse_gate(t) for t in texts)
    except GateError as exc:
        raise fail(str(exc)) from None


def _load(path: Path) -> EvalRun:
    try:
        return EvalRun.load(path)
    except OSError as exc:
        raise fail_os(exc) from None
    except ValueError as exc:
        raise fail(f"{path}: not a run file of gtqa evals run: {brief(exc)}") from None


def compare_cmd(
    base: Annotated[Path, typer.Argument(help="the base run file")],
    candidate: Annotated[Path, typer.Argument(help="the candidate run file")],
    budget: BudgetOpt = None,
    threshold: ThresholdOpt = 0.5,
    fail_if: Annotated[
        list[str] | None, typer.Option("--fail-if", help="gate, e.g. 'precision_at_budget<-0.02' (exit 1)")
    ] = None,
    html: Annotated[Path | None, typer.Option(help="write a self-contained HTML report")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="write the comparison as JSON")] = None,
    bootstrap: Annotated[int, typer.Option(help="bootstrap replicates")] = 2000,
    level: Annotated[float, typer.Option(help="confidence level of the intervals")] = 0.95,
    seed: Annotated[int, typer.Option(help="bootstrap seed")] = 0,
    cluster: Annotated[str, typer.Option(help="resampling unit: sequence or frame")] = "sequence",
    allow_different_audits: Annotated[
        bool, typer.Option(help="compare runs of different audit sets")
    ] = False,
    inconclusive: Annotated[
        str,
        typer.Option(
            help="an inconclusive gate (the interval straddles the margin): 'fail' (exit 1, the default: "
            "a gate never passes for want of evidence) or 'pass'"
        ),
    ] = "fail",
) -> None:
    """Compare two runs on the same audits, with intervals, McNemar, per-slice tests and gates."""
    if cluster not in ("sequence", "frame"):
        raise fail("--cluster is 'sequence' or 'frame'")
    if inconclusive not in ("fail", "pass"):
        raise fail("--inconclusive is 'fail' or 'pass'")
    gates = _gates(fail_if or [])
    options = CompareOptions(
        budgets=tuple(budget or DEFAULT_BUDGETS), threshold=threshold, level=level, n_boot=bootstrap,
        seed=seed, cluster="frame" if cluster == "frame" else "sequence",
        allow_different_audits=allow_different_audits, inconclusive_passes=inconclusive == "pass",
    )  # fmt: skip
    runs = _load(base), _load(candidate)
    try:
        result = compare_runs(*runs, options, gates)
    except ComparisonError as exc:
        raise fail(str(exc)) from None
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(result.model_dump_json(indent=1) + "\n", encoding="utf-8")
    if html is not None:
        from evals.harness.html import write_report

        write_report(html, result, *runs)
    print_comparison(stdout(), result, err)
    if result.failed_gates:
        raise typer.Exit(FAILED)


def runs_cmd(
    spec_hash: Annotated[str | None, typer.Option(help="only runs under this spec hash")] = None,
    audits: Annotated[str | None, typer.Option(help="only runs on this audit checksum")] = None,
) -> None:
    """List the stored eval runs with their headline metrics, oldest first."""
    table = Table(title=f"eval runs in {get_settings().home / 'evals'}")
    columns = ("id", "name", "checks", "audits", "spec", "prompts", "calibration", "P", "R", "AP", "P@K=100")
    for column in (*columns, "infra"):
        table.add_column(column)
    for r in list_runs(spec_hash=spec_hash, audit_checksum=audits):
        h = r.headline
        prompts = ",".join(f"{k}.v{v}" for k, v in sorted(r.prompts.items())) or "–"
        metrics = (h.get("precision"), h.get("recall"), h.get("ap"), h.get("precision_at_100"))
        checks = "as written" if r.as_written else r.checks_note or "–"
        table.add_row(r.id, r.name or "–", checks, f"{r.audits} {r.audit_checksum[:8]}",
                      f"{r.spec_name}@{r.spec_hash[:8]}", prompts,
                      r.calibration[:15], *(number(m) for m in metrics), str(r.infra_errors))  # fmt: skip
    stdout().print(table)


def register(app: typer.Typer) -> None:
    app.command("run")(run_cmd)
    app.command("compare")(compare_cmd)
    app.command("runs")(runs_cmd)
