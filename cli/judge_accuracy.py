"""``gtqa evals judge-accuracy``: the configured judge's accuracy on audited flags, and whether it is
worth turning on (``evals.judge_accuracy``). The agent and openai are imported when the command runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from cli._common import PredictionsOpt, data_spec_or_exit, predictions_per_dataset
from cli.eval_runs import SpecOpt, eval_inputs, prompts_folder
from cli.scoring import choose_scorer
from cli.voice import fail, fail_os, note, stdout
from gtqa.formats import known_formats
from gtqa.settings import get_settings

if TYPE_CHECKING:
    from evals.judge_accuracy.ask import JudgeAccuracy


def judge_accuracy_cmd(
    audits: Annotated[
        Path, typer.Option("--audits", "-a", help="past audits: gtqa audit JSONL or a re-check CSV")
    ],
    dataset: Annotated[Path, typer.Option("--dataset", "-d", help="the audited dataset")],
    predictions: PredictionsOpt = None,
    format: Annotated[str | None, typer.Option("--format", "-f", help=f"one of: {known_formats()}")] = None,
    spec: SpecOpt = None,
    prompts: Annotated[Path | None, typer.Option(help="prompt folder (default: prompts/)")] = None,
    calibration: Annotated[
        Path | None, typer.Option(help="calibration file (default: the spec's shipped one, as gtqa scan)")
    ] = None,
    per_type: Annotated[int, typer.Option(help="flags to ask about per issue type (at most)")] = 30,
    max_calls: Annotated[int, typer.Option(help="cap on API calls (cached verdicts are free)")] = 200,
    max_cost: Annotated[float, typer.Option(help="cap on the cost in US dollars")] = 1.0,
    seed: Annotated[int, typer.Option(help="seed of the sample")] = 0,
    level: Annotated[float, typer.Option(help="confidence level of the intervals")] = 0.95,
    exhaustive: Annotated[
        bool | None,
        typer.Option("--exhaustive/--no-exhaustive", help="the audits judged every object of their frames"),
    ] = None,
    cache_dir: Annotated[
        Path | None, typer.Option(help="judge cache (default: GTQA_JUDGE_CACHE_DIR)")
    ] = None,
    output: Annotated[Path | None, typer.Option("--out", "-o", help="write the measurement as JSON")] = None,
) -> None:
    """Ask the configured judge (GTQA_JUDGE_* / OPENAI_*) about a stratified sample of audited flags:
    accuracy per issue type, calibration, cost per 1,000 labels, and whether it clears the break-even."""
    from agents.judge import endpoint_problem
    from evals.judge_accuracy.ask import AccuracyConfig, measure_judge

    if per_type < 1 or max_calls < 0 or max_cost < 0:
        raise fail("--per-type must be at least 1, --max-calls and --max-cost at least 0")
    problem = endpoint_problem(get_settings())
    if problem is not None:
        raise fail(f"nothing to measure: {problem}")
    (preds,) = predictions_per_dataset(predictions or [], 1)
    data, evals = eval_inputs(audits, dataset, format, preds, None, exhaustive)
    compiled = data_spec_or_exit(spec, data.format)
    scorer = choose_scorer(
        compiled, data.format, calibration, use_default=spec is None, allow_spec_mismatch=False
    )
    config = AccuracyConfig(
        dataset=data, evals=evals, spec=compiled, scorer=scorer, per_type=per_type, max_calls=max_calls,
        max_cost_usd=max_cost, seed=seed, level=level, prompts_dir=prompts_folder(prompts),
        cache_dir=cache_dir,
    )  # fmt: skip
    try:
        result = measure_judge(config, get_settings())
    except OSError as exc:
        raise fail_os(exc) from None
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(result.model_dump_json(indent=1) + "\n", encoding="utf-8")
        note(f"wrote {output}")
    print_accuracy(result)


def print_accuracy(r: JudgeAccuracy) -> None:
    out = stdout()
    out.print(f"judge {r.model} ({r.judge_mode}) on audits {r.audits}", highlight=False)
    table = Table(title=f"accuracy per issue type ({r.level:.0%} Wilson intervals)")
    for column in (
        "issue type",
        "audited flags",
        "asked",
        "decided",
        "right",
        "unsure",
        "no answer",
        "accuracy",
        "interval",
    ):
        table.add_column(column, justify="right")
    for t in [*r.per_type, r.pooled]:
        ci = "–" if t.lo is None else f"[{t.lo:.2f}, {t.hi:.2f}]"
        acc = "–" if t.accuracy is None else f"{t.accuracy:.3f}"
        pop = str(r.population.get(t.type, sum(r.population.values())))
        table.add_row(
            t.type, pop, str(t.asked), str(t.decided), str(t.right), str(t.unsure), str(t.unanswered), acc, ci
        )
    out.print(table)
    if r.accuracy is not None:
        out.print(
            f"accuracy over the audited flags (types weighted by their share): {r.accuracy:.3f} "
            f"[{r.lo:.3f}, {r.hi:.3f}]",
            highlight=False,
        )
    bins = ", ".join(
        f"{b.lo:.1f}-{b.hi:.1f}: {b.answers} at {b.accuracy:.2f}"
        for b in r.calibration
        if b.answers and b.accuracy is not None
    )
    out.print(
        f"calibration (stated confidence: answers at accuracy): {bins or '–'}; "
        f"ECE {'–' if r.ece is None else f'{r.ece:.3f}'}",
        highlight=False,
    )
    per_1000 = "–" if r.cost_per_1000_labels_usd is None else f"${r.cost_per_1000_labels_usd:.4f}"
    out.print(
        f"cost: {r.calls} calls, {r.cache_hits} cached, ${r.cost_usd:.4f}; "
        f"the scan asks {r.questions_per_label:.3f} "
        f"questions per label here: {per_1000} per 1,000 labels",
        highlight=False,
    )
    if r.failures:
        out.print("not answered: " + ", ".join(f"{k} {v}" for k, v in r.failures.items()), highlight=False)
    out.print(f"[bold]{r.verdict.value.upper()}[/bold]: {r.sentence}", highlight=False)
    if r.triage_band is not None:
        out.print(
            f"fusion weight: set GTQA_JUDGE_ACCURACY={r.fusion_accuracy:g} for scan, evals run and the "
            f"workers (the triage band follows: {r.triage_band[0]:g}-{r.triage_band[1]:g})",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    app.command("judge-accuracy")(judge_accuracy_cmd)
