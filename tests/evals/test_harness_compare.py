"""Comparing two runs: pairing flags, intervals, per-slice tests, changed items and gates."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cli.main import app
from evals.harness.compare import CompareOptions, ComparisonError, compare_runs
from evals.harness.gate import GateError, Outcome, judge_gate, metric_label, parse_gate
from evals.harness.pairing import PairedArrays, pair_items
from evals.harness.records import EvalItem
from evals.harness.slices import too_small
from evals.harness.testing import flag, make_run

FAST = CompareOptions(n_boot=400, budgets=(5,))


def _queue(n: int, *, good: bool) -> list[EvalItem]:
    """n frames, each one real defect and one false alarm; a good run ranks the defect higher."""
    items = []
    for i in range(n):
        high, low = (0.9, 0.2) if good else (0.2, 0.9)
        items.append(flag(f"s{i % 7}/{i:04d}", f"{i}:0", high, 1))
        items.append(flag(f"s{i % 7}/{i:04d}", f"{i}:1", low, 0, type="duplicate"))
    return items


def test_pairing_joins_by_key_and_missing_objects_by_overlap() -> None:
    base = [flag("f", "l1", 0.8, 1), flag("f", None, 0.7, 1, type="missing_object", box=(100, 100, 140, 200))]
    cand = [flag("f", None, 0.6, 1, type="missing_object", box=(102, 101, 141, 203)), flag("f", "l2", 0.9, 0)]
    pairs, conflicts = pair_items(base, cand)
    assert conflicts == 0
    by = {(p.base.key if p.base else None, p.cand.key if p.cand else None) for p in pairs}
    assert ("f|l1|bad_box", None) in by  # the candidate did not raise it: score 0 there
    assert ("f|missing@100,100,140,200", "f|missing@102,101,141,203") in by
    assert (None, "f|l2|bad_box") in by
    arrays = PairedArrays.of(pairs)
    assert len(arrays.items) == 3 and arrays.cand.present.sum() == 2
    assert arrays.cand.score[~arrays.cand.present].tolist() == [0.0]


def test_unknown_items_stay_out_of_the_comparison() -> None:
    items = [*_queue(10, good=True), flag("x/1", "u", 0.99, None)]
    c = compare_runs(make_run(items), make_run(items[:-1]), FAST)
    assert c.items == 21 and c.known == 20


def test_identical_runs_differ_by_nothing_and_pass_a_gate() -> None:
    run = make_run(_queue(30, good=True))
    gate = parse_gate("precision_at_budget<-0.02")
    c = compare_runs(run, run, FAST, (gate,))
    for m in c.metrics:
        assert m.delta in (0.0, None) and m.lo in (0.0, None) and m.hi in (0.0, None)
    assert c.mcnemar.p_value == 1.0 and c.changed == [] and not any(s.regression for s in c.slices)
    assert c.gates[0].passed and c.gates[0].metric == "precision_at_5"


def test_a_worse_candidate_fails_the_gate_and_shows_up_per_slice() -> None:
    base, cand = make_run(_queue(40, good=True), run_id="b"), make_run(_queue(40, good=False), run_id="c")
    gates = tuple(parse_gate(g) for g in ("precision<-0.05", "recall[type=bad_box]<-0.05", "ece>0.8"))
    c = compare_runs(base, cand, replace(FAST, cluster="frame"), gates)  # 40 frames: enough to call
    deltas = {m.metric: m for m in c.metrics}
    assert deltas["precision"].delta == pytest.approx(-1.0) and deltas["precision"].hi == pytest.approx(-1.0)
    assert [g.passed for g in c.gates] == [False, False, True]
    assert [g.outcome for g in c.gates] == [Outcome.worse, Outcome.worse, Outcome.better]
    assert "beyond the margin" in c.gates[0].reason and c.gates[2].hi == pytest.approx(
        0.7
    )  # ECE 0.15 -> 0.85
    assert c.mcnemar.method == "chi2-cc" and c.mcnemar.base_only_right == 80
    bad_box = next(s for s in c.slices if s.dimension == "type" and s.value == "bad_box")
    assert bad_box.regression and bad_box.metrics[1].p_holm is not None and bad_box.metrics[1].p_holm < 0.05
    assert {x.change for x in c.changed} == {"broke"} and len(c.changed) == 80


def test_changed_items_fixed_broke_unknown() -> None:
    base = make_run(
        [flag("a", "1", 0.9, 0), flag("b", "2", 0.2, 1), flag("c", "3", 0.9, None), flag("d", "4", 0.2, 0)]
    )
    cand = make_run([flag("a", "1", 0.2, 0), flag("b", "2", 0.3, 1), flag("c", "3", 0.1, None)])
    c = compare_runs(base, cand, FAST)
    assert [(x.key, x.change) for x in c.changed] == [("a|1|bad_box", "fixed"), ("c|3|bad_box", "unknown")]


def test_runs_on_different_audits_are_refused_unless_allowed() -> None:
    a, b = make_run(_queue(3, good=True)), make_run(_queue(3, good=True), checksum="b" * 64)
    with pytest.raises(ComparisonError, match="different audits"):
        compare_runs(a, b, FAST)
    allowed = compare_runs(a, b, CompareOptions(n_boot=50, allow_different_audits=True))
    assert any("different audits" in w for w in allowed.warnings)


def test_an_undefined_interval_is_inconclusive_and_fails_the_gate() -> None:
    run = make_run(_queue(5, good=True))
    c = compare_runs(run, run, FAST, (parse_gate("precision[class=Car]<-0.1"),))
    assert not c.gates[0].passed and c.gates[0].outcome is Outcome.inconclusive
    assert "cannot be computed" in c.gates[0].reason


@pytest.mark.parametrize(
    "gate, lo, hi, outcome",
    [
        ("precision<-0.02", -0.01, 0.03, Outcome.better),  # at most 0.02 worse
        ("precision<-0.02", 0.01, 0.05, Outcome.better),  # better outright
        ("precision<-0.02", -0.05, -0.03, Outcome.worse),  # more than 0.02 worse
        ("precision<-0.02", -0.05, 0.07, Outcome.inconclusive),  # the issue's -0.010 in [-0.050, +0.070]
        ("ece>0.01", -0.02, 0.005, Outcome.better),
        ("ece>0.01", 0.02, 0.04, Outcome.worse),
        ("ece>0.01", 0.0, 0.03, Outcome.inconclusive),
    ],
)
def test_a_gate_has_three_outcomes_read_off_its_interval(
    gate: str, lo: float, hi: float, outcome: Outcome
) -> None:
    g = parse_gate(gate)
    result = judge_gate(g, g.metric, (lo + hi) / 2, lo, hi)
    assert result.outcome is outcome
    assert result.passed is (outcome is Outcome.better)
    assert result.reason.startswith("The ") and result.reason.endswith(".") and result.reason.count(". ") == 0
    assert f"[{lo:+.3f}, {hi:+.3f}]" in result.reason
    lenient = judge_gate(g, g.metric, (lo + hi) / 2, lo, hi, inconclusive_passes=True)
    assert lenient.passed is (outcome is not Outcome.worse)


def test_a_small_noisy_comparison_is_inconclusive_not_worse() -> None:
    rng = np.random.default_rng(3)
    base = [
        flag(f"s{i % 4}/{i:04d}", f"{i}", float(rng.uniform()), int(rng.uniform() < 0.5)) for i in range(24)
    ]
    cand = [x.model_copy(update={"score": float(np.clip(x.score + rng.normal(0, 0.2), 0, 1))}) for x in base]
    c = compare_runs(make_run(base), make_run(cand), FAST, (parse_gate("precision<-0.02"),))
    g = c.gates[0]
    assert g.lo is not None and g.hi is not None and g.lo < -0.02 <= g.hi  # the interval straddles the margin
    assert g.outcome is Outcome.inconclusive and not g.passed
    lenient = compare_runs(
        make_run(base),
        make_run(cand),
        replace(FAST, inconclusive_passes=True),
        (parse_gate("precision<-0.02"),),
    )
    assert lenient.gates[0].outcome is Outcome.inconclusive and lenient.gates[0].passed


def test_precision_at_budget_names_its_k_wherever_it_appears() -> None:
    run = make_run(_queue(10, good=True))
    c = compare_runs(run, run, FAST, (parse_gate("precision_at_budget<-0.02"),))
    assert c.gates[0].gate == "precision_at_budget (K=5)<-0.02" and c.gates[0].metric == "precision_at_5"
    assert "precision at budget K=5" in c.gates[0].reason
    assert metric_label("precision_at_200") == "precision at budget K=200" and metric_label("ap") == "ap"


def test_the_report_shows_each_run_on_its_own_flags_beside_the_pooled_figures() -> None:
    base = make_run(_queue(10, good=True))
    cand = make_run(_queue(10, good=True)[::2])  # the candidate drops every false alarm and no defect
    c = compare_runs(base, cand, CompareOptions(n_boot=100, budgets=(100, 5)))
    recall = next(m for m in c.metrics if m.metric == "recall")
    assert (
        recall.base_own == base.metrics.overall.recall and recall.candidate_own == cand.metrics.overall.recall
    )
    p100 = next(m for m in c.metrics if m.metric == "precision_at_100")
    assert p100.candidate_own == cand.metrics.overall.precision_at["100"] is not None
    p5 = next(m for m in c.metrics if m.metric == "precision_at_5")
    assert p5.candidate_own is None  # the run itself measured K = 100 and 200 only


def test_each_slice_says_why_it_is_or_is_not_a_regression() -> None:
    base, cand = make_run(_queue(40, good=True), run_id="b"), make_run(_queue(40, good=False), run_id="c")
    c = compare_runs(base, cand, FAST)
    assert c.slice_comparisons == 2 * len(c.slices)
    for s in c.slices:
        assert s.verdict and s.clusters >= 1
        if s.regression:
            assert s.verdict.startswith("Regression")
    bad_box = next(s for s in c.slices if s.value == "bad_box")
    # 7 sequences cannot clear a correction over 8 comparisons (2 * 0.5**7 * 8 = 0.125); 40 frames can
    assert bad_box.clusters == 7 and bad_box.too_small and bad_box.verdict.startswith("Too small to call")
    by_frame = compare_runs(base, cand, replace(FAST, cluster="frame"))
    bad_box = next(s for s in by_frame.slices if s.value == "bad_box")
    assert bad_box.clusters == 40 and bad_box.regression and bad_box.verdict.startswith("Regression")


def test_a_slice_of_few_clusters_is_too_small_to_call() -> None:
    assert too_small(3, 20, 0.05)  # best p 0.25, times 20
    assert not too_small(12, 20, 0.05)  # best p 0.00049, times 20 = 0.0098
    base = [*_queue(40, good=True), flag("lonely/1", "x", 0.9, 1, cls="Cyclist")]
    cand = [*_queue(40, good=True), flag("lonely/1", "x", 0.1, 1, cls="Cyclist")]
    c = compare_runs(make_run(base), make_run(cand), FAST)
    cyclist = next(s for s in c.slices if s.value == "Cyclist")
    assert cyclist.too_small and not cyclist.regression and cyclist.verdict.startswith("Too small to call")


@pytest.mark.parametrize(
    "text, metric, op, margin, cut",
    [
        ("precision_at_budget<-0.02", "precision_at_budget", "<", -0.02, None),
        (" recall < -.05 ", "recall", "<", -0.05, None),
        ("ece>0.01", "ece", ">", 0.01, None),
        ("precision_at_200<-1e-2", "precision_at_200", "<", -0.01, None),
        ("precision[type=bad_box]<-0.05", "precision", "<", -0.05, ("type", "bad_box")),
        ("f1[vendor=acme corp]<0", "f1", "<", 0.0, ("vendor", "acme corp")),
    ],
)
def test_gate_syntax(text: str, metric: str, op: str, margin: float, cut: tuple[str, str] | None) -> None:
    gate = parse_gate(text)
    assert (gate.metric, gate.op, gate.margin, gate.slice) == (metric, op, margin, cut)


@pytest.mark.parametrize("text", ["precision<=-0.02", "accuracy<0", "precision[colour=red]<0", "recall<"])
def test_bad_gates_say_why(text: str) -> None:
    with pytest.raises(GateError, match="gate"):
        parse_gate(text)


def test_sequence_clusters_group_frames_of_one_sequence() -> None:
    pairs, _ = pair_items(_queue(14, good=True), _queue(14, good=True))
    assert PairedArrays.of(pairs, "sequence").n_clusters == 7
    assert PairedArrays.of(pairs, "frame").n_clusters == 14
    assert np.unique(PairedArrays.of(pairs).clusters).size == 7


def test_cli_input_errors_exit_2_and_a_failed_gate_exits_1(tmp_path: Path) -> None:
    runner = CliRunner()
    make_run(_queue(20, good=True), run_id="b").save(tmp_path / "b.json")
    make_run(_queue(20, good=False), run_id="c").save(tmp_path / "c.json")
    compare = ["evals", "compare", str(tmp_path / "b.json"), str(tmp_path / "c.json"), "--bootstrap", "100"]
    assert runner.invoke(app, [*compare, "--fail-if", "precision<=0"]).exit_code == 2
    assert (
        runner.invoke(app, ["evals", "compare", str(tmp_path / "b.json"), str(tmp_path / "x.json")]).exit_code
        == 2
    )
    worse = runner.invoke(app, [*compare, "--fail-if", "ap<-0.01"])
    assert worse.exit_code == 1 and "WORSE (fails) ap<-0.01" in worse.output
    assert (
        runner.invoke(app, [*compare[:2], str(tmp_path / "b.json"), str(tmp_path / "b.json")]).exit_code == 0
    )
    missing = [
        "evals",
        "run",
        "--audits",
        str(tmp_path / "none.jsonl"),
        "--dataset",
        str(tmp_path),
        "--out",
        "x",
    ]
    assert runner.invoke(app, missing).exit_code == 2
