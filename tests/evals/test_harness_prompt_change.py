"""A prompt change evaluated end to end on the real re-check, with a scripted judge (respx, no network).

The scripted judge knows the audits: asked with ``review-flag`` v1 it answers rightly, with the bumped
v2 (a copy of the prompts folder with one new file) it answers wrongly. Re-running with v2 asks only
the questions whose prompt changed (the others come from the judge's cache), the gate blocks v2, and a
recorded cache replays the run offline with no HTTP request at all.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from typer.testing import CliRunner

from agents.context import TriagePolicy
from agents.judge.prompts import PROMPTS_DIR
from agents.judge.testing import (
    FAKE_BASE_URL,
    chat_completion,
    fake_settings,
    request_label_data,
    verdict_content,
)
from cli.main import app
from evals.harness.compare import compare_runs
from evals.harness.dataset import from_file
from evals.harness.gate import parse_gate
from evals.harness.run import RunConfig, run_eval
from evals.harness.runfile import EvalRun
from gtqa.formats import load_dataset
from gtqa.settings import Settings, get_settings
from gtqa.spec import load_spec

COMPLETIONS = f"{FAKE_BASE_URL}/chat/completions"
MARK = "Revision v2: weigh the check's evidence above what you see."


def _prompts(root: Path, version: int) -> Path:
    """A copy of the shipped prompts with ``review-flag`` bumped to ``version`` (marked in its text)."""
    folder = root / f"prompts-v{version}" / "judge"
    shutil.copytree(PROMPTS_DIR, folder)
    if version > 1:
        text = (PROMPTS_DIR / "review-flag.v1.md").read_text(encoding="utf-8")
        text = text.replace("version: 1\n", f"version: {version}\n", 1).replace(
            "# User", f"{MARK}\n\n# User", 1
        )
        (folder / f"review-flag.v{version}.md").write_text(text, encoding="utf-8")
    return folder.parent


def _responder(truth: dict[str, int]) -> Callable[[httpx.Request], httpx.Response]:
    """Right about every audited label with review-flag v1, wrong with v2; prose rules: never broken."""

    def respond(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        data = request_label_data(request)
        rule_ids = tuple(part.split('"', 1)[0] for part in _user(body).split('<spec_rule id="')[1:])
        defect = truth.get(data["label"]["id"], 0) == 1 if data.get("evidence") else False
        if MARK in body["messages"][0]["content"]:
            defect = not defect
        issue = data["evidence"]["issue_type"] if defect else None
        verdict = "defect" if defect else "not_defect"
        content = verdict_content(verdict, rule_ids=rule_ids, issue_type=issue, confidence=0.9)
        return httpx.Response(200, json=chat_completion(content))

    return respond


def _user(body: dict[str, Any]) -> str:
    return "".join(p["text"] for p in body["messages"][1]["content"] if p["type"] == "text")


@pytest.fixture(scope="module")
def recheck(shared_data: Path) -> tuple[Any, Any]:
    root = shared_data / "kitti_rechecked"
    data = load_dataset(root, "kitti", [root / "pred_2"])
    return data, from_file(root / "recheck.csv", data)


def _policy() -> TriagePolicy:
    """Also ask the prose rule about every flagged pedestrian (the spec's ``ask_when: flagged``), so that
    a run asks questions of two prompts and a change to one leaves the other's answers in the cache."""
    names = {f.name for f in dataclasses.fields(TriagePolicy)}
    return TriagePolicy(**({"prose_needs_issue": False} if "prose_needs_issue" in names else {}))


def _run(recheck: tuple[Any, Any], settings: Settings, prompts: Path, *, offline: bool = False) -> EvalRun:
    data, evals = recheck
    config = RunConfig(
        dataset=data, evals=evals, spec=load_spec(), judge=True, offline=offline,
        prompts_dir=prompts / "judge", triage=_policy(),
    )  # fmt: skip
    return run_eval(config, settings)


def test_a_prompt_change_costs_only_its_calls_and_the_gate_blocks_a_worse_prompt(
    recheck: tuple[Any, Any], tmp_path: Path
) -> None:
    settings = fake_settings(tmp_path, judge_max_calls=5000)
    heuristic = run_eval(RunConfig(dataset=recheck[0], evals=recheck[1], spec=load_spec()), settings)
    truth = {i.label: i.outcome for i in heuristic.items if i.label and i.outcome is not None}
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(COMPLETIONS).mock(side_effect=_responder(truth))
        base = _run(recheck, settings, _prompts(tmp_path, 1))
        base_calls = route.call_count
        cand = _run(recheck, settings, _prompts(tmp_path, 2))
        cand_calls = route.call_count - base_calls

    assert base.judge is not None and cand.judge is not None
    assert base_calls == base.judge.calls == base.judge.questions > 20 and base.judge.cache_hits == 0
    assert base.provenance.prompt_versions == {"review-flag": 1, "prose-rule": 1}
    assert cand.provenance.prompt_versions == {"review-flag": 2, "prose-rule": 1}
    changed = [i for i in cand.items if i.judge and i.judge.prompt_id == "review-flag"]
    assert changed and all(not i.judge.cached and i.judge.prompt_version == 2 for i in changed if i.judge)
    # only the review-flag questions were asked again; the prose-rule ones came from the cache
    assert cand_calls == cand.judge.calls == cand.judge.questions - cand.judge.cache_hits
    assert cand.judge.cache_hits == base.judge.questions - cand_calls > 0
    assert base.judge.wrong == 0 and cand.judge.correct == 0 and cand.judge.wrong > 0
    assert base.infra.total == cand.infra.total == 0

    gate = parse_gate("precision_at_budget<-0.02")
    c = compare_runs(base, cand, gates=(gate,))
    assert not c.gates[0].passed and c.gates[0].hi is not None and c.gates[0].hi < 0
    delta = next(m for m in c.metrics if m.metric == c.gates[0].metric)
    print(  # recorded in benchmarks/RESULTS.md §6: pytest -s -k worse shows the figures
        f"base {base_calls} calls; candidate {cand_calls} calls, {cand.judge.cache_hits} from the cache; "
        f"{delta.metric} {delta.base} -> {delta.candidate} "
        f"({delta.delta:+.2f} [{delta.lo:+.2f}, {delta.hi:+.2f}])"
    )
    assert any(x.change == "broke" for x in c.changed)

    base.save(tmp_path / "base.json")
    cand.save(tmp_path / "cand.json")
    compare = ["evals", "compare", str(tmp_path / "base.json"), str(tmp_path / "cand.json")]
    result = CliRunner().invoke(
        app, [*compare, "--fail-if", "precision_at_budget<-0.02", "--bootstrap", "500"]
    )
    assert result.exit_code == 1, result.output


def test_a_recorded_cache_replays_offline_and_misses_are_infrastructure_errors(
    recheck: tuple[Any, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = fake_settings(tmp_path, judge_max_calls=5000)
    v2 = _prompts(tmp_path, 2)
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(COMPLETIONS).mock(side_effect=_responder({}))
        live = _run(recheck, settings, v2)
        recorded = route.call_count
        offline = _run(recheck, settings, v2, offline=True)
        missed = _run(recheck, settings, _prompts(tmp_path, 3), offline=True)
        assert route.call_count == recorded  # offline: not one HTTP request

    assert offline.provenance.judge_mode == "offline" and offline.judge and offline.judge.calls == 0
    assert [(i.key, i.score) for i in offline.items] == [(i.key, i.score) for i in live.items]
    assert live.infra.total == offline.infra.total == 0
    flag_questions = sum(1 for i in missed.items if i.judge and i.judge.prompt_id == "review-flag")
    assert missed.infra.judge == {"offline": flag_questions} and flag_questions > 0
    assert all(i.needs_human for i in missed.items if i.judge and i.judge.failure == "offline")

    # the same replay through the CLI, with no endpoint configured at all: the cache directory is enough
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "GTQA_JUDGE_BASE_URL", "GTQA_JUDGE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GTQA_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    try:
        root = Path(recheck[0].root)
        args = ["evals", "run", "-a", str(root / "recheck.csv"), "-d", str(root), "-p", str(root / "pred_2")]
        args += ["--offline", "--cache-dir", str(settings.judge_cache_dir), "--prompts", str(v2)]
        args += ["--no-default-calibration"]  # the runs above score with the priors (RunConfig's default)
        result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "offline.json")])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    replay = EvalRun.load(tmp_path / "offline.json")
    assert [(i.key, i.score) for i in replay.items] == [(i.key, i.score) for i in live.items]
