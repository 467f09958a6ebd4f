"""Every eval run records its configuration, and a comparison says what differs between two runs:
checks excluded, a rule's parameter, a prompt version, the calibration, the judge; and the command line
and name of each run."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agents.judge.testing import fake_settings
from cli.main import app
from evals.harness.compare import CompareOptions, compare_runs
from evals.harness.config import config_diff
from evals.harness.dataset import from_file
from evals.harness.html import render_report
from evals.harness.run import RunConfig, run_eval
from evals.harness.runfile import EvalRun, PromptRef, RuleRef, RunConfiguration
from evals.harness.testing import flag, make_run
from gtqa.domain import Audit, Box2D, Dataset, Frame, IssueType, Label, Verdict
from gtqa.formats.audits import write_audits
from gtqa.spec import load_spec

FAST = CompareOptions(n_boot=100, budgets=(5,))


def _dataset() -> Dataset:
    def ped(n: int, x: float) -> Label:
        return Label(id=f"a:{n}", frame="a", cls="Pedestrian", box=Box2D(x1=x, y1=100, x2=x + 30, y2=180))

    tiny = Label(id="a:2", frame="a", cls="Pedestrian", box=Box2D(x1=400, y1=100, x2=404, y2=106))
    return Dataset(
        name="tiny",
        format="kitti",
        root=".",
        frames=(Frame(id="a", labels=(ped(0, 100), ped(1, 101), tiny)),),
    )


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


def test_a_run_records_its_rules_prompt_files_checks_and_name(tmp_path: Path) -> None:
    data, spec = _dataset(), load_spec()
    config = RunConfig(
        dataset=data,
        evals=from_file(_audits(tmp_path), data),
        spec=spec,
        exclude=["duplicate"],
        name="no dups",
    )
    run = run_eval(config, fake_settings(tmp_path))
    c = run.provenance.config
    assert c is not None and c.name == run.provenance.name == "no dups"
    assert c.checks_excluded == ("duplicate",) and c.checks_requested is None and not c.as_written
    assert set(c.rules) == set(spec.rules) and c.rules["box-size"].hash == spec.rules["box-size"].hash
    assert {p.id for p in c.prompt_files} >= {"review-flag", "prose-rule"}
    assert all(p.path.startswith("prompts/judge/") and len(p.sha256) == 64 for p in c.prompt_files)
    assert "duplicate" not in run.provenance.checks


def test_the_comparison_of_a_run_with_a_check_excluded_says_so_first(tmp_path: Path) -> None:
    data, spec = _dataset(), load_spec()
    evals, settings = from_file(_audits(tmp_path), data), fake_settings(tmp_path)
    base = run_eval(RunConfig(dataset=data, evals=evals, spec=spec, name="as written"), settings)
    cand = run_eval(
        RunConfig(dataset=data, evals=evals, spec=spec, exclude=["duplicate"], name="no dups"), settings
    )
    c = compare_runs(base, cand, FAST)
    changed = {x.field: (x.base, x.candidate) for x in c.changes}
    assert changed["checks excluded"] == ("none", "duplicate")
    assert changed["checks run by one run only"] == ("duplicate", "none")
    assert not any(f.startswith(("rule ", "prompt ", "calibration", "judge")) for f in changed)
    assert (c.base.title, c.candidate.name) == (f"as written ({base.id})", "no dups")
    html = render_report(c, base, cand)
    assert html.index("What changed") < html.index("The runs") < html.index("Overall")
    assert "checks excluded" in html and "no dups" in html


def _with(run: EvalRun, **config: object) -> EvalRun:
    values = {"budgets": (5,), **config}
    provenance = run.provenance.model_copy(update={"config": RunConfiguration.model_validate(values)})
    return run.model_copy(update={"provenance": provenance})


def test_a_rule_parameter_or_prompt_version_change_is_a_rule_level_difference() -> None:
    run = make_run([flag("a", "1", 0.9, 1)])
    rule = RuleRef(kind="thresholds", hash="h1" * 32, params={"min_iou": 0.5, "max_gap": 3})
    prompt = PromptRef(id="review-flag", version=2, sha256="p" * 64, path="prompts/judge/review-flag.v2.md")
    base = _with(run, rules={"thresholds": rule}, prompt_files=(prompt,))
    cand = _with(
        run,
        rules={
            "thresholds": rule.model_copy(
                update={"hash": "h2" * 32, "params": {"min_iou": 0.6, "max_gap": 3}}
            )
        },
        prompt_files=(prompt.model_copy(update={"version": 3, "sha256": "q" * 64}),),
    )
    changed = {x.field: (x.base, x.candidate) for x in config_diff(base.provenance, cand.provenance)}
    assert changed["rule thresholds: min_iou"] == ("0.5", "0.6")
    assert "rule thresholds: max_gap" not in changed and "rule thresholds" in changed
    assert changed["prompt review-flag"] == (f"v2 ({'p' * 12})", f"v3 ({'q' * 12})")
    assert config_diff(base.provenance, base.provenance) == []


def test_runs_written_before_the_configuration_was_recorded_still_diff_on_their_provenance() -> None:
    old = make_run([flag("a", "1", 0.9, 1)])
    other = make_run(
        [flag("a", "1", 0.9, 1)],
        calibration="sha256:" + "c" * 64,
        calibration_path="x.json",
        judge_mode="live",
    )
    fields = {x.field for x in config_diff(old.provenance, other.provenance)}
    assert {"calibration", "calibration file", "judge"} <= fields
    assert old.provenance.config is None and old.provenance.as_written


def test_the_command_line_and_name_are_recorded_and_printed(shared_data: Path, tmp_path: Path) -> None:
    root = shared_data / "kitti_rechecked"
    frames = (root / "frames.txt").read_text().split()[:5]
    (tmp_path / "frames.txt").write_text("\n".join(frames) + "\n")
    out = tmp_path / "run.json"
    args = ["evals", "run", "--audits", str(root / "recheck.csv"), "--dataset", str(root),
            "-p", str(root / "pred_2"), "--frames", str(tmp_path / "frames.txt"), "--exclude", "pred_bad_box",
            "--name", "no pred_bad_box", "--out", str(out), "--no-store"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    run = EvalRun.load(out)
    c = run.provenance.config
    assert c is not None and c.name == "no pred_bad_box" and c.checks_excluded == ("pred_bad_box",)
    assert c.command is not None and c.command.startswith("gtqa evals run ")
    assert "--exclude pred_bad_box" in c.command and "--name 'no pred_bad_box'" in c.command
    assert "--threshold" not in c.command  # defaults are left out
    assert "no pred_bad_box" in result.output
    assert json.loads(out.read_text())["provenance"]["config"]["default_calibration"] is True
