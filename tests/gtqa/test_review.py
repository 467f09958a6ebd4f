from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from gtqa.checks.base import CheckParams
from gtqa.checks.registry import CHECKS
from gtqa.checks.runner import chunk_scopes, run_checks
from gtqa.checks.scope import ReviewScope
from gtqa.checks.stats import DatasetStats
from gtqa.domain import Box2D, Dataset, Finding, Frame, IssueType, Label
from gtqa.formats import load_dataset
from gtqa.review import dataset_stats, plan_checks, review_dataset
from gtqa.spec import load_spec


def test_every_finding_carries_the_spec_hash_and_one_flag_per_label_type(shared_data: Path) -> None:
    spec = load_spec()
    data = load_dataset(
        shared_data / "kitti_tracking", predictions=[shared_data / "kitti_tracking/detections"]
    )
    result = review_dataset(data, spec)
    assert result.findings, "the real sequence has flags"
    assert all(f.spec_hash == spec.hash for f in result.findings)
    keys = [(f.frame, f.label, f.type) for f in result.findings if f.label is not None]
    assert len(keys) == len(set(keys))
    assert result.errors == []


def test_checks_needing_absent_data_are_skipped_with_a_reason(shared_data: Path) -> None:
    data = load_dataset(shared_data / "kitti_rechecked")  # no predictions, no images, no 3D
    usable, skipped = plan_checks(data)
    assert all(c.requires <= {"image_boxes"} for c in usable)  # pixel boxes are all it offers
    for check in CHECKS:
        if check.requires - {"image_boxes"}:
            assert check.id in skipped and skipped[check.id].startswith("needs ")


def test_findings_do_not_depend_on_chunk_size(shared_data: Path) -> None:
    spec = load_spec()
    data = load_dataset(
        shared_data / "kitti_tracking", predictions=[shared_data / "kitti_tracking/detections"]
    )
    small = review_dataset(data, spec, chunk_size=7).findings
    large = review_dataset(data, spec, chunk_size=500).findings
    assert [f.model_dump() for f in small] == [f.model_dump() for f in large]


def test_a_crashing_check_is_reported_and_the_others_still_run() -> None:
    spec = load_spec()
    good = Label(id="x:0", frame="x", cls="Car", box=Box2D(x1=10, y1=10, x2=5, y2=40))
    frame = Frame(id="x", labels=(good,))
    stats = dataset_stats_for([frame])
    [scope] = list(chunk_scopes([frame], spec, stats))

    boom = replace(CHECKS[0], id="boom", fn=_boom)
    run = run_checks(scope, [boom, *CHECKS])
    assert any("check boom failed on frames x..x: RuntimeError: kaput" in e for e in run.errors)
    assert any(f.check == "degenerate_box" for f in run.findings)


def test_frame_local_checks_run_frame_by_frame_sharing_each_image_and_keep_the_findings_order() -> None:
    spec = load_spec()
    frames = [
        Frame(
            id=f"f{i}",
            image=f"img{i}.png",
            labels=(Label(id=f"f{i}:0", frame=f"f{i}", cls="Car", box=Box2D(x1=10, y1=10, x2=50, y2=40)),),
        )
        for i in range(3)
    ]
    loads: list[str] = []

    def load(path: str) -> np.ndarray:
        loads.append(path)
        return np.zeros((60, 80, 3), dtype=np.uint8)

    scope = ReviewScope(
        frames=tuple(frames),
        spec=spec,
        stats=dataset_stats_for(frames),
        load_image=lru_cache(maxsize=1)(load),
    )
    seen: list[tuple[str, str]] = []

    def looks(name: str) -> Callable[[ReviewScope, CheckParams], list[Finding]]:
        def fn(one: ReviewScope, params: CheckParams) -> list[Finding]:
            findings = []
            for frame in one.frames:
                assert one.image(frame) is not None
                seen.append((name, frame.id))
                label = frame.labels[0]
                findings.append(Finding(frame=frame.id, label=label.id, type=IssueType.bad_box, score=0.5,
                                        box=label.box.as_list(), check=name, message=name))  # fmt: skip
            if one.frames[0].id == "f1" and name == "b":
                raise RuntimeError("odd frame")
            return findings

        return fn

    a = replace(CHECKS[0], id="a", fn=looks("a"), frame_local=True)
    b = replace(CHECKS[0], id="b", fn=looks("b"), frame_local=True)
    run = run_checks(scope, [a, b])
    # one image read per frame, with a loader that caches a single image (as caching_loader does, with
    # more): the two checks shared it
    assert loads == ["img0.png", "img1.png", "img2.png"]
    assert seen == [("a", "f0"), ("b", "f0"), ("a", "f1"), ("b", "f1"), ("a", "f2"), ("b", "f2")]
    # check by check, frames in order; the frame b failed on is reported alone and loses only b's findings
    assert [(f.check, f.frame) for f in run.findings] == [
        ("a", "f0"), ("a", "f1"), ("a", "f2"), ("b", "f0"), ("b", "f2"),
    ]  # fmt: skip
    assert run.errors == ["check b failed on frames f1..f1: RuntimeError: odd frame"]


def _boom(scope: ReviewScope, params: CheckParams) -> list[Finding]:
    raise RuntimeError("kaput")


def dataset_stats_for(frames: list[Frame]) -> DatasetStats:
    return dataset_stats(Dataset(name="t", format="kitti", root=".", frames=tuple(frames)), load_spec())
