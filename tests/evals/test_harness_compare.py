"""Comparing two runs: pairing flags, intervals, per-slice tests, changed items and gates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cli.main import app
from evals.harness.compare import CompareOptions, ComparisonError, compare_runs
from evals.harness.gate import GateError, parse_gate
from evals.harness.pairing import PairedArrays, pair_items
from evals.harness.records import EvalItem
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
    c = compare_runs(base, cand, FAST, gates)
    deltas = {m.metric: m for m in c.metrics}
    assert deltas["precision"].delta == pytest.approx(-1.0) and deltas["precision"].hi == pytest.approx(-1.0)
    assert [g.passed for g in c.gates] == [False, False, True]
    assert "lower bound" in c.gates[0].reason and c.gates[2].hi == pytest.approx(0.7)  # ECE 0.15 -> 0.85
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


def test_an_undefined_interval_fails_the_gate() -> None:
    run = make_run(_queue(5, good=True))
    c = compare_runs(run, run, FAST, (parse_gate("precision[class=Car]<-0.1"),))
    assert not c.gates[0].passed and "undefined" in c.gates[0].reason


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
    assert runner.invoke(app, [*compare, "--fail-if", "ap<-0.01"]).exit_code == 1
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
