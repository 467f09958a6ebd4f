"""Calibration: fitted on audits, probabilities that rank and are calibrated on held-out data, a model
file that round-trips, and a spec-hash guard that cannot be bypassed silently."""

from __future__ import annotations

import os
import re
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

from gtqa.domain import Finding, IssueType
from gtqa.scoring.calibration import (
    CalibratedScorer,
    CalibrationModel,
    CalibrationSpecMismatchError,
    CalibrationVersionError,
    LogisticMap,
    cross_validated_scores,
    default_calibration_path,
    default_scorer,
    fit_calibration,
    load_default_calibration,
)
from gtqa.scoring.priors import prior_probability
from gtqa.scoring.reliability import expected_calibration_error
from gtqa.scoring.scorer import PriorScorer
from gtqa.spec import compile_text, load_spec


def _synthetic(n: int, seed: int) -> tuple[list[Finding], list[float | None], list[str]]:
    """Flags whose evidence ``x`` raises the defect probability as sigmoid(4x - 2); a noise feature."""
    rng = np.random.default_rng(seed)
    findings: list[Finding] = []
    targets: list[float | None] = []
    groups: list[str] = []
    for i in range(n):
        x, noise = float(rng.uniform(0, 1)), float(rng.normal())
        p = 1.0 / (1.0 + np.exp(-(6 * x - 4)))
        issue = IssueType.bad_box if i % 2 else IssueType.missing_object
        findings.append(
            Finding(
                frame=f"fr{i // 4}",
                label=None if issue is IssueType.missing_object else f"fr{i // 4}:{i}",
                type=issue,
                score=0.3,
                raw=0.3,
                box=(0, 0, 10, 10),
                check="c",
                message="",
                features={"c.x": x, "c.noise": noise},
            )
        )
        targets.append(float(rng.uniform() < p))
        groups.append(f"fr{i // 4}")
    return findings, targets, groups


def test_fitted_probabilities_rank_by_evidence_and_are_calibrated_out_of_fold() -> None:
    findings, targets, groups = _synthetic(1000, 0)
    spec = load_spec()
    scores, _ = cross_validated_scores(findings, targets, groups, spec, seed=0)
    x = np.array([f.features["c.x"] for f in findings])
    y = np.array(targets, dtype=float)
    assert np.corrcoef(scores, x)[0, 1] > 0.8
    assert expected_calibration_error(scores, y) < 0.05
    # unknown outcomes are not trained on, but still scored
    targets[0] = None
    model = fit_calibration(findings, targets, groups, spec)
    assert model.validation["items"] == len(findings) - 1
    assert not np.isnan(model.predict(findings[:1])[0])


def test_extra_audited_data_joins_every_folds_training_but_is_never_scored() -> None:
    findings, targets, groups = _synthetic(160, 4)
    more, more_targets, more_groups = _synthetic(600, 5)
    extra = (more, more_targets, [f"other/{g}" for g in more_groups])
    spec = load_spec()
    alone, _ = cross_validated_scores(findings, targets, groups, spec, seed=0, folds=3, rounds=30)
    helped, fold = cross_validated_scores(
        findings, targets, groups, spec, seed=0, folds=3, rounds=30, extra=extra
    )
    assert len(helped) == len(findings)
    x = np.array([f.features["c.x"] for f in findings])
    assert np.corrcoef(helped, x)[0, 1] > np.corrcoef(alone, x)[0, 1]
    # a fold's scores come from models that never saw its audits: flipping them changes nothing there
    flipped = [1.0 - t if k == 0 and t is not None else t for t, k in zip(targets, fold, strict=True)]
    again, _ = cross_validated_scores(
        findings, flipped, groups, spec, seed=0, folds=3, rounds=30, extra=extra
    )
    assert np.allclose(again[fold == 0], helped[fold == 0])
    assert not np.allclose(again[fold != 0], helped[fold != 0])


