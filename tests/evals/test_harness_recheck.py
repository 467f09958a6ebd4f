"""The harness end to end on the real crowd re-check of KITTI pedestrians (``kitti_rechecked``), through
the CLI: two check settings compared, and a calibration fitted on half the frames, measured on the rest."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agents.run import review
from cli.main import app
from evals.harness.dataset import audited_frames, from_file
from evals.harness.records import item_key
from evals.harness.run import RunConfig, run_eval
from evals.harness.runfile import EvalRun
from evals.harness.splits import fit_on, split_sequences
from evals.harness.store import list_runs
from gtqa.formats import load_dataset
from gtqa.scoring.targets import audit_targets
from gtqa.settings import get_settings
from gtqa.spec import load_spec

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("GTQA_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield tmp_path / "home"
    get_settings.cache_clear()


def _run(root: Path, out: Path, *extra: str) -> EvalRun:
    args = ["evals", "run", "--audits", str(root / "recheck.csv"), "--dataset", str(root)]
    result = runner.invoke(app, [*args, "-p", str(root / "pred_2"), "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return EvalRun.load(out)


def test_two_check_settings_compared_on_the_real_recheck(
    shared_data: Path, tmp_path: Path, home: Path
) -> None:
    root = shared_data / "kitti_rechecked"
    base = _run(root, tmp_path / "base.json")
    cand = _run(root, tmp_path / "cand.json", "--exclude", "pred_bad_box")

    p = base.provenance
    assert p.audits.checksum == cand.provenance.audits.checksum and p.audits.audits == 916
    assert p.dataset.frames == 393 and p.dataset.frames_replayed == p.audits.frames == 290
    # as shipped: the spec's shipped calibration, as gtqa scan and the service use it
    assert p.calibration_path == "specs/kitti.calibration.json" and p.calibration.startswith("sha256:")
    assert p.judge_mode == "off" and p.spec_hash == load_spec().hash
    assert "pred_bad_box" in p.checks and "pred_bad_box" not in cand.provenance.checks
    assert base.infra.total == 0
    # The re-check is exhaustive: every flag is a find or a false alarm, except the few that land on an
    # object already credited to another flag (neither right nor wrong, see gtqa.scoring.targets).
    unknown = [i for i in base.items if i.outcome is None]
    assert all(i.outcome in (0, 1, None) for i in base.items) and len(unknown) < 0.1 * len(base.items)
    assert base.metrics.overall.positives > 100 and not any(i.check == "pred_bad_box" for i in cand.items)
    assert [r.id for r in list_runs(home)] == [base.id, cand.id]

    compare = ["evals", "compare", str(tmp_path / "base.json"), str(tmp_path / "cand.json")]
    html, out = tmp_path / "report.html", tmp_path / "cmp.json"
    result = runner.invoke(app, [*compare, "--html", str(html), "--json", str(out), "--fail-if", "ap<-0.5"])
    assert result.exit_code == 0, result.output
    c = json.loads(out.read_text())
    recall = next(m for m in c["metrics"] if m["metric"] == "recall")
    # dropping a check can only lose raised defects, never gain them
    assert recall["lo"] <= recall["delta"] <= recall["hi"] <= 0
    p100 = next(m for m in c["metrics"] if m["metric"] == "precision_at_100")
    assert p100["lo"] <= p100["delta"] <= p100["hi"] and p100["hi"] > p100["lo"]
    assert c["gates"][0]["passed"] and c["changed"]
    assert html.read_text().count("data:image/png;base64,") >= 3 and "http" not in html.read_text()

    # A gate passes exactly when the whole interval lies at or above its margin.
    ap = next(m for m in c["metrics"] if m["metric"] == "ap")
    above, below = f"ap<{ap['lo'] - 0.001:.6f}", f"ap<{ap['lo'] + 0.001:.6f}"
    assert runner.invoke(app, [*compare, "--fail-if", above]).exit_code == 0
    strict = runner.invoke(app, [*compare, "--fail-if", below])
    assert strict.exit_code == 1 and f"(fails) {below}" in strict.output
    assert "INCONCLUSIVE" in strict.output or "WORSE" in strict.output
    # what the candidate changed, first
    assert "checks excluded: none → pred_bad_box" in result.output
    assert "checks run by one run only: pred_bad_box → none" in result.output


def test_items_carry_the_audit_targets_of_the_replayed_flags(shared_data: Path) -> None:
    root = shared_data / "kitti_rechecked"
    data = load_dataset(root, "kitti", [root / "pred_2"])
    evals = from_file(root / "recheck.csv", data)
    spec = load_spec()
    run = run_eval(RunConfig(dataset=data, evals=evals, spec=spec), get_settings())

    findings = review(audited_frames(data, evals), spec).findings
    targets = audit_targets(findings, evals.audits, exhaustive_frames=evals.exhaustive)
    assert [(i.key, i.score, i.outcome) for i in run.items] == [
        (item_key(f), f.score, t) for f, t in zip(findings, targets, strict=True)
    ]


def test_a_calibration_fitted_on_half_measured_on_the_other(
    shared_data: Path, tmp_path: Path, home: Path
) -> None:
    root = shared_data / "kitti_rechecked"
    data = load_dataset(root, "kitti", [root / "pred_2"])
    evals = from_file(root / "recheck.csv", data)
    fit_frames, test_frames = split_sequences(evals.frames)
    assert 100 < len(fit_frames) < 190 and not set(fit_frames) & set(test_frames)
    model = asyncio.run(fit_on(data, evals.restricted(fit_frames), load_spec()))
    model.save(tmp_path / "calibration.json")
    (tmp_path / "test.txt").write_text("\n".join(test_frames) + "\n")

    half = ("--frames", str(tmp_path / "test.txt"))
    priors = _run(root, tmp_path / "priors.json", *half, "--no-default-calibration")
    calibrated = _run(
        root, tmp_path / "calibrated.json", *half, "--calibration", str(tmp_path / "calibration.json")
    )
    assert priors.provenance.audits.frames == len(test_frames)
    assert (
        calibrated.provenance.calibration.startswith("sha256:") and priors.provenance.calibration == "priors"
    )
    assert {i.frame for i in calibrated.items} <= set(test_frames)

    out = tmp_path / "cmp.json"
    compare = ["evals", "compare", str(tmp_path / "priors.json"), str(tmp_path / "calibrated.json")]
    result = runner.invoke(app, [*compare, "--json", str(out)])
    assert result.exit_code == 0, result.output
    metrics = {m["metric"]: m for m in json.loads(out.read_text())["metrics"]}
    for name in ("precision", "recall", "precision_at_100", "ece"):
        m = metrics[name]
        assert m["lo"] is not None and m["lo"] <= m["delta"] <= m["hi"], name
