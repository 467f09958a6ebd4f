from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gtqa.checks.runner import chunk_scopes
from gtqa.checks.scope import ReviewScope
from gtqa.checks.stats import compute_stats
from gtqa.checks.temporal import track_class_change
from gtqa.domain import Box2D, Dataset, Finding, Frame, IssueType, Label
from gtqa.formats import load_dataset
from gtqa.spec import load_spec

SPEC = load_spec()


def _frames(classes: list[str]) -> list[Frame]:
    return [
        Frame(
            id=f"s/{t:06d}",
            sequence="s",
            index=t,
            labels=(
                Label(
                    id=f"s:{t}",
                    frame=f"s/{t:06d}",
                    cls=c,
                    box=Box2D.from_seq((100, 150, 140, 250)),
                    track_id=3,
                ),
            ),
        )
        for t, c in enumerate(classes)
    ]


def _run(frames: list[Frame], **params: object) -> list[Finding]:
    scope = ReviewScope(frames=tuple(frames), spec=SPEC, stats=compute_stats(frames, SPEC.is_reviewed))
    return track_class_change.check(scope, track_class_change.Params(**params))


def test_an_isolated_flip_in_a_unanimous_track_is_full_strength() -> None:
    classes = ["Pedestrian"] * 20
    classes[8] = "Cyclist"
    (finding,) = _run(_frames(classes))
    assert finding.label == "s:8" and finding.type is IssueType.wrong_class
    assert finding.raw == pytest.approx(1.0)
    assert "Cyclist in a track that is Pedestrian in 19 of its 19 other labels" in finding.message


def test_a_run_of_labels_in_the_new_class_is_weaker() -> None:
    one = ["Car"] * 10 + ["Van"] + ["Car"] * 9
    three = ["Car"] * 10 + ["Van"] * 3 + ["Car"] * 7
    (single,) = _run(_frames(one))
    run = _run(_frames(three))
    assert len(run) == 3 and all(0 < f.raw < single.raw for f in run)


def test_the_more_the_others_agree_the_stronger() -> None:
    rng = np.random.default_rng(4)
    for _ in range(10):
        n = 20
        # A Car label in a Pedestrian track with few vs several scattered Cyclist labels among the others.
        split, scattered = int(rng.integers(0, 2)), int(rng.integers(5, 8))
        raws = []
        for k in (split, scattered):
            classes = ["Pedestrian"] * n
            for pos in rng.choice([p for p in range(n) if abs(p - 10) > 1], k, replace=False):
                classes[pos] = "Cyclist"
            classes[10] = "Car"
            flagged = {f.label: f.raw for f in _run(_frames(classes))}
            raws.append(flagged.get("s:10", 0.0))
        assert raws[0] > raws[1]


def test_too_few_other_labels_or_beyond_the_window_is_no_evidence() -> None:
    assert _run(_frames(["Car", "Van", "Car"])) == []  # 2 others < min_others
    classes = ["Car"] * 40 + ["Van"] * 40
    findings = _run(_frames(classes), window=10)
    # Each half is the majority in its own neighbourhood: only labels near the switch can be judged.
    assert {f.label for f in findings} <= {f"s:{t}" for t in range(30, 50)}


def test_majority_is_counted_within_the_window_only() -> None:
    classes = ["Car"] * 60 + ["Van"] * 2 + ["Car"] * 3
    far = {f.label: f.raw for f in _run(_frames(classes), window=3)}  # 5 of 6 others are Cars
    near = {f.label: f.raw for f in _run(_frames(classes), window=30)}  # 33 of 34
    assert set(far) == set(near) == {"s:60", "s:61"}
    assert far["s:60"] < near["s:60"]


@pytest.fixture(scope="module")
def tracking(shared_data: Path) -> Dataset:
    return load_dataset(shared_data / "kitti_tracking")


def _all(dataset: Dataset) -> list[Finding]:
    stats = compute_stats(dataset.frames, SPEC.is_reviewed)
    return [
        f
        for s in chunk_scopes(dataset.frames, SPEC, stats, chunk_size=64)
        for f in track_class_change.CHECK.run(s)
    ]


def test_real_tracks_keep_their_class_and_flips_are_found(tracking: Dataset) -> None:
    assert _all(tracking) == []  # every one of the 28 tracks of 0016 keeps one class
    rng = np.random.default_rng(5)
    labels = [lab for f in tracking.frames for lab in f.labels if lab.track_id is not None]
    flipped = {labels[i].id for i in rng.choice(len(labels), 60, replace=False)}
    swap = {"Car": "Van", "Pedestrian": "Cyclist", "Cyclist": "Pedestrian"}
    frames = tuple(
        f.model_copy(
            update={
                "labels": tuple(
                    x.model_copy(update={"cls": swap[x.cls]}) if x.id in flipped else x for x in f.labels
                )
            }
        )
        for f in tracking.frames
    )
    found = {f.label: f.raw for f in _all(tracking.model_copy(update={"frames": frames}))}
    assert set(found) == flipped  # every flip, nothing else
    # Two flips of one short track next to each other form a run and score less; most are isolated.
    assert np.mean([found[i] >= 0.7 for i in flipped]) >= 0.9
