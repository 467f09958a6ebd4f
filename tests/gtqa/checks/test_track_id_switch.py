from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gtqa.checks.runner import chunk_scopes
from gtqa.checks.scope import ReviewScope
from gtqa.checks.stats import compute_stats
from gtqa.checks.temporal import track_id_switch
from gtqa.domain import Box2D, Dataset, Finding, Frame, IssueType, Label
from gtqa.formats import load_dataset
from gtqa.spec import load_spec

SPEC = load_spec()
Obs = tuple[int, int, tuple[float, float, float, float], str]  # frame, track, box, class


def _walker(x0: float, dx: float, t: int) -> tuple[float, float, float, float]:
    return (x0 + dx * t, 150.0, x0 + 40 + dx * t, 250.0)


def _frames(obs: list[Obs], n: int) -> list[Frame]:
    by_t: dict[int, list[Label]] = {t: [] for t in range(n)}
    for k, (t, track, box, cls) in enumerate(obs):
        by_t[t].append(
            Label(id=f"s:{k}", frame=f"s/{t:06d}", cls=cls, box=Box2D.from_seq(box), track_id=track)
        )
    return [Frame(id=f"s/{t:06d}", sequence="s", index=t, labels=tuple(by_t[t])) for t in range(n)]


def _run(frames: list[Frame], **params: object) -> list[Finding]:
    scope = ReviewScope(frames=tuple(frames), spec=SPEC, stats=compute_stats(frames, SPEC.is_reviewed))
    return track_id_switch.check(scope, track_id_switch.Params(**params))


def _by_label(findings: list[Finding], frames: list[Frame]) -> dict[tuple[int, int | None], Finding]:
    labels = {lab.id: (f.index, lab.track_id) for f in frames for lab in f.labels}
    return {labels[f.label]: f for f in findings if f.label}


def test_one_id_twice_in_a_frame_flags_the_later_label() -> None:
    frames = _frames([(0, 1, _walker(100, 0, 0), "Car"), (0, 1, _walker(400, 0, 0), "Car")], 1)
    (finding,) = _run(frames)
    assert finding.label == "s:1" and finding.raw == 1.0 and finding.type is IssueType.track_id
    assert "track id 1 is used twice in this frame (also by s:0)" in finding.message


def test_a_track_that_restarts_where_the_old_one_was_heading_is_broken() -> None:
    obs = [(t, 1 if t < 10 else 2, _walker(100, 5, t), "Pedestrian") for t in range(20)]
    frames = _frames(obs, 20)
    (finding,) = _run(frames)
    assert _by_label([finding], frames) == {(10, 2): finding}
    assert (
        finding.raw == pytest.approx(1.0)
        and "track 2 starts 1 frame(s) after Pedestrian track 1" in finding.message
    )


def test_a_new_track_elsewhere_or_of_another_class_is_not_a_break() -> None:
    elsewhere = [(t, 1, _walker(100, 5, t), "Pedestrian") for t in range(10)]
    elsewhere += [(t, 2, _walker(600, 5, t), "Pedestrian") for t in range(10, 20)]
    assert _run(_frames(elsewhere, 20)) == []
    other = [
        (t, 1 if t < 10 else 2, _walker(100, 5, t), "Pedestrian" if t < 10 else "Car") for t in range(20)
    ]
    assert _run(_frames(other, 20)) == []


def test_longer_breaks_and_worse_continuations_are_weaker() -> None:
    rng = np.random.default_rng(6)
    for _ in range(10):
        gap_a, gap_b = int(rng.integers(0, 2)), int(rng.integers(3, 5))
        off_a, off_b = rng.uniform(0, 3), rng.uniform(10, 14)  # px off the extrapolated path (40 px wide)
        raws = []
        for gap, off in ((gap_a, off_a), (gap_b, off_b)):
            obs = [(t, 1, _walker(100, 5, t), "Pedestrian") for t in range(10)]
            obs += [(t, 2, _walker(100 + off, 5, t), "Pedestrian") for t in range(10 + gap, 20)]
            (finding,) = _run(_frames(obs, 20))
            raws.append(finding.raw)
        assert raws[0] > raws[1] > 0


def test_two_ids_swapped_from_one_frame_on_flag_both_labels_there() -> None:
    obs = []
    for t in range(20):
        a, b = (1, 2) if t < 10 else (2, 1)
        obs += [(t, a, _walker(100, 5, t), "Pedestrian"), (t, b, _walker(400, -5, t), "Pedestrian")]
    frames = _frames(obs, 20)
    found = _by_label(_run(frames), frames)
    assert set(found) == {(10, 1), (10, 2)}
    assert all(f.raw == pytest.approx(1.0) and "ids probably switched" in f.message for f in found.values())


def test_tracks_that_cross_keep_their_ids() -> None:
    obs = []
    for t in range(30):
        obs += [(t, 1, _walker(100, 10, t), "Pedestrian"), (t, 2, _walker(400, -10, t), "Pedestrian")]
    assert _run(_frames(obs, 30)) == []


@pytest.fixture(scope="module")
def tracking(shared_data: Path) -> Dataset:
    return load_dataset(shared_data / "kitti_tracking")


def _all(dataset: Dataset) -> list[Finding]:
    stats = compute_stats(dataset.frames, SPEC.is_reviewed)
    return [
        f
        for s in chunk_scopes(dataset.frames, SPEC, stats, chunk_size=64)
        for f in track_id_switch.CHECK.run(s)
    ]


def test_real_ids_are_clean_and_broken_ids_are_found(tracking: Dataset) -> None:
    # 0016's pedestrians cross each other all the time; none of it looks like a switch or a break.
    assert _all(tracking) == []
    rng = np.random.default_rng(7)
    spans: dict[int, tuple[int, int]] = {}
    for f in tracking.frames:
        for lab in f.labels:
            if lab.track_id is not None:
                lo, hi = spans.get(lab.track_id, (f.index, f.index))
                spans[lab.track_id] = (min(lo, f.index), max(hi, f.index))
    cut = {tid: int(rng.integers(lo + 3, hi - 2)) for tid, (lo, hi) in spans.items() if hi - lo > 8}
    frames = tuple(
        f.model_copy(
            update={
                "labels": tuple(
                    x.model_copy(update={"track_id": 100 + x.track_id})
                    if x.track_id in cut and f.index >= cut[x.track_id]
                    else x
                    for x in f.labels
                )
            }
        )
        for f in tracking.frames
    )
    found = _all(tracking.model_copy(update={"frames": frames}))
    starts = {(f"0016/{t:06d}", 100 + tid) for tid, t in cut.items()}
    labels = {x.id: (f.id, x.track_id) for f in frames for x in f.labels}
    flagged = {labels[f.label] for f in found if f.label and f.raw >= 0.5}
    assert flagged <= starts  # nothing but the first label of a renamed track
    assert len(flagged) >= 0.9 * len(starts)