def test_the_probability_map_keeps_the_models_ranking() -> None:
    # A model output that ranks well but is overconfident: the map must move the level, not the order.
    rng = np.random.default_rng(4)
    p = rng.uniform(0.01, 0.99, 4000)
    truth = 1.0 / (1.0 + np.exp(-(0.5 * np.log(p / (1 - p)) - 0.7)))
    y = (rng.uniform(size=p.size) < truth).astype(float)
    mapped = LogisticMap.fit(p, y)(p)
    order = np.argsort(p)
    assert np.all(np.diff(mapped[order]) > 0)  # strictly increasing: no ties the model did not make
    assert expected_calibration_error(mapped, y) < 0.03
    assert np.abs(mapped - truth).max() < 0.05  # the raw output spans 0.01-0.99, the truth 0.05-0.83
    backwards = LogisticMap.fit(p, 1.0 - (p > 0.5))
    assert np.all(np.diff(backwards(np.sort(p))) >= 0)  # never reverses the model's order


def test_a_model_file_of_another_format_version_says_so(tmp_path: Path) -> None:
    findings, targets, groups = _synthetic(200, 5)
    path = tmp_path / "m.json"
    fit_calibration(findings, targets, groups, load_spec()).save(path)
    path.write_text(path.read_text().replace('"version": 2', '"version": 1'))
    with pytest.raises(CalibrationVersionError, match="version 1, this gtqa reads version 2"):
        CalibrationModel.load(path)


def test_a_default_calibration_of_an_older_format_falls_back_to_the_priors_and_says_so(
    tmp_path: Path,
) -> None:
    shipped = load_spec()
    spec_path = tmp_path / "kitti.md"
    spec_path.write_text(Path(shipped.path).read_text())
    (tmp_path / "kitti.calibration.json").write_text('{"version": 1, "kind": "gtqa-calibration"}')
    choice = default_scorer(load_spec(spec_path), "kitti")
    assert isinstance(choice.scorer, PriorScorer) and choice.stale
    assert "version 1, this gtqa reads version 2" in choice.note


def test_a_default_calibration_is_read_once_until_its_file_changes(
    tmp_path: Path, calibration_reads: list[Path]
) -> None:
    findings, targets, groups = _synthetic(200, 6)
    path = tmp_path / "kitti.calibration.json"
    fit_calibration(findings, targets, groups, load_spec(), formats=["kitti"]).save(path)
    reads = calibration_reads
    first = load_default_calibration(path)
    assert load_default_calibration(path) is first and len(reads) == 1
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # rewritten: read again
    assert load_default_calibration(path) is not first and len(reads) == 2


def test_the_model_file_round_trips_and_carries_its_provenance(tmp_path: Path) -> None:
    findings, targets, groups = _synthetic(400, 1)
    spec = load_spec()
    model = fit_calibration(findings, targets, groups, spec, formats=["kitti"], detectors=["pred_2"])
    path = tmp_path / "m.json"
    model.save(path)
    back = CalibrationModel.load(path)
    assert back.spec_hash == spec.hash and back.formats == ("kitti",)
    assert len(back.training_hash) == 64 and "ece_oof" in back.validation
    assert np.allclose(back.predict(findings), model.predict(findings))


def test_types_never_seen_in_training_keep_their_prior() -> None:
    findings, targets, groups = _synthetic(400, 2)
    model = fit_calibration(findings, targets, groups, load_spec())
    other = findings[0].model_copy(update={"type": IssueType.track_id, "label": "x:1"})
    spec = load_spec()
    [scored] = CalibratedScorer(model).score([other], spec)
    assert scored.score == pytest.approx(prior_probability(spec.priors.for_check("c"), other.raw))


