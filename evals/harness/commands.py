"""``gtqa evals run``, ``gtqa evals compare`` and ``gtqa evals runs`` (registered on the evals sub-app).

The agent (LangGraph, openai) and matplotlib are imported when a command needs them, not when ``gtqa``
starts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from evals.harness.compare import CompareOptions, Comparison, ComparisonError, compare_runs
from evals.harness.dataset import EvalDataset, from_file, read_frame_list
from evals.harness.gate import Gate, GateError, parse_gate
from evals.harness.metrics import DEFAULT_BUDGETS
from evals.harness.runfile import EvalRun
from evals.harness.store import list_runs, save_run
from gtqa.domain import Dataset, InputFormatError
from gtqa.formats import known_formats, load_dataset
from gtqa.settings import get_settings
from gtqa.spec import CompiledSpec, SpecError, load_spec

console = Console(stderr=True)
out = Console()

BudgetOpt = Annotated[
    list[int] | None,
    typer.Option("--budget", help="review budgets K for precision@K (repeat; default 100, 200)"),
]
ThresholdOpt = Annotated[float, typer.Option(help="decision threshold on the score")]


def fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def spec_or_fail(path: Path | None) -> CompiledSpec:
    """The spec at ``path``, else ``GTQA_SPEC_PATH``, else the shipped one; exit 2 if it is invalid."""
    chosen = path or get_settings().spec_path
    try:
        return load_spec(str(chosen) if chosen else None)
    except SpecError as exc:
        raise fail(f"invalid spec\n{exc}") from None


def _inputs(
    audits: Path,
    dataset: Path,
    fmt: str | None,
    predictions: list[Path],
    frames: Path | None,
    exhaustive: bool | None,
) -> tuple[Dataset, EvalDataset]:
    try:
        data = load_dataset(dataset, fmt, predictions)
        evals = from_file(audits, data, exhaustive=exhaustive)
        if frames is not None:
            evals = evals.restricted(read_frame_list(frames))
    except (InputFormatError, OSError) as exc:
        raise fail(str(exc)) from None
    if not evals.audits:
        raise fail(f"no audits in {audits}" + (f" for the frames of {frames}" if frames else ""))
    return data, evals


def _prompts_dir(path: Path | None) -> Path:
    from agents.judge.prompts import PROMPTS_DIR

    if path is None:
        return PROMPTS_DIR
    return path / "judge" if (path / "judge").is_dir() else path


def run_cmd(
    audits: Annotated[
        Path, typer.Option("--audits", "-a", help="past audits: gtqa audit JSONL or a re-check CSV")
    ],
    dataset: Annotated[Path, typer.Option("--dataset", "-d", help="the audited dataset")],
    output: Annotated[Path, typer.Option("--out", "-o", help="the run file to write (JSON)")],
    predictions: Annotated[
        list[Path] | None, typer.Option("--predictions", "-p", help="detector output")
    ] = None,
    format: Annotated[str | None, typer.Option("--format", "-f", help=f"one of: {known_formats()}")] = None,
    spec: Annotated[Path | None, typer.Option(help="QA spec (default: specs/kitti.md)")] = None,
    prompts: Annotated[Path | None, typer.Option(help="prompt folder (default: prompts/)")] = None,
    calibration: Annotated[
        Path | None, typer.Option(help="calibration file (default: the spec's priors)")
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
        typer.Option("--exhaustive/--not-exhaustive", help="frames fully audited (default: CSV yes)"),
    ] = None,
    checks: Annotated[list[str] | None, typer.Option("--check", help="run only these checks")] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="skip these checks")] = None,
    threshold: ThresholdOpt = 0.5,
    budget: BudgetOpt = None,
    store: Annotated[bool, typer.Option(help="also save the run in the eval store (GTQA_HOME/evals)")] = True,
) -> None:
    """Replay the reviewer on the audited frames and score every flag against the audits."""
    from evals.harness.run import RunConfig, run_eval

    data, evals = _inputs(audits, dataset, format, predictions or [], frames, exhaustive)
    config = RunConfig(
        dataset=data, evals=evals, spec=spec_or_fail(spec),
        predictions=tuple(str(p) for p in predictions or []),
        calibration=calibration, judge=judge, offline=offline, cache_dir=cache_dir,
        prompts_dir=_prompts_dir(prompts), checks=checks, exclude=exclude or [], threshold=threshold,
        budgets=tuple(budget or DEFAULT_BUDGETS),
    )  # fmt: skip
    try:
        run = run_eval(config, get_settings())
    except (ValueError, OSError) as exc:
        raise fail(str(exc)) from None
    run.save(output)
    if store:
        console.print(f"stored as {save_run(run).path}", highlight=False)
    print_run(run)


def print_run(run: EvalRun) -> None:
    m, p = run.metrics.overall, run.provenance
    out.print(
        f"[bold]{run.id}[/bold] {p.dataset.name} vs audits {p.audits.name} ({p.audits.checksum[:12]}): "
        f"{m.flags} flags, {m.known} audited, {m.positives} real defects; judge {p.judge_mode}"
    )
    table = Table()
    for column in ("precision", "recall", "F1", "AP", *(f"P@{k}" for k in m.precision_at), "ECE", "infra"):
        table.add_column(column, justify="right")
    cells = [m.precision, m.recall, m.f1, m.ap, *m.precision_at.values(), m.ece]
    table.add_row(*("–" if v is None else f"{v:.3f}" for v in cells), str(run.infra.total))
    out.print(table)
    if run.judge is not None:
        j = run.judge
        out.print(
            f"judge: {j.questions} questions, {j.calls} calls, {j.cache_hits} cached, ${j.cost_usd:.4f}; "
            f"{j.correct} right / {j.wrong} wrong on audited flags"
        )


def _gates(texts: list[str]) -> tuple[Gate, ...]:
    try:
        return tuple(parse_gate(t) for t in texts)
    except GateError as exc:
        raise fail(str(exc)) from None


def _load(path: Path) -> EvalRun:
    try:
        return EvalRun.load(path)
    except (OSError, ValueError) as exc:
        raise fail(f"cannot read run {path}: {exc}") from None


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
) -> None:
    """Compare two runs on the same audits, with intervals, McNemar, per-slice tests and gates."""
    if cluster not in ("sequence", "frame"):
        raise fail("--cluster is 'sequence' or 'frame'")
    gates = _gates(fail_if or [])
    options = CompareOptions(
        budgets=tuple(budget or DEFAULT_BUDGETS), threshold=threshold, level=level, n_boot=bootstrap,
        seed=seed, cluster="frame" if cluster == "frame" else "sequence",
        allow_different_audits=allow_different_audits,
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
    print_comparison(result)
    if result.failed_gates:
        raise typer.Exit(1)


def print_comparison(c: Comparison) -> None:
    for warning in c.warnings:
        console.print(f"[yellow]{warning}[/yellow]", highlight=False)
    table = Table(title=f"{c.base.id} → {c.candidate.id}: {c.known} audited items, {c.clusters} {c.cluster}s")
    for column in ("metric", "base", "candidate", "Δ", f"{c.level:.0%} CI"):
        table.add_column(column, justify="right")
    f = _num
    for m in c.metrics:
        table.add_row(
            m.metric, f(m.base), f(m.candidate), f(m.delta, True), f"[{f(m.lo, True)}, {f(m.hi, True)}]"
        )
    out.print(table)
    mc = c.mcnemar
    out.print(
        f"McNemar ({mc.method}): {mc.base_only_right} vs {mc.candidate_only_right}, p = {mc.p_value:.4g}"
    )
    for s in c.slices:
        if s.regression:
            worst = min((m.p_holm or 1.0) for m in s.metrics)
            out.print(f"[red]regression in {s.dimension}={s.value}[/red] (Holm p = {worst:.3g})")
    out.print(f"{len(c.changed)} items changed verdict")
    for g in c.gates:
        mark = "[green]PASS[/green]" if g.passed else "[red]FAIL[/red]"
        out.print(f"{mark} {g.gate}: {g.reason}", highlight=False)


def _num(x: float | None, sign: bool = False) -> str:
    if x is None:
        return "–"
    return f"{x:+.3f}" if sign else f"{x:.3f}"


def runs_cmd(
    spec_hash: Annotated[str | None, typer.Option(help="only runs under this spec hash")] = None,
    audits: Annotated[str | None, typer.Option(help="only runs on this audit checksum")] = None,
) -> None:
    """List the stored eval runs with their headline metrics, oldest first."""
    table = Table(title=f"eval runs in {get_settings().home / 'evals'}")
    for column in ("id", "audits", "spec", "prompts", "calibration", "P", "R", "AP", "P@100", "infra"):
        table.add_column(column)
    for r in list_runs(spec_hash=spec_hash, audit_checksum=audits):
        h = r.headline
        prompts = ",".join(f"{k}.v{v}" for k, v in sorted(r.prompts.items())) or "–"
        table.add_row(r.id, f"{r.audits} {r.audit_checksum[:8]}", f"{r.spec_name}@{r.spec_hash[:8]}", prompts,
                      r.calibration[:15], _num(h.get("precision")), _num(h.get("recall")), _num(h.get("ap")),
                      _num(h.get("precision_at_100")), str(r.infra_errors))  # fmt: skip
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command("run")(run_cmd)
    app.command("compare")(compare_cmd)
    app.command("runs")(runs_cmd)
