from __future__ import annotations

from pathlib import Path

from gtqa.checks.base import CheckParams
from gtqa.checks.registry import CHECKS
from gtqa.checks.runner import chunk_scopes, run_checks
from gtqa.checks.scope import ReviewScope
from gtqa.checks.stats import DatasetStats
from gtqa.domain import Box2D, Dataset, Finding, Frame, Label
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
    assert all(not c.requires for c in usable)
    for check in CHECKS:
        if check.requires:
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

    from dataclasses import replace

    boom = replace(CHECKS[0], id="boom", fn=_boom)
    run = run_checks(scope, [boom, *CHECKS])
    assert any("check boom failed on frames x..x: RuntimeError: kaput" in e for e in run.errors)
    assert any(f.check == "degenerate_box" for f in run.findings)


def _boom(scope: ReviewScope, params: CheckParams) -> list[Finding]:
    raise RuntimeError("kaput")


def dataset_stats_for(frames: list[Frame]) -> DatasetStats:
    return dataset_stats(Dataset(name="t", format="kitti", root=".", frames=tuple(frames)), load_spec())
