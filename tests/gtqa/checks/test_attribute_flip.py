from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gtqa.checks.runner import chunk_scopes
from gtqa.checks.scope import ReviewScope
from gtqa.checks.stats import compute_stats
from gtqa.checks.temporal import attribute_flip
from gtqa.domain import Box2D, Dataset, Finding, Frame, IssueType, Label
from gtqa.formats import load_dataset
from gtqa.spec import load_spec

SPEC = load_spec()
Box = tuple[float, float, float, float]


def _frames(
    occlusion: list[int | None],
    truncation: list[float | None] | None = None,
    boxes: list[Box] | None = None,
    extra: dict[int, Label] | None = None,
) -> list[Frame]:
    frames = []
    for t, occ in enumerate(occlusion):
        box = boxes[t] if boxes else (500.0 + 3 * t, 150.0, 540.0 + 3 * t, 250.0)
        trunc = truncation[t] if truncation else 0.0
        label = Label(
            id=f"s:{t}",
            frame=f"s/{t:06d}",
            cls="Pedestrian",
            box=Box2D.from_seq(box),
            occlusion=occ,
            truncation=trunc,
            track_id=1,
        )
        labels = (label,) + ((extra[t],) if extra and t in extra else ())
        frames.append(Frame(id=f"s/{t:06d}", sequence="s", index=t, width=1224, height=370, labels=labels))
    return frames


def _run(frames: list[Frame]) -> dict[str, Finding]:
    scope = ReviewScope(frames=tuple(frames), spec=SPEC, stats=compute_stats(frames, SPEC.is_reviewed))
    return {f.label: f for f in attribute_flip.CHECK.run(scope) if f.label}


def test_an_isolated_occlusion_flip_is_flagged() -> None:
    found = _run(_frames([1, 1, 1, 0, 1, 1, 1]))
    assert set(found) == {"s:3"} and found["s:3"].type is IssueType.attribute
    assert (
        "occlusion 0 while the track's previous and next labels (s:2, s:4) both say 1" in found["s:3"].message
    )
    assert _run(_frames([1, 1, 1, 0, 0, 0, 0])) == {}  # a change that lasts is not a flip


def test_bigger_flips_and_truncation_flips_are_stronger() -> None:
    one = _run(_frames([0, 0, 0, 1, 0, 0]))["s:3"]
    two = _run(_frames([0, 0, 0, 2, 0, 0]))["s:3"]
    trunc = _run(_frames([0] * 6, truncation=[0.0, 0.0, 0.0, 0.5, 0.0, 0.0]))["s:3"]
    assert 0 < one.raw < two.raw < trunc.raw


def test_unknown_values_are_never_flips() -> None:
    assert _run(_frames([1, 1, None, 1, 1])) == {}
    assert _run(_frames([1, None, 0, None, 1])) == {}
    assert _run(_frames([0] * 5, truncation=[0.0, 0.0, None, 0.0, 0.0])) == {}


def test_a_flip_the_geometry_explains_is_weaker() -> None:
    rng = np.random.default_rng(14)
    for _ in range(10):
        t = 3
        box = (500.0 + 3 * t, 150.0, 540.0 + 3 * t, 250.0)
        share = rng.uniform(0.5, 1.0)
        # A nearer (lower-bottomed) label covering part of the box in the flipped frame only.
        front = Label(
            id="s:x",
            frame=f"s/{t:06d}",
            cls="Pedestrian",
            box=Box2D.from_seq((box[0], 140, box[0] + share * 40, 300)),
            track_id=2,
        )
        plain = _run(_frames([0, 0, 0, 1, 0, 0]))["s:3"]
        hidden = _run(_frames([0, 0, 0, 1, 0, 0], extra={t: front}))["s:3"]
        assert hidden.raw < plain.raw and "may be real" in hidden.message


def test_truncation_flip_at_a_border_touch_is_explained() -> None:
    boxes: list[Box] = [(1000.0, 150.0, 1100.0, 250.0)] * 6
    boxes[3] = (1120.0, 150.0, 1223.0, 250.0)  # touches the right border in this frame only
    plain = _run(_frames([0] * 6, truncation=[0.0, 0.0, 0.0, 0.5, 0.0, 0.0]))["s:3"]
    touch = _run(_frames([0] * 6, truncation=[0.0, 0.0, 0.0, 0.5, 0.0, 0.0], boxes=boxes))["s:3"]
    assert touch.raw < plain.raw


@pytest.fixture(scope="module")
def tracking(shared_data: Path) -> Dataset:
    return load_dataset(shared_data / "kitti_tracking")


def test_few_real_labels_flip_and_injected_flips_are_found(tracking: Dataset) -> None:
    stats = compute_stats(tracking.frames, SPEC.is_reviewed)

    def run(frames: tuple[Frame, ...]) -> dict[str | None, float]:
        scopes = chunk_scopes(frames, SPEC, stats, chunk_size=64)
        return {f.label: f.raw for s in scopes for f in attribute_flip.CHECK.run(s)}

    n = sum(1 for f in tracking.frames for x in f.labels if x.track_id is not None)
    real = run(tracking.frames)
    # Measured: 17 one-frame occlusion flips (0.5% of labels; 1-0-1 as people pass), no truncation flip.
    assert len(real) <= 0.01 * n
    assert max(real.values()) <= 0.9  # none is a truncation flip
    rng = np.random.default_rng(15)
    labels = [x for f in tracking.frames for x in f.labels if x.track_id is not None and x.truncation == 0.0]
    picks = {labels[i].id for i in rng.choice(len(labels), 40, replace=False)}
    frames = tuple(
        f.model_copy(
            update={
                "labels": tuple(
                    x.model_copy(update={"truncation": 1.0}) if x.id in picks else x for x in f.labels
                )
            }
        )
        for f in tracking.frames
    )
    found = run(frames)
    # All but those at a track's first or last frame (no neighbour on one side) are found at full strength.
    assert sum(found.get(p, 0.0) == 1.0 for p in picks) >= 0.9 * len(picks)
