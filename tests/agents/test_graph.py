"""The reviewer graph: agreement with the heuristics-only path, triage, the judge's fan-out and fusion.

The judge's endpoint is mocked with respx at the HTTP level and answers from a fixed rule."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path
from typing import Any

import pytest
import respx

from agents.context import DatasetSource, TriagePolicy
from agents.graph import build_graph, run_config
from agents.judge import build_judge
from agents.judge.testing import FAKE_BASE_URL, fake_settings, scripted_responder
from agents.run import build_context, review
from gtqa.domain import Box2D, Cuboid3D, Dataset, Frame, IssueType, Label
from gtqa.formats import load_dataset
from gtqa.review import plan_checks, review_dataset
from gtqa.spec import load_spec, shipped_spec_path

COMPLETIONS = f"{FAKE_BASE_URL}/chat/completions"


def _tracking(shared_data: Path) -> Dataset:
    return load_dataset(
        shared_data / "kitti_tracking", predictions=[shared_data / "kitti_tracking/detections"]
    )


def test_without_a_judge_the_agent_agrees_with_the_heuristics_exactly(shared_data: Path) -> None:
    data, spec = _tracking(shared_data), load_spec()
    agent = review(data, spec, chunk_size=40)
    reference = review_dataset(data, spec, chunk_size=64)
    assert [f.model_dump() for f in agent.findings] == [f.model_dump() for f in reference.findings]
    assert agent.judge_tasks == 0


def _dataset() -> Dataset:
    """Two cars: a clear duplicate pair (certain), and a pedestrian with a dubious box size."""
    cub = Cuboid3D(h=1.5, w=1.6, l=3.9, x=1.0, y=1.6, z=20.0, rotation_y=0.0)
    labels = (
        Label(id="f:0", frame="f", cls="Car", box=Box2D(x1=100, y1=150, x2=200, y2=220), cuboid=cub),
        Label(id="f:1", frame="f", cls="Car", box=Box2D(x1=101, y1=150, x2=201, y2=221), cuboid=cub),
        Label(id="f:2", frame="f", cls="Pedestrian", box=Box2D(x1=400, y1=150, x2=404, y2=158)),
    )
    return Dataset(name="t", format="kitti", root=".", frames=(Frame(id="f", labels=labels),))


def _judged(tmp_path: Path, decide: Any, **settings: Any) -> tuple[Any, respx.Route, list[Any]]:
    data, spec = _dataset(), load_spec()
    reference = review_dataset(data, spec).findings
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(COMPLETIONS).mock(side_effect=scripted_responder(decide))
        judge = build_judge(fake_settings(tmp_path, **settings))
        # Every uncertain flag, and the prose rule on any flagged label: the fan-out at its widest.
        policy = TriagePolicy(
            low=0.05, high=0.95, judge_accuracy=0.9, one_question_per_label=False, prose_needs_issue=False
        )
        result = review(data, spec, judge=judge, triage=policy)
        judge.close()
    return result, route, reference


def test_uncertain_flags_go_to_the_judge_and_its_verdict_moves_their_score(tmp_path: Path) -> None:
    result, route, reference = _judged(tmp_path, lambda data: ("not_defect", 1.0))
    uncertain = [f for f in reference if 0.05 < f.score < 0.95 and f.label is not None]
    assert uncertain, "the fixture must produce an uncertain flag"
    # one call per uncertain flag, plus the prose rule for the flagged pedestrian
    assert route.call_count == result.judge_tasks >= len(uncertain)
    by_key = {(f.label, f.type): f for f in result.findings}
    for before in uncertain:
        after = by_key[(before.label, before.type)]
        assert after.judge is not None and after.judge.verdict == "not_defect"
        assert after.heuristic_score == pytest.approx(before.score)
        assert after.score < before.score
    certain = [f for f in reference if not 0.05 < f.score < 0.95]
    for before in certain:
        assert by_key[(before.label, before.type)].judge is None


def test_a_defect_verdict_raises_the_score_and_a_prose_rule_becomes_a_flag(tmp_path: Path) -> None:
    result, _, reference = _judged(tmp_path, lambda data: ("defect", 0.9))
    prose = [f for f in result.findings if f.check == "judge:pedestrian-pushing-bicycle"]
    assert [f.label for f in prose] == ["f:2"]
    assert prose[0].type is IssueType.wrong_class
    before = {(f.label, f.type): f.score for f in reference}
    raised = [f for f in result.findings if f.judge is not None and (f.label, f.type) in before]
    assert raised and all(f.score > before[(f.label, f.type)] for f in raised)


def test_the_budget_cap_ends_in_needs_human_without_more_calls(tmp_path: Path) -> None:
    result, route, _ = _judged(tmp_path, lambda data: ("defect", 0.9), judge_max_calls=1)
    assert route.call_count == 1
    waiting = [f for f in result.findings if f.needs_human]
    assert waiting and all(f.judge is not None and f.judge.failure == "budget" for f in waiting)
    assert result.judge is not None and result.judge.calls == 1


def test_no_endpoint_means_heuristics_only_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    judge = build_judge(fake_settings(tmp_path, judge_base_url=None, judge_api_key=None), environ={})
    data, spec = _dataset(), load_spec()
    with caplog.at_level(logging.WARNING), respx.mock(assert_all_called=False) as mock:
        route = mock.post(COMPLETIONS)
        result = review(data, spec, judge=judge, chunk_size=1)
    assert route.call_count == 0
    assert [f.model_dump() for f in result.findings] == [
        f.model_dump() for f in review_dataset(data, spec).findings
    ]
    assert sum("heuristics only" in r.message for r in caplog.records) == 1


def _bdd_pedestrian(cls: str) -> Dataset:
    """One BDD pedestrian, spelt ``cls`` (the BDD spec's ``pedestrian``, or its alias ``Pedestrian``)."""
    label = Label(id="f:0", frame="f", cls=cls, box=Box2D(x1=400, y1=150, x2=402, y2=152))
    return Dataset(
        name="t", format="bdd", root=".", frames=(Frame(id="f", width=1280, height=720, labels=(label,)),)
    )


def _prose_questions(
    tmp_path: Path, cls: str, *, raw_source: bool
) -> tuple[list[tuple[str, str | None]], set[str]]:
    """The judge's prose-rule findings on the pedestrian and the classes its questions showed, through
    ``review`` (the CLI and evals) or, ``raw_source``, through a source giving frames as stored (what
    the workers' ``DbFrameSource`` does)."""
    data, spec = _bdd_pedestrian(cls), load_spec(str(shipped_spec_path("bdd")))
    policy = TriagePolicy(low=0.0, high=1.0, one_question_per_label=False, prose_needs_issue=False)
    with respx.mock(assert_all_called=False) as mock:
        shown: list[str] = []  # the class each question showed the judge

        def answer(request: dict[str, Any]) -> tuple[str, float]:
            shown.append(request["label"]["class"])
            return "defect", 0.9

        mock.post(COMPLETIONS).mock(side_effect=scripted_responder(answer))
        judge = build_judge(fake_settings(tmp_path))
        if raw_source:
            ctx = build_context(data, spec, plan_checks(data)[0], judge=judge, triage=policy)
            ctx = dataclasses.replace(ctx, source=DatasetSource(data))
            out = asyncio.run(build_graph().ainvoke({"frame_ids": ["f"]}, config=run_config(), context=ctx))
            findings = out["findings"]
        else:
            findings = review(data, spec, judge=judge, triage=policy).findings
        judge.close()
    return [(f.check, f.label) for f in findings if f.check.startswith("judge:")], set(shown)


@pytest.mark.parametrize("raw_source", [False, True])
def test_an_aliased_class_is_asked_the_prose_rules_of_the_spec_class(
    tmp_path: Path, raw_source: bool
) -> None:
    canonical = _prose_questions(tmp_path / "a", "pedestrian", raw_source=raw_source)
    assert canonical == ([("judge:rider-or-pedestrian", "f:0")], {"pedestrian"})
    assert _prose_questions(tmp_path / "b", "Pedestrian", raw_source=raw_source) == canonical
