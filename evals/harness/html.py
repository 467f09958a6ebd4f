"""A self-contained HTML report of a comparison: inline CSS, figures as base64 PNGs, no external asset.

Sections: what changed between the two runs' configurations (first: what the candidate is), the two
runs (name, spec, prompts, calibration, judge, audits, command line), the gates (better, worse or
inconclusive, each with its sentence), overall differences with their intervals beside each run's own
figures, McNemar's test, precision-recall curves, reliability diagrams, per-slice differences (figure
and table: raw and Holm-adjusted p, the number of comparisons, why each slice is or is not called), and
the items whose verdict changed (the first ``max_changed``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path

from evals.harness.compare import POOLED_NOTE, Comparison, MetricDelta, RunRef
from evals.harness.gate import Outcome, metric_label
from evals.harness.pairing import PairedArrays, pair_items
from evals.harness.plots import pr_figure, reliability_figure, slices_figure
from evals.harness.runfile import EvalRun

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1100px;
color:#222;padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border:1px solid #ddd;padding:3px 8px;
text-align:left}th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#17692b;font-weight:600}.fail{color:#b3261e;font-weight:600}.warn{color:#8a5a00}
.broke{background:#fdecea}.fixed{background:#e8f5e9}.figs{display:flex;flex-wrap:wrap;gap:12px}
img{max-width:100%;border:1px solid #eee}code{background:#f4f4f4;padding:0 3px}
.cmd{margin:4px 0;font-size:12px}.cmd code{overflow-wrap:anywhere}
"""


def write_report(
    path: Path, comparison: Comparison, base: EvalRun, cand: EvalRun, max_changed: int = 200
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(comparison, base, cand, max_changed), encoding="utf-8")


def render_report(comparison: Comparison, base: EvalRun, cand: EvalRun, max_changed: int = 200) -> str:
    c = comparison
    pairs, _ = pair_items(base.items, cand.items)
    arrays = PairedArrays.of(pairs, "frame" if c.cluster == "frame" else "sequence")
    body = [
        f"<h1>gtqa eval comparison: {escape(c.base.title)} → {escape(c.candidate.title)}</h1>",
        _changes(c),
        _runs(c.base, c.candidate),
        _gates(c),
        *(f'<p class="warn">⚠ {escape(w)}</p>' for w in c.warnings),
        f"<h2>Overall (candidate − base, {c.level:.0%} paired cluster-bootstrap intervals)</h2>",
        f"<p>{c.known} audited items of {c.items} ({c.clusters} {c.cluster}s resampled, {c.n_boot} "
        f"replicates); decisions at score ≥ {c.threshold:g}.</p>",
        _table(_OVERALL_HEAD, (_delta_row(m) for m in c.metrics)),
        f"<p>{escape(POOLED_NOTE)}</p>",
        _mcnemar(c),
        '<h2>Curves</h2><div class="figs">',
        _img(pr_figure(arrays, c.threshold), "precision-recall curves"),
        _img(reliability_figure(base, cand), "reliability diagrams"),
        "</div>",
        _slices(c),
        _changed(c, max_changed),
    ]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>gtqa eval comparison</title><style>{_CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )


def _img(data: str | None, alt: str) -> str:
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">' if data else ""


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], classes: Sequence[str] = ()) -> str:
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    lines = []
    for n, row in enumerate(rows):
        cls = f' class="{classes[n]}"' if n < len(classes) and classes[n] else ""
        lines.append(f"<tr{cls}>" + "".join(row) + "</tr>")
    return f"<table><tr>{header}</tr>{''.join(lines)}</table>"


def _td(text: object, num: bool = False) -> str:
    return f'<td class="num">{escape(str(text))}</td>' if num else f"<td>{escape(str(text))}</td>"


def _fmt(x: float | None, sign: bool = False) -> str:
    if x is None:
        return "–"
    return f"{x:+.3f}" if sign else f"{x:.3f}"


_OVERALL_HEAD = ["metric", "base", "candidate", "difference", "interval", "base alone", "candidate alone"]


def _delta_row(m: MetricDelta) -> list[str]:
    ci = f"[{_fmt(m.lo, True)}, {_fmt(m.hi, True)}]"
    return [_td(metric_label(m.metric)), _td(_fmt(m.base), True), _td(_fmt(m.candidate), True),
            _td(_fmt(m.delta, True), True), _td(ci, True), _td(_fmt(m.base_own), True),
            _td(_fmt(m.candidate_own), True)]  # fmt: skip


def _changes(c: Comparison) -> str:
    title = "<h2>What changed (base → candidate)</h2>"
    if not c.changes:
        return title + "<p>The two runs were configured alike: any difference below is chance.</p>"
    rows = [[_td(x.field), _td(x.base or "–"), _td(x.candidate or "–")] for x in c.changes]
    return title + _table(["", "base", "candidate"], rows)


