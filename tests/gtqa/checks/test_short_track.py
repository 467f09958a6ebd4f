from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gtqa.checks.runner import chunk_scopes
from gtqa.checks.scope import ReviewScope
from gtqa.checks.stats import compute_stats
from gtqa.checks.temporal import short_track
from gtqa.domain import Box2D, Dataset, Finding, Frame, IssueType, Label
from gtqa.formats import load_dataset
from gtqa.spec import load_spec

SPEC = load_spec()
Box = tuple[float, float, float, float]
STEADY: Box = (100.0, 150.0, 140.0, 250.0)


def _frames(
    spawn: dict[int, Box], n: int = 40, dontcare: Box | None = None, spawn_track: int = 9
) -> list[Frame]:
    frames = []
    for t in range(n):
        labels = [Label(id=f"s:{t}:0", frame=f"s/{t:06d}", cls="Car", box=Box2D.from_seq(STEADY), track_id=1)]
        if t in spawn:
            labels.append(
                Label(
                    id=f"s:{t}:1",
                    frame=f"s/{t:06d}",
                    cls="Pedestrian",
                    box=Box2D.from_seq(spawn[t]),
                    track_id=spawn_track,
                )
            )
        if dontcare is not None:
            labels.append(
                Label(id=f"s:{t}:2", frame=f"s/{t:06d}", cls="DontCare", box=Box2D.from_seq(dontcare))
            )
        frames.append(
            Frame(id=f"s/{t:06d}", sequence="s", index=t, width=1224, height=370, labels=tuple(labels))
        )
    return frames


def _run(frames: list[Frame]) -> dict[str, Finding]:
    scope = ReviewScope(frames=tuple(frames), spec=SPEC, stats=compute_stats(frames, SPEC.is_reviewed))
    return {f.label: f for f in short_track.CHECK.run(scope) if f.label}


BOX: Box = (600.0, 150.0, 640.0, 250.0)


def test_a_one_label_track_in_a_long_sequence_is_flagged() -> None:
    found = _run(_frames({20: BOX}))
    assert set(found) == {"s:20:1"} and found["s:20:1"].type is IssueType.spurious_object
    assert found["s:20:1"].raw == pytest.approx(1.0)
    assert "track 9 has only 1 label(s) in frames 0-39" in found["s:20:1"].message


def test_two_labels_are_weaker_and_three_are_a_track() -> None:
    two = _run(_frames({20: BOX, 21: BOX}))
    assert set(two) == {"s:20:1", "s:21:1"} and all(0 < f.raw < 1 for f in two.values())
    assert _run(_frames({20: BOX, 21: BOX, 22: BOX})) == {}


def test_border_small_dontcare_and_sequence_end_weaken_the_evidence() -> None:
    base = _run(_frames({20: BOX}))["s:20:1"].raw
    border = _run(_frames({20: (1190.0, 150.0, 1223.0, 250.0)}))["s:20:1"].raw
    small = _run(_frames({20: (600.0, 180.0, 606.0, 191.0)}))["s:20:1"].raw
    near_dc = _run(_frames({20: BOX}, dontcare=(645.0, 140.0, 700.0, 200.0)))["s:20:1"].raw
    end = _run(_frames({39: BOX}))["s:39:1"].raw
    assert all(0 < r < base for r in (border, small, near_dc, end))


def test_smaller_boxes_are_weaker() -> None:
    rng = np.random.default_rng(16)
    for _ in range(10):
        big, tiny = rng.uniform(30, 100), rng.uniform(10, 20)  # box heights in px
        a = _run(_frames({20: (600.0, 150.0, 620.0, 150.0 + big)}))["s:20:1"].raw
        b = _run(_frames({20: (600.0, 150.0, 605.0, 150.0 + tiny)}))["s:20:1"].raw
        assert a > b > 0


def test_a_short_sequence_is_no_evidence() -> None:
    assert _run(_frames({2: BOX}, n=5)) == {}


@pytest.fixture(scope="module")
def tracking(shared_data: Path) -> Dataset:
    return load_dataset(shared_data / "kitti_tracking")


def test_real_tracks_are_long_and_pasted_boxes_are_not(tracking: Dataset) -> None:
    stats = compute_stats(tracking.frames, SPEC.is_reviewed)

    def run(frames: tuple[Frame, ...]) -> dict[str | None, float]:
        scopes = chunk_scopes(frames, SPEC, stats, chunk_size=64)
        return {f.label: f.raw for s in scopes for f in short_track.CHECK.run(s)}

    assert run(tracking.frames) == {}  # the shortest real track has 4 labels, at the sequence's end
    # Boxes pasted from other frames with new track ids: each a one-label track.
    rng = np.random.default_rng(17)
    labels = [x for f in tracking.frames for x in f.labels if x.track_id is not None]
    frames = list(tracking.frames)
    pasted = set()
    for k, t in enumerate(rng.choice(len(frames), 30, replace=False)):
        src = labels[int(rng.integers(len(labels)))]
        copy = src.model_copy(update={"id": f"pasted:{k}", "frame": frames[t].id, "track_id": 500 + k})
        frames[t] = frames[t].model_copy(update={"labels": (*frames[t].labels, copy)})
        pasted.add(copy.id)
    found = run(tuple(frames))
    assert set(found) == pasted
    # Weakened only at the border, when small, next to DontCare or at the sequence's ends.
    assert np.mean([found[p] >= 0.4 for p in pasted]) >= 0.8
