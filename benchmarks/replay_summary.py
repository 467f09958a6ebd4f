"""Summarise ``gtqa evals replay`` outputs over several seeds (splits): per round, mean ± sd and range.

    .venv/bin/python benchmarks/replay_summary.py LABEL replay_s0.json replay_s1.json ...

Prints a Markdown table for benchmarks/RESULTS.md ("Learning queue replay (issue 19)").
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def _cell(values: list[float]) -> str:
    a = np.array(values, dtype=np.float64)
    return f"{a.mean():.3f} ± {a.std(ddof=1) if len(a) > 1 else 0.0:.3f} [{a.min():.3f}, {a.max():.3f}]"


def _gate(rounds: list[dict[str, object]]) -> str:
    """Mean gate estimate and mean 95 % lower bound over the splits that gated, and the mean number of
    decided flags judged ("-" where no split gated: not refitted)."""
    gated = [x for x in rounds if x.get("gate_delta") is not None]
    if not gated:
        return "-"
    delta = np.mean([float(str(x["gate_delta"])) for x in gated])
    lo = np.mean([float(str(x["gate_lo"])) for x in gated])
    judged = np.mean([float(str(x.get("gate_flags", 0))) for x in gated])
    return f"{delta:+.3f} [{lo:+.3f}] ({judged:.0f})"


def summarise(label: str, paths: list[Path]) -> str:
    runs = [json.loads(p.read_text())["rounds"] for p in paths]
    lines = [
        f"{label}: {len(runs)} splits (seeds), mean ± sd [min, max]",
        "",
        "| round | P learning | P static | P diff | AP rest learning | AP rest static | promoted "
        "| gate Δ AP, mean [lo] (judged flags) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for k in range(min(len(r) for r in runs)):
        rs = [r[k] for r in runs]
        diff = [x["precision_learning"] - x["precision_static"] for x in rs]
        ap_l = [x["ap_remaining_learning"] or 0.0 for x in rs]
        ap_s = [x["ap_remaining_static"] or 0.0 for x in rs]
        lines.append(
            f"| {k + 1} | {_cell([x['precision_learning'] for x in rs])} | "
            f"{_cell([x['precision_static'] for x in rs])} | {_cell(diff)} | {_cell(ap_l)} | {_cell(ap_s)} | "
            f"{sum(x['promoted'] for x in rs)}/{len(rs)} | {_gate(rs)} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(summarise(sys.argv[1], [Path(p) for p in sys.argv[2:]]))
