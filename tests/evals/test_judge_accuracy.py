"""``gtqa evals judge-accuracy``: the statistics on hand-made answers, and the whole command against a
loopback OpenAI-compatible server (a real HTTP server on 127.0.0.1 in a thread) and against respx."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import respx
from typer.testing import CliRunner

from agents.judge.testing import (
    FAKE_BASE_URL,
    chat_completion,
    fake_settings,
    scripted_responder,
    verdict_content,
)
from evals.harness.dataset import from_file
from evals.judge_accuracy.ask import AccuracyConfig, measure_judge, stratified
from evals.judge_accuracy.measure import (
    Answer,
    BreakEven,
    break_even,
    by_type,
    calibration,
    fit_fusion_accuracy,
    weighted_accuracy,
    wilson,
)
from gtqa.domain import Audit, Box2D, Dataset, Frame, IssueType, Label, Verdict
from gtqa.formats.audits import write_audits
from gtqa.scoring.scorer import PriorScorer
from gtqa.spec import load_spec, shipped_spec_path

N_FRAMES = 8


def _dataset() -> Dataset:
    """N_FRAMES frames, each with a duplicate pair (audited: a defect) and a 4-pixel box (audited: not a
    defect), so a judge that always says "defect" is right on every duplicate and wrong on every box."""
    frames = []
    for n in range(N_FRAMES):
        fid = f"{n:06d}"
        labels = (
            Label(id=f"{fid}:0", frame=fid, cls="Pedestrian", box=Box2D(x1=100, y1=100, x2=130, y2=180)),
            Label(id=f"{fid}:1", frame=fid, cls="Pedestrian", box=Box2D(x1=101, y1=100, x2=131, y2=180)),
            Label(id=f"{fid}:2", frame=fid, cls="Pedestrian", box=Box2D(x1=400, y1=100, x2=404, y2=106)),
        )
        frames.append(Frame(id=fid, labels=labels))
    return Dataset(name="tiny", format="kitti", root=".", frames=tuple(frames))


def _audits(tmp_path: Path) -> Path:
    audits = []
    for n in range(N_FRAMES):
        fid = f"{n:06d}"
        for lab in ("0", "1"):
            audits.append(Audit(id=f"{fid}d{lab}", dataset="acme", frame=fid, label=f"{fid}:{lab}",
                                verdict=Verdict.defect, issue_type=IssueType.duplicate))  # fmt: skip
        audits.append(
            Audit(id=f"{fid}b", dataset="acme", frame=fid, label=f"{fid}:2", verdict=Verdict.not_defect)
        )
    write_audits(tmp_path / "audits.jsonl", audits)
    return tmp_path / "audits.jsonl"


def _config(tmp_path: Path, **kwargs: object) -> AccuracyConfig:
    data = _dataset()
    values: dict[str, object] = {"per_type": 30, "cache_dir": tmp_path / "judge-cache", **kwargs}
    return AccuracyConfig(
        dataset=data,
        evals=from_file(_audits(tmp_path), data),
        spec=load_spec(),
        scorer=PriorScorer(),
        **values,  # type: ignore[arg-type]
    )


class _Always(BaseHTTPRequestHandler):
    """An OpenAI-compatible chat.completions endpoint that answers "defect" at confidence 0.9."""

    requests: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(body)
        payload = json.dumps(
            chat_completion(verdict_content("defect", rule_ids=(), issue_type=None, confidence=0.9))
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback() -> Iterator[str]:
    _Always.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Always)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_wilson_interval_matches_the_textbook_values() -> None:
    lo, hi = wilson(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-3) and hi == pytest.approx(0.9433, abs=1e-3)
    assert wilson(0, 0) == (None, None)
    lo0, hi0 = wilson(0, 10)
    assert lo0 == 0.0 and 0.0 < (hi0 or 0) < 0.35


def test_break_even_has_three_outcomes() -> None:
    assert break_even(0.72, 0.9) == BreakEven.clears
    assert break_even(0.4, 0.69) == BreakEven.below
    assert break_even(0.6, 0.8) == BreakEven.inconclusive
    assert break_even(None, None) == BreakEven.inconclusive


def test_the_fitted_fusion_accuracy_moves_with_how_often_the_judge_is_right() -> None:
    def answers(right: int, n: int) -> list[Answer]:
        return [
            Answer(type="t", outcome=1, verdict="defect" if i < right else "not_defect", confidence=1.0)
            for i in range(n)
        ]

    assert fit_fusion_accuracy(answers(60, 100)) == pytest.approx(0.6, abs=0.01)
    assert fit_fusion_accuracy(answers(90, 100)) == pytest.approx(0.9, abs=0.01)
    assert fit_fusion_accuracy(answers(30, 100)) == 0.5  # worse than a coin: the fusion must not trust it
    assert fit_fusion_accuracy([]) is None


def test_a_judge_overconfident_by_a_lot_has_a_large_calibration_error() -> None:
    honest = [
        Answer(type="t", outcome=1, verdict="defect" if i % 4 else "not_defect", confidence=0.75)
        for i in range(40)
    ]
    boastful = [a.model_copy(update={"confidence": 0.99}) for a in honest]
    assert (calibration(boastful)[1] or 0) > (calibration(honest)[1] or 0) + 0.2


def test_strata_are_weighted_by_their_share_of_the_audited_flags() -> None:
    answers = [Answer(type="a", outcome=1, verdict="defect")] * 10 + [
        Answer(type="b", outcome=1, verdict="not_defect")
    ] * 10
    per_type = by_type(answers)
    even, _, _ = weighted_accuracy(per_type, {"a": 50, "b": 50})
    mostly_a, _, _ = weighted_accuracy(per_type, {"a": 90, "b": 10})
    assert even == pytest.approx(0.5) and mostly_a == pytest.approx(0.9)


def test_the_sample_is_stratified_and_interleaved_by_issue_type(tmp_path: Path) -> None:
    from gtqa.domain import Finding

    def flag(n: int, kind: str) -> tuple[Finding, int]:
        box = (0.0, 0.0, 10.0, 10.0)
        f = Finding(frame="f", label=f"l{n}", type=IssueType(kind), check="c", score=0.5, message="", box=box)
        return f, 1

    flags = [flag(n, "duplicate") for n in range(10)] + [flag(n, "bad_box") for n in range(10, 13)]
    chosen = stratified(flags, 5, seed=0)
    kinds = [f.type.value for f, _ in chosen]
    assert kinds.count("duplicate") == 5 and kinds.count("bad_box") == 3
    assert kinds[:6] == ["bad_box", "duplicate"] * 3  # a cap after six calls still asks about both
    assert stratified(flags, 5, seed=0) == chosen


def test_against_a_loopback_server_every_issue_type_is_measured_and_priced(
    tmp_path: Path, loopback: str
) -> None:
    settings = fake_settings(tmp_path, judge_base_url=loopback)
    result = measure_judge(_config(tmp_path), settings)
    kinds = {t.type: t for t in result.per_type}
    assert kinds["duplicate"].accuracy == 1.0 and kinds["duplicate"].decided == kinds["duplicate"].asked > 0
    others = [t for k, t in kinds.items() if k != "duplicate"]
    assert others and all(t.accuracy == 0.0 for t in others)  # "defect" on a box the auditors passed
    assert result.calls == len(_Always.requests) == sum(t.asked for t in result.per_type)
    assert result.cost_per_question_usd == pytest.approx((1200 * 0.15 + 80 * 0.60) / 1e6)
    per_question = result.cost_per_question_usd or 0.0
    assert result.cost_per_1000_labels_usd == pytest.approx(per_question * result.questions_per_label * 1000)
    assert result.population["duplicate"] >= kinds["duplicate"].asked


def test_the_call_cap_stops_the_questions_and_the_rest_are_unanswered(tmp_path: Path, loopback: str) -> None:
    settings = fake_settings(tmp_path, judge_base_url=loopback, judge_concurrency=1)
    result = measure_judge(_config(tmp_path, max_calls=3), settings)
    assert len(_Always.requests) == 3 == result.calls
    assert result.failures.get("budget", 0) == sum(t.asked for t in result.per_type) - 3
    assert all(t.asked > 0 for t in result.per_type)


@respx.mock
def test_with_respx_a_judge_right_on_every_flag_clears_the_line_and_gets_a_fusion_weight(
    tmp_path: Path,
) -> None:
    outcome = {}
    for n in range(N_FRAMES):
        fid = f"{n:06d}"
        outcome.update({f"{fid}:0": "defect", f"{fid}:1": "defect", f"{fid}:2": "not_defect"})

    def right(data: dict[str, Any]) -> tuple[str, float]:
        return outcome[data["label"]["id"]], 0.95

    route = respx.post(f"{FAKE_BASE_URL}/chat/completions").mock(side_effect=scripted_responder(right))
    result = measure_judge(_config(tmp_path, per_type=30), fake_settings(tmp_path))
    assert result.failures == {}, result.failures
    assert result.pooled.accuracy == 1.0 and route.call_count == result.calls == result.pooled.asked
    assert (
        result.verdict == BreakEven.clears
        and result.fusion_accuracy is not None
        and result.fusion_accuracy >= 0.9
    )
    assert result.triage_band is not None


def test_without_an_endpoint_the_command_says_so_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cli.main import app
    from gtqa.settings import get_settings

    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "GTQA_JUDGE_BASE_URL", "GTQA_JUDGE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    try:
        args = ["evals", "judge-accuracy", "-a", str(_audits(tmp_path)), "-d", str(tmp_path)]
        result = CliRunner().invoke(app, args)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "no judge endpoint" in result.output


def test_the_cost_counts_the_questions_the_configured_triage_asks(tmp_path: Path, loopback: str) -> None:
    # The flags here score 0.21, 0.83 and 0.9: the default band (0.3-0.7) asks about none of them, the
    # wider band of a judge configured as 95% accurate (0.15-0.85) about the first two.
    usual = measure_judge(_config(tmp_path), fake_settings(tmp_path, judge_base_url=loopback))
    trusted = fake_settings(tmp_path, judge_base_url=loopback, judge_accuracy=0.95)
    assert (
        usual.questions_per_label == 0 and measure_judge(_config(tmp_path), trusted).questions_per_label > 0
    )


@respx.mock
def test_the_judge_is_measured_on_the_spec_class_name_not_the_files_alias(tmp_path: Path) -> None:
    """Under the BDD spec the fixture's ``Pedestrian`` is an alias of ``pedestrian``: the question asked
    must spell it as the reviewer graph does (``agents.nodes.load_frames``), or the measured accuracy
    is not that of the questions asked in review."""
    shown: list[str] = []

    def answer(data: dict[str, Any]) -> tuple[str, float]:
        label = data["label"]
        shown.extend([label["class"], *(n["class"] for n in label["neighbours"])])
        return "defect", 0.9

    respx.post(f"{FAKE_BASE_URL}/chat/completions").mock(side_effect=scripted_responder(answer))
    config = dataclasses.replace(_config(tmp_path), spec=load_spec(str(shipped_spec_path("bdd"))))
    measure_judge(config, fake_settings(tmp_path))
    assert shown and set(shown) == {"pedestrian"}