def _runs(base: RunRef, cand: RunRef) -> str:
    def row(name: str, ref: RunRef) -> list[str]:
        prompts = ", ".join(f"{k}.v{v}" for k, v in sorted(ref.prompts.items())) or "–"
        calibration = "the spec's priors" if ref.calibration == "priors" else ref.calibration
        return [_td(name), _td(ref.name or "–"), _td(ref.id), _td(ref.spec), _td(prompts),
                _td(calibration), _td(ref.judge), _td(ref.audits[:12]),
                _td(ref.infra_errors, True)]  # fmt: skip

    head = ["run", "name", "id", "spec", "prompts", "calibration", "judge", "audits", "infra errors"]
    commands = "".join(
        f'<p class="cmd">{name}: <code>{escape(ref.command or "(not recorded)")}</code></p>'
        for name, ref in (("base", base), ("candidate", cand))
    )
    return "<h2>The runs</h2>" + _table(head, [row("base", base), row("candidate", cand)]) + commands


_MARK = {
    Outcome.better: ("pass", "BETTER"),
    Outcome.worse: ("fail", "WORSE"),
    Outcome.inconclusive: ("warn", "INCONCLUSIVE"),
}


def _gates(c: Comparison) -> str:
    if not c.gates:
        return "<p>No gates were set (<code>--fail-if</code>).</p>"
    rows = []
    for g in c.gates:
        cls, word = _MARK[g.outcome]
        rows.append([f'<td class="{cls}">{word}</td>', _td("passes" if g.passed else "fails"), _td(g.gate),
                     _td(_fmt(g.delta, True), True), _td(f"[{_fmt(g.lo, True)}, {_fmt(g.hi, True)}]"),
                     _td(g.reason)])  # fmt: skip
    head = ["outcome", "gate", "", "difference", "interval", "what the interval says"]
    return "<h2>Gates</h2>" + _table(head, rows)


def _mcnemar(c: Comparison) -> str:
    m = c.mcnemar
    return (
        f"<p>McNemar ({escape(m.method)}): {m.base_only_right} items right in the base run only, "
        f"{m.candidate_only_right} in the candidate only; p = {m.p_value:.4g}.</p>"
    )


def _slices(c: Comparison) -> str:
    rows, classes = [], []
    for s in c.slices:
        cells = [_td(f"{s.dimension}={s.value}"), _td(s.items, True), _td(s.positives, True)]
        for m in s.metrics:
            p = "–" if m.p_holm is None else f"{m.p_holm:.3g}"
            cells.append(_td(f"{_fmt(m.delta, True)} [{_fmt(m.lo, True)}, {_fmt(m.hi, True)}]", True))
            cells.append(_td(f"{m.p_value:.3g} / {p}", True))
        mc = s.mcnemar
        cells += [_td(s.clusters, True), _td(f"{mc.base_only_right}/{mc.candidate_only_right}", True),
                  _td(f"{s.mcnemar_p_holm:.3g}", True), _td(s.verdict)]  # fmt: skip
        rows.append(cells)
        classes.append("broke" if s.regression else "")
    head = ["slice", "items", "defects", "Δ precision", "p raw / Holm", "Δ recall", "p raw / Holm",
            f"{c.cluster}s", "McNemar: right base/cand only", "McNemar p (Holm)", "verdict"]  # fmt: skip
    note = (
        f"<p>{c.slice_comparisons} comparisons (every slice × precision and recall) are adjusted together "
        "with Holm's correction; a slice is a regression when a metric is lower in the candidate with "
        "adjusted p below 0.05. A slice is too small to call when, with its few "
        f"{c.cluster}s, not even data all one way could clear the correction.</p>"
    )
    return (
        "<h2>Per slice</h2>"
        + _img(slices_figure(c), "per-slice differences")
        + note
        + _table(head, rows, classes)
    )


def _changed(c: Comparison, limit: int) -> str:
    shown = c.changed[:limit]
    rows = [
        [_td(x.change), _td(x.frame), _td(x.label or "(missing object)"), _td(x.type), _td(x.cls or ""),
         _td({1: "defect", 0: "false alarm", None: "unknown"}[x.outcome]), _td(_fmt(x.base_score), True),
         _td(_fmt(x.candidate_score), True), _td(x.base_judge or "–"), _td(x.candidate_judge or "–")]
        for x in shown
    ]  # fmt: skip
    head = [
        "change",
        "frame",
        "label",
        "type",
        "class",
        "audit",
        "base",
        "candidate",
        "judge base",
        "judge cand",
    ]
    more = f" (first {limit} of {len(c.changed)})" if len(c.changed) > limit else ""
    title = f"<h2>Items whose verdict changed: {len(c.changed)}{more}</h2>"
    return title + _table(head, rows, [x.change for x in shown])
