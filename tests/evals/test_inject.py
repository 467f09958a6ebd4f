"""Defect injection: every family's promise holds on the *written and re-read* copy."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from evals.inject import InjectionError, inject, inject_folder, write_injection
from evals.inject.manifest import Family, Manifest, ManifestEntry, parse_families, read_manifest
from evals.inject.perturb import shift_box
from gtqa.domain import Box2D, Dataset, Frame, Label
from gtqa.domain.boxes import iou
from gtqa.formats import load_dataset
from gtqa.spec import CompiledSpec, load_spec


@pytest.fixture(scope="module")
def spec() -> CompiledSpec:
    return load_spec()


def _box(label: Label) -> tuple[float, float, float, float]:
    return (label.box.x1, label.box.y1, label.box.x2, label.box.y2)


def _close(a: Sequence[float], b: Sequence[float], tol: float = 1e-5) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


class Copy:
    """The source, the re-read corrupted copy and its manifest, indexed for the invariant checks."""

    def __init__(self, source: Dataset, copy: Dataset, manifest: Manifest, spec: CompiledSpec) -> None:
        self.source, self.copy, self.manifest, self.spec = source, copy, manifest, spec
        self.src = {lab.id: lab for lab in source.labels()}
        self.new = {lab.id: lab for lab in copy.labels()}
        self.source_tracks = {lab.track_id for lab in source.labels() if lab.track_id is not None}
        self.copy_track_counts = Counter(lab.track_id for lab in copy.labels())

    def original(self, entry: ManifestEntry) -> Label:
        return self.src[entry.detail["original_label"]]

    def fresh(self, track: int | None) -> bool:
        return track is not None and track not in self.source_tracks


def check_invariants(c: Copy) -> None:
    m = c.manifest
    reviewed = sum(c.spec.is_reviewed(lab.cls) for lab in c.source.labels())
    assert m.n_reviewed == reviewed
    assert len(m.entries) == m.n_requested == math.floor(m.rate * reviewed + 0.5)
    counts = [n.injected for n in m.families.values()]
    assert max(counts) - min(counts) <= 1, "split evenly over the supported families"
    # every id resolves in the re-read copy, on the right frame (the label before a track break is in
    # an earlier one), with the manifest's box
    for e in m.entries:
        for label_id in (e.label, *e.related):
            if label_id is not None:
                assert label_id in c.new, f"{e.id}: {label_id} does not resolve"
                assert c.new[label_id].frame == e.frame or e.family == Family.track_break
        if e.label is not None:
            assert _close(_box(c.new[e.label]), e.box)
        assert e.issue_type == e.family.issue_type
    # each defect on a distinct label
    in_source = [e.detail["original_label"] for e in m.entries if "original_label" in e.detail]
    assert len(in_source) == len(set(in_source))
    in_copy = [i for e in m.entries for i in (e.label, *e.related) if i is not None]
    assert len(in_copy) == len(set(in_copy))
    # label count: dropped removed, spawned and duplicates added
    n_family = Counter(e.family for e in m.entries)
    expected = len(c.src) - n_family[Family.dropped] + n_family[Family.spawned] + n_family[Family.duplicate]
    assert len(c.new) == expected
    for e in m.entries:
        CHECKERS[e.family](c, e)


def _dropped(c: Copy, e: ManifestEntry) -> None:
    assert e.label is None
    gone = c.original(e)
    assert _close(_box(gone), e.box)
    same = [lab for lab in c.copy.frame(e.frame).labels if lab.cls == gone.cls and _close(_box(lab), e.box)]
    assert not same, "the dropped line is gone from its frame"


def _class_flip(c: Copy, e: ManifestEntry) -> None:
    old, new = c.original(e), c.new[e.label or ""]
    assert new.cls == e.detail["to"] != old.cls == e.detail["from"]
    confusable = c.spec.taxonomy.classes[old.cls].confusable
    assert new.cls in confusable or not confusable
    assert _close(_box(new), _box(old))


def _shifted(c: Copy, e: ManifestEntry) -> None:
    old, new = c.original(e), c.new[e.label or ""]
    assert 0.4 <= iou(_box(old), _box(new)) <= 0.7
    assert new.cuboid == old.cuboid and new.cls == old.cls


def _spawned(c: Copy, e: ManifestEntry) -> None:
    new, source = c.new[e.label or ""], c.src[e.detail["source_label"]]
    assert source.frame != e.frame and new.cls == source.cls
    assert _close((new.box.width, new.box.height), (source.box.width, source.box.height))
    others = [lab for lab in c.copy.frame(e.frame).labels if lab.id != new.id]
    others += list(c.source.frame(e.frame).labels)
    for other in others:
        ix = min(new.box.x2, other.box.x2) - max(new.box.x1, other.box.x1)
        iy = min(new.box.y2, other.box.y2) - max(new.box.y1, other.box.y1)
        assert ix <= 1e-6 or iy <= 1e-6, f"{e.id} overlaps {other.id}"
    if c.source_tracks:
        assert c.fresh(new.track_id) and c.copy_track_counts[new.track_id] == 1
    if source.cuboid is not None:  # the source's cuboid, slid along with the box when there is a calib
        assert new.cuboid is not None
        kept = ("h", "w", "l", "y", "z", "rotation_y")
        assert [getattr(new.cuboid, k) for k in kept] == pytest.approx(
            [getattr(source.cuboid, k) for k in kept]
        )
        calib = c.copy.frame(e.frame).calib
        focal = calib.focal_px if calib is not None and e.detail["cuboid_moved"] else math.inf
        slide = e.detail["moved_px"] * source.cuboid.z / focal
        assert new.cuboid.x == pytest.approx(source.cuboid.x + slide, abs=1e-3)


def _duplicate(c: Copy, e: ManifestEntry) -> None:
    (original_id,) = e.related
    copy, original = c.new[e.label or ""], c.new[original_id]
    assert iou(_box(copy), _box(original)) >= 0.7 and copy.cls == original.cls
    if original.track_id is not None:
        assert c.fresh(copy.track_id) and c.copy_track_counts[copy.track_id] == 1
    if original.cuboid is not None:
        assert copy.cuboid is not None
        moved = math.dist(
            (copy.cuboid.x, copy.cuboid.y, copy.cuboid.z),
            (original.cuboid.x, original.cuboid.y, original.cuboid.z),
        )
        assert moved <= 0.3 + 1e-6


def _track_break(c: Copy, e: ManifestEntry) -> None:
    first, (before_id,) = c.new[e.label or ""], e.related
    before, old = c.new[before_id], c.original(e)
    assert c.fresh(first.track_id) and before.track_id != first.track_id
    assert first.track_id == e.detail["new_track_id"]
    # the track broken is the source's, or a piece an earlier break on the same track already renamed
    assert e.detail["old_track_id"] == old.track_id or c.fresh(e.detail["old_track_id"])
    index = c.copy.frame(e.frame).index
    relabelled = [lab for lab in c.copy.labels() if lab.track_id == first.track_id]
    assert all(c.copy.frame(lab.frame).index >= index for lab in relabelled)
    assert len(relabelled) <= e.detail["relabelled"]  # later breaks or drops may take some of the tail


def _attribute(c: Copy, e: ManifestEntry) -> None:
    old, new = c.original(e), c.new[e.label or ""]
    if e.detail["attribute"] == "occlusion":
        assert new.occlusion == e.detail["to"] != old.occlusion and new.occlusion in (0, 1, 2)
    elif "truncation_level" in old.attributes:
        assert new.attributes["truncation_level"] == e.detail["to"] != old.attributes["truncation_level"]
        assert e.detail["to"] in (0, 1, 2)
    else:
        assert new.truncation is not None and old.truncation is not None
        assert abs(new.truncation - old.truncation) >= 0.25 and 0.0 <= new.truncation <= 1.0


def _scaled_3d(c: Copy, e: ManifestEntry) -> None:
    old, new = c.original(e), c.new[e.label or ""]
    assert old.cuboid is not None and new.cuboid is not None
    factor = e.detail["factor"]
    assert 1.3 <= factor <= 1.8 or 0.55 <= factor <= 0.77
    for name in ("h", "w", "l"):
        assert getattr(new.cuboid, name) == pytest.approx(
            getattr(old.cuboid, name) * factor, rel=1e-3, abs=1e-5
        )
    assert (new.cuboid.x, new.cuboid.y, new.cuboid.z) == (old.cuboid.x, old.cuboid.y, old.cuboid.z)


CHECKERS = {
    Family.dropped: _dropped,
    Family.class_flip: _class_flip,
    Family.shifted: _shifted,
    Family.spawned: _spawned,
    Family.duplicate: _duplicate,
    Family.track_break: _track_break,
    Family.attribute: _attribute,
    Family.scaled_3d: _scaled_3d,
}


def _inject(source: Path, out: Path, spec: CompiledSpec, **kw: object) -> Copy:
    manifest = inject_folder(source, out, spec, **kw)  # type: ignore[arg-type]
    assert read_manifest(out) == manifest
    return Copy(load_dataset(source), load_dataset(out), manifest, spec)


def test_tracking_copy_keeps_every_family_promise(
    shared_data: Path, tmp_path: Path, spec: CompiledSpec
) -> None:
    c = _inject(shared_data / "kitti_tracking", tmp_path / "copy", spec, rate=0.08, seed=3)
    assert set(c.manifest.families) == set(Family) and not c.manifest.unsupported
    assert len(c.manifest.entries) == 251  # round(0.08 x 3,135 reviewed objects)
    check_invariants(c)
    for name in ("image_02", "calib", "detections"):
        assert (tmp_path / "copy" / name).is_symlink()
    assert not (tmp_path / "copy" / "label_02").is_symlink()


def test_object_copy_with_float_truncation_and_no_tracks(
    shared_data: Path, tmp_path: Path, spec: CompiledSpec
) -> None:
    c = _inject(shared_data / "kitti_object", tmp_path / "copy", spec, rate=0.9, seed=11)
    assert Family.track_break in c.manifest.unsupported
    assert c.manifest.families[Family.attribute].injected > 0
    check_invariants(c)
    assert (tmp_path / "copy" / "image_2").is_symlink()


def test_labels_only_data_supports_only_2d_families(
    shared_data: Path, tmp_path: Path, spec: CompiledSpec
) -> None:
    c = _inject(shared_data / "kitti_rechecked", tmp_path / "copy", spec, rate=0.08, seed=0)
    assert set(c.manifest.unsupported) == {Family.track_break, Family.scaled_3d, Family.attribute}
    check_invariants(c)
    assert (tmp_path / "copy" / "frames.txt").is_file() and (tmp_path / "copy" / "pred_2").is_symlink()


def test_same_seed_same_copy_other_seed_other_copy(
    shared_data: Path, tmp_path: Path, spec: CompiledSpec
) -> None:
    source = shared_data / "kitti_tracking"
    a = inject_folder(source, tmp_path / "a", spec, seed=5)
    b = inject_folder(source, tmp_path / "b", spec, seed=5)
    other = inject_folder(source, tmp_path / "c", spec, seed=6)
    assert a.entries == b.entries
    text = (tmp_path / "a/label_02/0016.txt").read_text()
    assert text == (tmp_path / "b/label_02/0016.txt").read_text()
    assert a.entries != other.entries


def test_families_can_be_chosen(shared_data: Path, tmp_path: Path, spec: CompiledSpec) -> None:
    families = parse_families(["dropped,spawned"])
    c = _inject(shared_data / "kitti_tracking", tmp_path / "copy", spec, rate=0.02, seed=1, families=families)
    assert {e.family for e in c.manifest.entries} == {Family.dropped, Family.spawned}
    assert sorted(n.injected for n in c.manifest.families.values()) == [31, 32]  # 63 = round(0.02 x 3,135)
    check_invariants(c)
    with pytest.raises(ValueError, match="unknown families"):
        parse_families(["dropped", "teleported"])


def _tiny(known_occlusion: int = 12) -> Dataset:
    labels = [
        Label(
            id=f"f{i}:{j}",
            frame=f"f{i}",
            cls="Car",
            box=Box2D(x1=100 * j, y1=50, x2=100 * j + 60, y2=90),
            occlusion=0 if 4 * i + j < known_occlusion else None,
        )
        for i in range(3)
        for j in range(4)
    ]
    frames = tuple(
        Frame(
            id=f"f{i}",
            index=i,
            width=1000,
            height=300,
            labels=tuple(lab for lab in labels if lab.frame == f"f{i}"),
        )
        for i in range(3)
    )
    return Dataset(name="tiny", format="kitti", root="/nowhere", frames=frames)


def test_every_label_family_and_spawned_boxes_work_on_independent_frames(spec: CompiledSpec) -> None:
    injection = inject(_tiny(), spec, rate=1.0, seed=0)
    assert len(injection.defects) == 12
    assert Counter(d.family for d in injection.defects) == {f: 2 for f in injection.requested}
    assert set(injection.unsupported) == {Family.track_break, Family.scaled_3d}
    labels = [d.detail["original_label"] for d in injection.defects if "original_label" in d.detail]
    assert len(labels) == len(set(labels))


def test_a_family_short_of_candidates_passes_its_quota_on(spec: CompiledSpec) -> None:
    # rate 1 over 12 labels: 6 each, but only 2 labels have an occlusion to change
    families = [Family.attribute, Family.dropped]
    injection = inject(_tiny(known_occlusion=2), spec, rate=1.0, seed=0, families=families)
    assert injection.requested == {Family.attribute: 6, Family.dropped: 6}
    assert Counter(d.family for d in injection.defects) == {Family.attribute: 2, Family.dropped: 10}


def test_refuses_to_write_into_the_source_or_over_other_files(
    shared_data: Path, tmp_path: Path, spec: CompiledSpec
) -> None:
    source = shared_data / "kitti_object"
    with pytest.raises(InjectionError, match="inside the source"):
        write_injection(
            inject(load_dataset(source), spec, rate=0.1, seed=0),
            source,
            source / "x",
            spec=spec,
            seed=0,
            rate=0.1,
        )
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(InjectionError, match="not empty"):
        inject_folder(source, tmp_path / "busy", spec)
    with pytest.raises(InjectionError, match="not an injected copy"):
        inject_folder(source, tmp_path / "busy", spec, overwrite=True)
    inject_folder(source, tmp_path / "ok", spec, seed=1)
    again = inject_folder(source, tmp_path / "ok", spec, seed=2, overwrite=True)
    assert read_manifest(tmp_path / "ok").seed == again.seed == 2


def test_shift_lands_in_range_and_moves_further_for_lower_iou() -> None:
    rng = np.random.default_rng(0)
    box = (100.0, 50.0, 140.0, 150.0)
    ious = [iou(box, b) for b in (shift_box(box, rng, (1000.0, 300.0)) for _ in range(200)) if b is not None]
    assert len(ious) == 200 and min(ious) >= 0.4 and max(ious) <= 0.7
    tight = [
        iou(box, b) for b in (shift_box(box, rng, (1000.0, 300.0), lo=0.8, hi=0.9) for _ in range(50)) if b
    ]
    assert min(tight) >= 0.8
