from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gtqa.checks.runner import chunk_scopes
from gtqa.checks.scope import ReviewScope
from gtqa.checks.stats import compute_stats
from gtqa.checks.temporal import dims_jump
from gtqa.domain import Box2D, Cuboid3D, Dataset, Finding, Frame, IssueType, Label
from gtqa.formats import load_dataset
from gtqa.spec import load_spec

SPEC = load_spec()


def _frames(dims: list[tuple[float, float, float] | None]) -> list[Frame]:
    frames = []
    for t, d in enumerate(dims):
        cuboid = (
            None
            if d is None
            else Cuboid3D(h=d[0], w=d[1], l=d[2], x=2.0, y=1.6, z=20.0 - t * 0.2, rotation_y=0.3)
        )
        label = Label(
            id=f"s:{t}",
            frame=f"s/{t:06d}",
            cls="Car",
            box=Box2D.from_seq((500, 160, 560, 200)),
            cuboid=cuboid,
            track_id=0,
        )
        frames.append(Frame(id=f"s/{t:06d}", sequence="s", index=t, labels=(label,)))
    return frames


def _run(frames: list[Frame]) -> dict[str, Finding]:
    scope = ReviewScope(frames=tuple(frames), spec=SPEC, stats=compute_stats(frames, SPEC.is_reviewed))
    return {f.label: f for f in dims_jump.CHECK.run(scope) if f.label}


CAR = (1.5, 1.6, 3.9)


def test_a_constant_track_is_clean_and_one_rescaled_cuboid_is_not() -> None:
    dims: list[tuple[float, float, float] | None] = [CAR] * 15
    assert _run(_frames(dims)) == {}
    dims[7] = (1.5, 1.6, 3.9 * 1.3)
    found = _run(_frames(dims))
    assert set(found) == {"s:7"} and found["s:7"].type is IssueType.geometry_3d
    assert found["s:7"].raw == pytest.approx(1.0)
    assert "3D length 5.07 m differs by +30% from track 0's 3.90 m" in found["s:7"].message


def test_the_larger_the_change_the_stronger() -> None:
    rng = np.random.default_rng(11)
    for _ in range(20):
        small, large = rng.uniform(1.04, 1.08), rng.uniform(1.12, 1.18)
        dim = int(rng.integers(3))
        raws = []
        for s in (small, large):
            dims: list[tuple[float, float, float] | None] = [CAR] * 15
            changed = list(CAR)
            changed[dim] *= s if rng.random() < 0.5 else 1 / s
            dims[5] = (changed[0], changed[1], changed[2])
            raws.append(_run(_frames(dims))["s:5"].raw)
        assert 0 < raws[0] < raws[1]


def test_unknown_cuboids_are_neither_judged_nor_counted() -> None:
    dims: list[tuple[float, float, float] | None] = [CAR, None, CAR, CAR, None]
    assert _run(_frames(dims)) == {}
    assert _run(_frames([CAR, (1.5, 1.6, 6.0), None, None])) == {}  # one other cuboid is too few


def test_sizes_estimated_frame_by_frame_need_a_larger_change() -> None:
    rng = np.random.default_rng(12)
    noisy = [tuple(np.array(CAR) * np.exp(rng.normal(0, 0.03, 3))) for _ in range(15)]
    exact = [CAR] * 15
    for dims in (noisy, exact):
        dims[7] = (CAR[0], CAR[1], CAR[2] * 1.12)
    a = _run(_frames(noisy)).get("s:7")  # type: ignore[arg-type]
    b = _run(_frames(exact))["s:7"]  # type: ignore[arg-type]
    assert a is None or a.raw < b.raw


@pytest.fixture(scope="module")
def tracking(shared_data: Path) -> Dataset:
    return load_dataset(shared_data / "kitti_tracking")


def test_real_tracks_keep_their_size(tracking: Dataset) -> None:
    # KITTI gives every track one h/w/l: 0 flags on 0016's 3,135 labels; a 1.25x-scaled one is found.
    stats = compute_stats(tracking.frames, SPEC.is_reviewed)
    scopes = list(chunk_scopes(tracking.frames, SPEC, stats, chunk_size=64))
    assert [f for s in scopes for f in dims_jump.CHECK.run(s)] == []
    rng = np.random.default_rng(13)
    labels = [x for f in tracking.frames for x in f.labels if x.cuboid is not None and x.track_id is not None]
    picks = {labels[i].id for i in rng.choice(len(labels), 50, replace=False)}
    frames = tuple(
        f.model_copy(
            update={
                "labels": tuple(
                    x.model_copy(update={"cuboid": x.cuboid.model_copy(update={"w": x.cuboid.w * 1.25})})
                    if x.id in picks and x.cuboid is not None
                    else x
                    for x in f.labels
                )
            }
        )
        for f in tracking.frames
    )
    scopes = list(chunk_scopes(frames, SPEC, stats, chunk_size=64))
    found = {f.label for s in scopes for f in dims_jump.CHECK.run(s) if f.raw >= 0.9}
    assert found == picks
