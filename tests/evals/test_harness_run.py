"""A replay on a tiny hand-made dataset: outcomes from a JSONL audit file, unknown flags, provenance, a
judge without an endpoint, and a crashing check counted as an infrastructure error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import agents.run
from agents.judge.testing import fake_settings
from evals.harness.dataset import from_file
from evals.harness.run import RunConfig, run_eval
from gtqa.checks.base import Check, CheckParams
from gtqa.domain import Audit, Box2D, CheckFamily, Dataset, Frame, IssueType, Label, Verdict
from gtqa.formats.audits import write_audits
from gtqa.review import plan_checks
from gtqa.spec import load_spec


def _dataset() -> Dataset:
    def ped(frame: str, n: int, x: float) -> Label:
        return Label(
            id=f"{frame}:{n}", frame=frame, cls="Pedestrian", box=Box2D(x1=x, y1=100, x2=x + 30, y2=180)
        )

    tiny = Label(id="a:2", frame="a", cls="Pedestrian", box=Box2D(x1=400, y1=100, x2=404, y2=106))
    flat = Label(id="a:3", frame="a", cls="Pedestrian", box=Box2D(x1=600, y1=100, x2=590, y2=180))
    frames = (
        Frame(id="a", labels=(ped("a", 0, 100), ped("a", 1, 101), tiny, flat)),  # a duplicate pair, …
        Frame(id="b", labels=(ped("b", 0, 200), ped("b", 1, 201))),  # another pair, not audited
    )
    return Dataset(name="tiny", format="kitti", root=".", frames=frames)


def _audits(tmp_path: Path) -> Path:
    audits = [
        Audit(
            id="1",
            dataset="acme",
            frame="a",
            label="a:1",
            verdict=Verdict.defect,
            issue_type=IssueType.duplicate,
        ),
        Audit(id="2", dataset="acme", frame="a", label="a:2", verdict=Verdict.not_defect),
    ]
    write_audits(tmp_path / "audits.jsonl", audits)
    return tmp_path / "audits.jsonl"


def test_outcomes_unknowns_and_provenance(tmp_path: Path) -> None:
    data = _dataset()
    evals = from_file(_audits(tmp_path), data)
    run = run_eval(RunConfig(dataset=data, evals=evals, spec=load_spec()), fake_settings(tmp_path))
    outcome = {i.label: i.outcome for i in run.items}
    assert outcome == {"a:1": 1, "a:2": 0, "a:3": None}  # a:3 was not audited; frame b is not replayed
    assert run.metrics.overall.known == 2 and run.metrics.overall.flags == 3
    assert all(i.vendor == "acme" for i in run.items)
    p = run.provenance
    assert p.dataset.frames == 2 and p.dataset.frames_replayed == 1 and p.audits.exhaustive_frames == 0
    assert p.audits.sources == (str(tmp_path / "audits.jsonl"),) and p.judge_mode == "off"
    assert p.settings["triage"]["judge_accuracy"] == 0.8 and "judge_api_key" not in p.settings
    assert run.judge is None and run.infra.total == 0


def test_a_judge_without_endpoint_is_disabled_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    data = _dataset()
    settings = fake_settings(tmp_path, judge_base_url=None, judge_api_key=None)
    run = run_eval(
        RunConfig(dataset=data, evals=from_file(_audits(tmp_path), data), spec=load_spec(), judge=True),
        settings,
    )
    assert run.provenance.judge_mode.startswith("disabled: no judge endpoint")
    assert run.judge is not None and run.judge.questions == run.judge.calls == 0


class _Params(CheckParams):
    pass


def _boom(scope: Any, params: _Params) -> list[Any]:
    raise RuntimeError("disk on fire")


def test_a_crashing_check_is_an_infrastructure_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crash = Check(
        id="boom",
        fn=_boom,
        params=_Params,
        issue_types=(IssueType.bad_box,),
        family=CheckFamily.geometry,
        description="",
    )
    real = plan_checks
    monkeypatch.setattr(agents.run, "plan_checks", lambda *a: ([*real(*a)[0], crash], {}))
    data = _dataset()
    run = run_eval(
        RunConfig(dataset=data, evals=from_file(_audits(tmp_path), data), spec=load_spec()),
        fake_settings(tmp_path),
    )
    assert run.infra.check_errors == 1 and "disk on fire" in run.infra.check_messages[0]
    assert run.infra.total == 1 and any(i.outcome == 1 for i in run.items)  # the other checks still ran


def test_a_run_with_the_shipped_calibration_parses_its_file_once(
    tmp_path: Path, calibration_reads: list[Path]
) -> None:
    from gtqa.scoring.calibration import default_calibration_path

    data, spec = _dataset(), load_spec()
    config = RunConfig(
        dataset=data, evals=from_file(_audits(tmp_path), data), spec=spec, default_calibration=True
    )
    run = run_eval(config, fake_settings(tmp_path))
    assert run.provenance.calibration.startswith("sha256:")
    assert run.provenance.calibration_path is not None
    assert set(calibration_reads) <= {default_calibration_path(spec)} and len(calibration_reads) <= 1