def test_a_calibration_applied_under_another_spec_fails_unless_allowed() -> None:
    findings, targets, groups = _synthetic(400, 3)
    spec = load_spec()
    model = fit_calibration(findings, targets, groups, spec)
    edited = compile_text(
        Path(spec.path).read_text().replace("max_inside: 0.5", "max_inside: 0.4"), spec.path
    )
    assert edited.hash != spec.hash
    with pytest.raises(CalibrationSpecMismatchError, match="fitted under spec kitti"):
        CalibratedScorer(model).score(findings[:3], edited)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scored = CalibratedScorer(model, allow_spec_mismatch=True).score(findings[:3], edited)
    assert scored and any("may not hold" in str(w.message) for w in caught)


@pytest.mark.slow  # the documented rebuild, under a minute
def test_the_shipped_default_calibration_is_what_its_documented_commands_build_now(
    shared_data: Path, tmp_path: Path
) -> None:
    """A change to the checks, the features or the flags' order changes what the calibration is
    trained on; the shipped default must then be rebuilt, or it is not what its commands produce."""
    out = tmp_path / "rebuilt.json"
    env = {**os.environ, "GTQA_DATA_DIR": str(shared_data), "GTQA_HOME": str(tmp_path / "home")}
    script = Path(__file__).parents[3] / "scripts" / "build_calibration.sh"
    run = subprocess.run([str(script), str(out)], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    rebuilt = CalibrationModel.load(out)
    shipped = CalibrationModel.load(default_calibration_path(load_spec()))
    assert rebuilt.training_hash == shipped.training_hash, "rebuild it: scripts/build_calibration.sh"
    assert len(rebuilt.boosters) == len(shipped.boosters)
    for ours, theirs in zip(rebuilt.boosters, shipped.boosters, strict=True):
        _assert_same_model_text(ours, theirs)
    assert rebuilt.calibrator.a == pytest.approx(shipped.calibrator.a, rel=1e-9)
    assert rebuilt.calibrator.b == pytest.approx(shipped.calibrator.b, rel=1e-9)


def _assert_same_model_text(ours: str, theirs: str) -> None:
    """The same trees: every split feature, count and structure equal, every number equal up to float
    rounding. Features computed on another CPU or numpy build differ in the last bits (0.99999992425602058
    against 0.99999992425601947), which moves thresholds and leaf values by ~1e-15 and the serialised
    tree sizes by a character; that is the same model, and a byte comparison would call it stale."""
    tokens = re.compile(r"[\s=:\[\]]+")
    ours_lines = [line for line in ours.splitlines() if not line.startswith("tree_sizes=")]
    theirs_lines = [line for line in theirs.splitlines() if not line.startswith("tree_sizes=")]
    assert len(ours_lines) == len(theirs_lines), "the trees differ in shape"
    for ours_line, theirs_line in zip(ours_lines, theirs_lines, strict=True):
        a, b = tokens.split(ours_line), tokens.split(theirs_line)
        assert len(a) == len(b), f"{ours_line[:80]} != {theirs_line[:80]}"
        for x, y in zip(a, b, strict=True):
            if x == y:
                continue
            assert float(x) == pytest.approx(float(y), rel=1e-6, abs=1e-9), f"{x} != {y} in {ours_line[:60]}"


def test_unit_weights_fit_the_unweighted_model_and_other_weights_change_it() -> None:
    findings, targets, groups = _synthetic(400, 11)
    spec = load_spec()
    plain = fit_calibration(findings, targets, groups, spec)
    unit = fit_calibration(findings, targets, groups, spec, weights=[1.0] * len(findings))
    assert unit.boosters == plain.boosters and unit.calibrator == plain.calibrator
    # Weigh the low-evidence flags 20 times: the level of their probabilities moves, and the file says so.
    heavy = [20.0 if f.features["c.x"] < 0.5 else 1.0 for f in findings]
    weighted = fit_calibration(findings, targets, groups, spec, weights=heavy)
    assert weighted.training_hash != plain.training_hash
    assert not np.allclose(weighted.predict(findings), plain.predict(findings))
