"""A calibration is pinned to what it depends on in its spec: an unrelated edit keeps it applying (the
explicit calibration and the spec's default alike), a dependent edit is a mismatch that names the rule
and says how to refit."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from gtqa.domain import Finding, IssueType
from gtqa.scoring.calibration import (
    CalibratedScorer,
    CalibrationModel,
    CalibrationSpecMismatchError,
    default_scorer,
    fit_calibration,
)
from gtqa.scoring.pinning import SpecPin
from gtqa.scoring.scorer import PriorScorer
from gtqa.spec import CompiledSpec, compile_text, load_spec

READ = ("duplicate", "size_outlier")  # the checks whose evidence the calibration below reads
SEEN = ("Car", "Pedestrian")  # the classes of its flags


def _flags(n: int, seed: int) -> tuple[list[Finding], list[float | None], list[str]]:
    """Flags of two checks on two classes whose evidence ``x`` raises the chance of a real defect."""
    rng = np.random.default_rng(seed)
    findings: list[Finding] = []
    targets: list[float | None] = []
    groups: list[str] = []
    for i in range(n):
        x, check = float(rng.uniform(0, 1)), READ[i % 2]
        findings.append(
            Finding(
                frame=f"fr{i // 4}", label=f"fr{i // 4}:{i}", cls=SEEN[(i // 2) % 2], type=IssueType.bad_box,
                score=0.3, raw=0.3, box=(0, 0, 10, 10), check=check, message="", evidence=(check,),
                features={"x": x},
            )
        )  # fmt: skip
        targets.append(float(rng.uniform() < 1.0 / (1.0 + np.exp(-(6 * x - 4)))))
        groups.append(f"fr{i // 4}")
    return findings, targets, groups


@pytest.fixture(scope="module")
def spec() -> CompiledSpec:
    return load_spec()


@pytest.fixture(scope="module")
def model(spec: CompiledSpec) -> CalibrationModel:
    findings, targets, groups = _flags(400, 7)
    return fit_calibration(findings, targets, groups, spec, formats=["kitti"], rounds=20)


def _edited(spec: CompiledSpec, old: str, new: str) -> CompiledSpec:
    text = Path(spec.path).read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    edited = compile_text(text.replace(old, new), spec.path)
    assert edited.hash != spec.hash
    return edited


UNRELATED = {  # edit: (old text, new text)
    "the prior of a check it never read": (
        "edge_fit: {p_low: 0.03, p_high: 0.2}", "edge_fit: {p_low: 0.03, p_high: 0.3}"
    ),
    "a threshold for a check it never read": (
        "duplicate: {min_iou: 0.5}", "duplicate: {min_iou: 0.5}\n  track_jump: {floor: 0.03}"
    ),
    "a 3D size prior for a class it never saw": (
        "  Tram: {h: 3.53", "  Bus: {h: 3.2, w: 2.5, l: 12.0, tolerance: 0.8}\n  Tram: {h: 3.53"
    ),
    "a size limit for a class it never saw": (
        "  Cyclist: {min_height_px: 10",
        "  Misc: {min_height_px: 12, min_width_px: 3}\n  Cyclist: {min_height_px: 10",
    ),
    "an edit of prose": (
        "A parked bicycle with nobody on it is not labelled.", "A parked bicycle is never labelled."
    ),
    "a severity": ("  bad_box: medium", "  bad_box: high"),
}  # fmt: skip
DEPENDENT = {  # edit: (old text, new text, what the mismatch names)
    "a threshold of a check it read": (
        "duplicate: {min_iou: 0.5}", "duplicate: {min_iou: 0.6}",
        "rule thresholds (thresholds) for check duplicate",
    ),
    "the prior of a check it read": (
        "size_outlier: {p_low: 0.1, p_high: 0.7}", "size_outlier: {p_low: 0.1, p_high: 0.8}",
        "rule priors (priors) for check size_outlier",
    ),
    "the 3D size prior of a class it saw": (
        "Car: {h: 1.53, w: 1.63, l: 3.88", "Car: {h: 1.50, w: 1.63, l: 3.88",
        "rule dimensions-3d (dimensions_3d) for class Car",
    ),
    "a parameter a check reads from a whole rule": (
        "border_margin_px: 2\n", "border_margin_px: 3\n", "rule truncation (truncation)"
    ),
}  # fmt: skip


@pytest.mark.parametrize("edit", sorted(UNRELATED))
def test_an_unrelated_spec_edit_keeps_the_calibration_applying(
    edit: str, spec: CompiledSpec, model: CalibrationModel
) -> None:
    edited = _edited(spec, *UNRELATED[edit])
    findings = _flags(8, 1)[0]
    assert model.spec_changes(edited) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scored = CalibratedScorer(model).score(findings, edited)
    assert [f.score for f in scored] == [f.score for f in CalibratedScorer(model).score(findings, spec)]


@pytest.mark.parametrize("edit", sorted(DEPENDENT))
def test_a_dependent_spec_edit_is_a_mismatch_that_names_the_rule_and_suggests_gtqa_calibrate(
    edit: str, spec: CompiledSpec, model: CalibrationModel
) -> None:
    old, new, named = DEPENDENT[edit]
    edited = _edited(spec, old, new)
    assert model.spec_changes(edited) == [named]
    with pytest.raises(CalibrationSpecMismatchError, match="gtqa calibrate") as refused:
        CalibratedScorer(model).score(_flags(8, 1)[0], edited)
    assert named in str(refused.value) and "fitted under spec kitti" in str(refused.value)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert CalibratedScorer(model, allow_spec_mismatch=True).score(_flags(8, 1)[0], edited)
    assert [named in str(w.message) for w in caught] == [True]


def test_the_spec_default_calibration_survives_an_unrelated_edit_and_not_a_dependent_one(
    tmp_path: Path, spec: CompiledSpec, model: CalibrationModel
) -> None:
    unrelated, dependent = tmp_path / "unrelated", tmp_path / "dependent"
    text = Path(spec.path).read_text(encoding="utf-8")
    edits = ((unrelated, UNRELATED["a severity"]), (dependent, DEPENDENT["a threshold of a check it read"]))
    for folder, (old, new, *_) in edits:
        folder.mkdir()
        (folder / "kitti.md").write_text(text.replace(old, new), encoding="utf-8")
        model.save(folder / "kitti.calibration.json")
    kept = default_scorer(load_spec(unrelated / "kitti.md"), "kitti")
    assert isinstance(kept.scorer, CalibratedScorer) and not kept.stale
    dropped = default_scorer(load_spec(dependent / "kitti.md"), "kitti")
    assert isinstance(dropped.scorer, PriorScorer) and dropped.stale
    assert DEPENDENT["a threshold of a check it read"][2] in dropped.note and "gtqa calibrate" in dropped.note


def test_the_pin_records_what_the_calibration_read(model: CalibrationModel) -> None:
    assert model.pin is not None
    assert (model.pin.checks, model.pin.classes) == (READ, SEEN)
    assert {"priors:duplicate", "thresholds:size_outlier", "dimensions_3d:Car", "taxonomy:Pedestrian"} <= set(
        model.pin.parts
    )
    assert not any(key.startswith(("severity", "judge")) or key.endswith(":Tram") for key in model.pin.parts)


def test_writing_out_a_rule_kinds_defaults_changes_nothing(spec: CompiledSpec) -> None:
    pin = SpecPin.of(spec, READ, SEEN)
    text = Path(spec.path).read_text(encoding="utf-8")
    start = text.index("```rule\nid: required-attributes")
    without = compile_text(text[:start] + text[text.index("```", start + 7) + 3 :], spec.path)
    assert without.hash != spec.hash and pin.changes(without) == []


def test_a_calibration_file_without_dependencies_stays_pinned_to_the_whole_spec(
    spec: CompiledSpec, model: CalibrationModel
) -> None:
    old = model.model_copy(update={"pin": None})
    edited = _edited(spec, *UNRELATED["an edit of prose"])
    assert old.spec_changes(spec) == [] and len(old.spec_changes(edited)) == 1
    with pytest.raises(CalibrationSpecMismatchError, match="fitted under spec kitti"):
        CalibratedScorer(old).score(_flags(8, 1)[0], edited)
