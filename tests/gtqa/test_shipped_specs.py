"""The shipped specs for the formats gtqa reads (KITTI, COCO, BDD100K): chosen by format, class aliases,
and their rules firing on labels written in each format's own layout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from gtqa.domain import Dataset, Finding, Frame
from gtqa.formats import READERS, load_dataset
from gtqa.review import review_dataset
from gtqa.spec import (
    FORMAT_SPECS,
    SPECS_DIR,
    CompiledSpec,
    SpecError,
    compile_spec,
    compile_text,
    shipped_spec_path,
)

COCO_CLASSES = 80


def _findings(dataset: Dataset, spec_name: str, checks: list[str]) -> list[Finding]:
    spec = compile_spec(SPECS_DIR / spec_name)
    return review_dataset(dataset, spec, checks=checks).findings


def _flagged(findings: list[Finding], check: str) -> set[str | None]:
    return {f.label for f in findings if f.check == check}


def test_aliases_leave_the_kitti_spec_hash_its_calibration_is_pinned_to() -> None:
    pinned = json.loads((SPECS_DIR / "kitti.calibration.json").read_text())["spec_hash"]
    assert compile_spec(SPECS_DIR / "kitti.md").hash == pinned


def test_every_format_has_a_shipped_spec_that_compiles() -> None:
    assert set(FORMAT_SPECS) == set(READERS)
    names = {fmt: compile_spec(shipped_spec_path(fmt)).name for fmt in FORMAT_SPECS}
    assert names == {
        "kitti": "kitti",
        "kitti-tracking": "kitti",
        "coco": "coco",
        "bdd": "bdd100k",
        "av2": "av2",
    }
    assert shipped_spec_path(None) == SPECS_DIR / "kitti.md"


def test_the_coco_spec_lists_cocos_80_classes_and_reviews_crowds_as_regions() -> None:
    spec = compile_spec(SPECS_DIR / "coco.md")
    reviewed = [c for c in spec.taxonomy.classes if spec.is_reviewed(c)]
    assert len(reviewed) == COCO_CLASSES and {"person", "traffic light", "toothbrush"} <= set(reviewed)
    assert spec.is_dontcare("DontCare") and spec.canonical("motorbike") == "motorcycle"


def test_the_bdd_spec_lists_its_classes_and_attributes() -> None:
    spec = compile_spec(SPECS_DIR / "bdd100k.md")
    assert {"pedestrian", "rider", "car", "traffic light", "traffic sign"} <= set(spec.taxonomy.classes)
    assert spec.required_attributes.for_class("traffic light") == [
        "occluded",
        "truncated",
        "trafficLightColor",
    ]
    assert spec.canonical("person") == "pedestrian" and spec.canonical("Car") == "car"
    assert not spec.is_reviewed("other vehicle")


def test_an_alias_that_names_another_class_is_refused() -> None:
    text = (SPECS_DIR / "bdd100k.md").read_text().replace("aliases: [motor]", "aliases: [bicycle]")
    with pytest.raises(SpecError, match="alias 'bicycle' of 'motorcycle' already names 'bicycle'"):
        compile_text(text)


def _bdd_label(ident: str, category: str, box: list[float], **attributes: Any) -> dict[str, Any]:
    x1, y1, x2, y2 = box
    return {
        "id": ident, "category": category, "attributes": attributes,
        "box2d": {"x1": x1, "y1": y1, "x2": x2, "y2": y2},
    }  # fmt: skip


def _bdd_video(tmp_path: Path) -> Path:
    """A Scalabel box-tracking file as BDD100K writes it (1280x720 frames), with a class spelt by
    KITTI's converter (``Car``), one class of no taxonomy, a traffic light without its colour and a
    car at the border marked not truncated."""
    ok = {"occluded": False, "truncated": False}
    labels = [
        _bdd_label("1", "car", [100, 300, 220, 380], **ok),
        _bdd_label("2", "Car", [400, 300, 520, 380], **ok),
        _bdd_label("3", "hovercraft", [600, 300, 700, 380], **ok),
        _bdd_label("4", "traffic light", [800, 100, 820, 150], **ok),
        _bdd_label("5", "car", [1180, 300, 1280, 400], **ok),
        _bdd_label("6", "traffic light", [900, 100, 920, 150], trafficLightColor="red", **ok),
    ]
    size = {"width": 1280, "height": 720}
    frames = [
        {"name": f"v-{i + 1:07d}.jpg", "videoName": "v", "frameIndex": i, "size": size, "labels": labels}
        for i in range(3)
    ]
    path = tmp_path / "v.json"
    path.write_text(json.dumps(frames))
    return path


def test_the_bdd_spec_rules_fire_on_a_scalabel_tracking_file(tmp_path: Path) -> None:
    dataset = load_dataset(_bdd_video(tmp_path), "bdd")
    checks = ["unknown_class", "required_attributes", "truncation_border"]
    findings = _findings(dataset, "bdd100k.md", checks)
    first = "v/000000"
    assert {x for x in _flagged(findings, "unknown_class") if x and x.startswith(first)} == {f"{first}:3"}
    assert {x for x in _flagged(findings, "required_attributes") if x and x.startswith(first)} == {
        f"{first}:4"
    }
    assert {x for x in _flagged(findings, "truncation_border") if x and x.startswith(first)} == {f"{first}:5"}
    under_kitti = _findings(dataset, "kitti.md", ["unknown_class"])
    spelt_like_kitti = {lab.id for lab in dataset.labels() if lab.cls == "Car"}
    assert _flagged(under_kitti, "unknown_class") == {lab.id for lab in dataset.labels()} - spelt_like_kitti


def test_the_coco_spec_rules_fire_on_a_coco_instances_file(tmp_path: Path) -> None:
    cats = [{"id": 1, "name": "person"}, {"id": 4, "name": "motorbike"}, {"id": 124, "name": "grass"}]
    images = [{"id": 1, "file_name": "a.jpg", "width": 640, "height": 480}]
    anns = [
        {"id": 10, "image_id": 1, "category_id": 1, "bbox": [10, 10, 50, 120], "iscrowd": 0},
        {"id": 11, "image_id": 1, "category_id": 1, "bbox": [11, 10, 50, 120], "iscrowd": 0},
        {"id": 12, "image_id": 1, "category_id": 4, "bbox": [200, 200, 80, 60], "iscrowd": 0},
        {"id": 13, "image_id": 1, "category_id": 124, "bbox": [0, 400, 640, 80], "iscrowd": 0},
    ]
    path = tmp_path / "instances.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    findings = _findings(load_dataset(path, "coco"), "coco.md", ["unknown_class", "duplicate"])
    assert _flagged(findings, "unknown_class") == {"13"}  # motorbike is an alias; grass is stuff
    assert _flagged(findings, "duplicate") & {"10", "11"}


def test_scan_chooses_the_spec_by_format_and_says_why(tmp_path: Path) -> None:
    path = _bdd_video(tmp_path)
    result = CliRunner().invoke(app, ["scan", str(path), "--out", str(tmp_path / "f.jsonl")])
    assert result.exit_code == 0, result.output
    assert "spec bdd100k " in result.stderr and "the shipped spec for bdd data" in result.stderr
    given = CliRunner().invoke(app, ["scan", str(path), "--spec", str(SPECS_DIR / "kitti.md"), "--top", "1"])
    assert "spec kitti " in given.stderr and "given with --spec" in given.stderr


def test_a_review_spells_each_aliased_frame_as_the_spec_does_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gtqa.checks import scope

    dataset = load_dataset(_bdd_video(tmp_path), "bdd")
    copies: list[str] = []
    real = scope._canonical

    def counted(frame: Frame, spec: CompiledSpec) -> Frame:
        out = real(frame, spec)
        if out is not frame:
            copies.append(frame.id)
        return out

    monkeypatch.setattr(scope, "_canonical", counted)
    findings = _findings(dataset, "bdd100k.md", ["unknown_class", "required_attributes"])
    assert findings and sorted(copies) == sorted(f.id for f in dataset.frames)


def test_the_evals_choose_the_spec_by_format_as_scan_does(tmp_path: Path) -> None:
    from gtqa.domain import Audit, Verdict
    from gtqa.formats.audits import write_audits

    path = _bdd_video(tmp_path)
    audits = tmp_path / "audits.jsonl"
    write_audits(
        audits, [Audit(id="1", dataset="v", frame="v/000000", label="v/000000:3", verdict=Verdict.defect)]
    )
    out = tmp_path / "run.json"
    run = CliRunner().invoke(
        app, ["evals", "run", "-a", str(audits), "-d", str(path), "-o", str(out), "--no-store"]
    )
    assert run.exit_code == 0, run.output
    assert "spec bdd100k " in run.stderr and "the shipped spec for bdd data" in run.stderr
    assert json.loads(out.read_text())["provenance"]["spec_name"] == "bdd100k"
    replay = CliRunner().invoke(
        app, ["evals", "replay", str(path), "-a", str(audits), "-o", str(tmp_path / "r")]
    )
    assert "spec bdd100k " in replay.stderr, replay.output
