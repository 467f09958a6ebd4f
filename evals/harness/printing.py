"""Printing eval runs and comparisons as tables (``gtqa evals run`` / ``compare`` and the benchmarks)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from evals.harness.compare import POOLED_NOTE, Comparison
from evals.harness.gate import Outcome, metric_label
from evals.harness.runfile import EvalRun


def print_run(out: Console, run: EvalRun) -> None:
    m, p = run.metrics.overall, run.provenance
    title = run.id if p.name is None else f"{p.name} ({run.id})"
    out.print(
        f"[bold]{title}[/bold] {p.dataset.name} vs audits {p.audits.name} ({p.audits.checksum[:12]}): "
        f"{m.flags} flags, {m.known} audited, {m.positives} real defects; judge {p.judge_mode}; "
        f"calibration {p.calibration_path or p.calibration}"
    )
    table = Table()
    for column in ("precision", "recall", "F1", "AP", *(f"P@K={k}" for k in m.precision_at), "ECE", "infra"):
        table.add_column(column, justify="right")
    cells = [m.precision, m.recall, m.f1, m.ap, *m.precision_at.values(), m.ece]
    table.add_row(*("–" if v is None else f"{v:.3f}" for v in cells), str(run.infra.total))
    out.print(table)
    out.print(
        "recall, F1 and AP over this run's own flags; gtqa evals compare pools both runs' flags "
        "(see its report)"
    )
    if run.judge is not None:
        j = run.judge
        out.print(
            f"judge: {j.questions} questions, {j.calls} calls, {j.cache_hits} cached, ${j.cost_usd:.4f}; "
            f"{j.correct} right / {j.wrong} wrong on audited flags"
        )


def print_comparison(out: Console, c: Comparison, err: Console | None = None) -> None:
    """The comparison's table, tests and gates on ``out``; its warnings on ``err`` (default ``out``)."""
    for warning in c.warnings:
        (err or out).print(f"[yellow]{warning}[/yellow]", highlight=False)
    print_changes(out, c)
    title = f"{c.base.title} → {c.candidate.title}: {c.known} audited items, {c.clusters} {c.cluster}s"
    table = Table(title=title)
    for column in ("metric", "base", "candidate", "Δ", f"{c.level:.0%} CI", "base alone", "cand. alone"):
        table.add_column(column, justify="right")
    f = number
    for m in c.metrics:
        ci = f"[{f(m.lo, True)}, {f(m.hi, True)}]"
        table.add_row(
            metric_label(m.metric),
            f(m.base),
            f(m.candidate),
            f(m.delta, True),
            ci,
            f(m.base_own),
            f(m.candidate_own),
        )
    out.print(table)
    out.print(POOLED_NOTE, highlight=False)
    mc = c.mcnemar
    out.print(
        f"McNemar ({mc.method}): {mc.base_only_right} vs {mc.candidate_only_right}, p = {mc.p_value:.4g}"
    )
    out.print(f"per slice: {len(c.slices)} slices, {c.slice_comparisons} comparisons (Holm)")
    for s in c.slices:
        if s.regression or any(m.delta is not None and m.delta < 0 and m.p_value < 0.05 for m in s.metrics):
            colour = "red" if s.regression else "yellow"
            out.print(f"[{colour}]{s.dimension}={s.value}[/{colour}]: {s.verdict}", highlight=False)
    out.print(f"{len(c.changed)} items changed verdict")
    for g in c.gates:
        colour = {Outcome.better: "green", Outcome.worse: "red", Outcome.inconclusive: "yellow"}[g.outcome]
        word = f"[{colour}]{g.outcome.value.upper()}[/{colour}] ({'passes' if g.passed else 'fails'})"
        out.print(f"{word} {g.gate}: {g.reason}", highlight=False)


def print_changes(out: Console, c: Comparison) -> None:
    """What differs between the two runs' configurations, one line per field."""
    if not c.changes:
        out.print("configuration: the two runs were configured alike", highlight=False)
        return
    out.print(f"configuration: {len(c.changes)} differences (base → candidate)", highlight=False)
    for x in c.changes:
        out.print(f"  {x.field}: {x.base or '–'} → {x.candidate or '–'}", highlight=False, soft_wrap=True)


def number(x: float | None, sign: bool = False) -> str:
    """Three decimals (signed with ``sign``), or a dash for None."""
    if x is None:
        return "–"
    return f"{x:+.3f}" if sign else f"{x:.3f}"
