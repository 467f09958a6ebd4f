"""Printing scores as tables (the CLI and the benchmarks share these)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from evals.inject.score import InjectedScore
from evals.recheck import RecheckScore


def print_injected(out: Console, score: InjectedScore, title: str = "injected defects") -> None:
    budgets = ", ".join(f"{k} = {v} items" for k, v in score.budgets.items())
    out.print(
        f"[bold]{title}[/bold]: {score.n_defects} defects, {score.n_items} review items "
        f"({score.hits} hits, {score.false_alarms} false alarms, {score.neutral} neutral); budgets {budgets}"
    )
    out.print(
        f"AP {score.ap:.3f}  "
        + "  ".join(f"recall@{k} {v:.3f}" for k, v in score.recall_at.items())
        + f"  recall {score.recall:.3f}  typed recall {score.typed_recall:.3f}"
    )
    table = Table(title="per family")
    for column in ("family", "issue type", "n", "found", "typed", "AP", *(f"R@{k}" for k in score.budgets)):
        table.add_column(column, justify="right")
    for f in score.families:
        table.add_row(
            f.family.value,
            f.issue_type.value,
            str(f.n),
            str(f.found),
            str(f.typed_found),
            f"{f.ap:.3f}",
            *(f"{f.recall_at[k]:.3f}" for k in score.budgets),
        )
    out.print(table)


def print_recheck(
    out: Console, rows: dict[str, RecheckScore], title: str = "real errors (re-check protocol)"
) -> None:
    first = next(iter(rows.values()))
    kinds = f"{first.n_overlooked} overlooked, {first.n_misfitting} misfitting"
    table = Table(title=f"{title}: {first.n_errors} errors ({kinds})")
    ks = list(first.precision_at)
    for column in (
        "method",
        "flags",
        "AP",
        *(f"P@{k}" for k in ks),
        *(f"R@{k}" for k in ks),
        "found ovl/mis",
    ):
        table.add_column(column, justify="right")
    for name, s in rows.items():
        table.add_row(
            name,
            str(s.n_flags),
            f"{s.ap:.3f}",
            *(f"{s.precision_at[k]:.2f}" for k in ks),
            *(f"{s.recall_at[k]:.3f}" for k in ks),
            f"{s.found_overlooked}/{s.found_misfitting}",
        )
    out.print(table)
