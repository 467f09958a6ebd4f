"""The defect families: which labels each can corrupt, and how it corrupts one.

Every family works on an :class:`InjectionState` (the frames' current labels plus the bookkeeping that
keeps defects apart) and returns a :class:`PendingDefect` whose label ids are the ids *before* writing;
``gtqa.formats`` writers map them to the ids of the written copy. New labels (spawned boxes, duplicates)
get temporary ids ``injected:<n>`` until then.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from evals.inject import perturb
from evals.inject.manifest import Family
from gtqa.domain import Box2D, Dataset, Frame, Label
from gtqa.domain.boxes import iou
from gtqa.spec import CompiledSpec

Box = tuple[float, float, float, float]

# A spawned box is taken from a frame at least this many frames away in the same sequence, so it is not
# the same object a moment earlier or later.
SPAWN_MIN_FRAME_GAP = 10


@dataclass(frozen=True)
class PendingDefect:
    family: Family
    frame: str
    label: str | None
    box: Box
    related: tuple[str, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class InjectionState:
    """Mutable working copy of a dataset's labels. ``reserved`` holds every label id already carrying
    (or related to) a defect, so each defect lands on a distinct label."""

    dataset: Dataset
    spec: CompiledSpec
    labels: dict[str, list[Label]]
    bounds: dict[str, perturb.Bounds]
    has_tracks: bool = False
    reserved: set[str] = field(default_factory=set)
    next_track: int = 0
    next_temp: int = 0

    @classmethod
    def start(cls, dataset: Dataset, spec: CompiledSpec) -> InjectionState:
        tracks = [lab.track_id for lab in dataset.labels() if lab.track_id is not None]
        return cls(
            dataset=dataset,
            spec=spec,
            labels={f.id: list(f.labels) for f in dataset.frames},
            bounds=_frame_bounds(dataset),
            has_tracks=bool(tracks),
            next_track=max(tracks, default=-1) + 1,
        )

    def fresh_track(self) -> int:
        self.next_track += 1
        return self.next_track - 1

    def temp_id(self) -> str:
        self.next_temp += 1
        return f"injected:{self.next_temp}"

    @cached_property
    def source_reviewed(self) -> list[Label]:
        """Reviewed labels of the source in reading order (the candidates of label families)."""
        return [lab for lab in self.dataset.labels() if self.spec.is_reviewed(lab.cls)]

    @cached_property
    def classes_present(self) -> list[str]:
        return sorted({lab.cls for lab in self.source_reviewed})

    @cached_property
    def frames(self) -> dict[str, Frame]:
        return {f.id: f for f in self.dataset.frames}

    def find(self, frame: str, label_id: str) -> int | None:
        return next((i for i, lab in enumerate(self.labels[frame]) if lab.id == label_id), None)

    def replace(self, label: Label, **update: Any) -> Label:
        i = self.find(label.frame, label.id)
        assert i is not None, f"{label.id} is not in frame {label.frame}"
        new = self.labels[label.frame][i].model_copy(update=update)
        self.labels[label.frame][i] = new
        return new

    def insert(self, frame: str, label: Label, rng: np.random.Generator) -> None:
        """Insert at a random position: a defect's place in the file must not give it away."""
        self.labels[frame].insert(int(rng.integers(0, len(self.labels[frame]) + 1)), label)

    def current(self, label: Label) -> Label | None:
        i = self.find(label.frame, label.id)
        return None if i is None else self.labels[label.frame][i]


def _frame_bounds(dataset: Dataset) -> dict[str, perturb.Bounds]:
    """Per frame ``(x_max, y_max)``: the image size when known, else the most common image size of the
    dataset, else the extent of every label box; never smaller than the frame's own boxes."""
    sizes = Counter((f.width, f.height) for f in dataset.frames if f.width and f.height)
    common = sizes.most_common(1)[0][0] if sizes else None
    boxes = [lab.box for lab in dataset.labels()]
    extent = (max((b.x2 for b in boxes), default=1.0), max((b.y2 for b in boxes), default=1.0))
    out: dict[str, perturb.Bounds] = {}
    for f in dataset.frames:
        size = (f.width, f.height) if f.width and f.height else common
        x_max, y_max = (size[0] - 1.0, size[1] - 1.0) if size else extent
        own = f.label_boxes()
        if len(own):
            x_max, y_max = max(x_max, float(own[:, 2].max())), max(y_max, float(own[:, 3].max()))
        out[f.id] = (x_max, y_max)
    return out


def _box(label: Label) -> Box:
    return (label.box.x1, label.box.y1, label.box.x2, label.box.y2)


def _has_area(label: Label, min_px: float = 2.0) -> bool:
    return label.box.width >= min_px and label.box.height >= min_px


# --- candidates: what each family may corrupt (label ids, or frame ids for spawned boxes) -------------


def _reviewed_ids(state: InjectionState, keep: Callable[[Label], bool]) -> list[str]:
    return [lab.id for lab in state.source_reviewed if keep(lab)]


def flip_targets(state: InjectionState, cls: str) -> list[str]:
    """The taxonomy's confusable classes of ``cls``, else the other reviewed classes in the data."""
    taxonomy = state.spec.taxonomy.classes
    confusable = [c for c in taxonomy[cls].confusable if c != cls] if cls in taxonomy else []
    confusable = [c for c in confusable if state.spec.is_reviewed(c)]
    if confusable:
        return confusable
    return [c for c in state.classes_present if c != cls]


def candidates(state: InjectionState, family: Family) -> list[str]:
    if family == Family.spawned:
        many_frames = len(state.dataset.frames) > 1 and bool(state.source_reviewed)
        return [f.id for f in state.dataset.frames] if many_frames else []
    keep: dict[Family, Callable[[Label], bool]] = {
        Family.dropped: lambda lab: True,
        Family.class_flip: lambda lab: bool(flip_targets(state, lab.cls)),
        Family.shifted: _has_area,
        Family.duplicate: _has_area,
        Family.track_break: lambda lab: lab.track_id is not None,
        Family.attribute: lambda lab: lab.occlusion is not None or lab.truncation is not None,
        Family.scaled_3d: lambda lab: lab.cuboid is not None,
    }
    return _reviewed_ids(state, keep[family])


# --- the families ----------------------------------------------------------------------------------


def inject_dropped(state: InjectionState, label: Label, rng: np.random.Generator) -> PendingDefect:
    i = state.find(label.frame, label.id)
    assert i is not None
    del state.labels[label.frame][i]
    detail = {"class": label.cls, "track_id": label.track_id}
    return PendingDefect(Family.dropped, label.frame, None, _box(label), (), detail)


def inject_class_flip(state: InjectionState, label: Label, rng: np.random.Generator) -> PendingDefect:
    new_cls = str(rng.choice(flip_targets(state, label.cls)))
    state.replace(label, cls=new_cls)
    return PendingDefect(
        Family.class_flip, label.frame, label.id, _box(label), (), {"from": label.cls, "to": new_cls}
    )


def inject_shifted(state: InjectionState, label: Label, rng: np.random.Generator) -> PendingDefect | None:
    new = perturb.shift_box(_box(label), rng, state.bounds[label.frame])
    if new is None:
        return None
    state.replace(label, box=Box2D.from_seq(new))
    detail = {"original_box": list(_box(label)), "iou": round(iou(_box(label), new), 4)}
    return PendingDefect(Family.shifted, label.frame, label.id, new, (), detail)


def inject_duplicate(state: InjectionState, label: Label, rng: np.random.Generator) -> PendingDefect | None:
    box = perturb.jitter_box(_box(label), rng, state.bounds[label.frame])
    if box is None:
        return None
    copy_id = state.temp_id()
    cuboid = perturb.jitter_cuboid(label.cuboid, rng) if label.cuboid is not None else None
    track = state.fresh_track() if label.track_id is not None else None
    copy = (state.current(label) or label).model_copy(
        update={
            "id": copy_id,
            "box": Box2D.from_seq(box),
            "cuboid": cuboid,
            "track_id": track,
            "source": None,
        }
    )
    state.insert(label.frame, copy, rng)
    state.reserved.add(copy_id)
    detail = {
        "original_box": list(_box(label)),
        "iou": round(iou(_box(label), box), 4),
        "track_id": track,
    }
    if cuboid is not None and label.cuboid is not None:
        detail["cuboid_shift_m"] = round(
            float(np.hypot(cuboid.x - label.cuboid.x, cuboid.z - label.cuboid.z)), 4
        )
    return PendingDefect(Family.duplicate, label.frame, copy_id, box, (label.id,), detail)


def inject_attribute(state: InjectionState, label: Label, rng: np.random.Generator) -> PendingDefect:
    fields = [n for n in ("occlusion", "truncation") if getattr(label, n) is not None]
    name = str(rng.choice(fields))
    if name == "occlusion":
        assert label.occlusion is not None
        new_occ = perturb.other_level(label.occlusion, perturb.OCCLUSION_LEVELS, rng)
        state.replace(label, occlusion=new_occ)
        detail: dict[str, Any] = {"attribute": "occlusion", "from": label.occlusion, "to": new_occ}
    elif "truncation_level" in label.attributes:  # KITTI tracking: an integer level 0/1/2
        old_level = int(label.attributes["truncation_level"])
        level = perturb.other_level(old_level, perturb.TRUNCATION_LEVELS, rng)
        attributes = {**label.attributes, "truncation_level": level}
        state.replace(label, truncation=level / 2.0, attributes=attributes)
        detail = {"attribute": "truncation", "from": old_level, "to": level}
    else:
        assert label.truncation is not None
        value = perturb.other_truncation(label.truncation, rng)
        state.replace(label, truncation=value)
        detail = {"attribute": "truncation", "from": label.truncation, "to": value}
    return PendingDefect(Family.attribute, label.frame, label.id, _box(label), (), detail)


def inject_scaled_3d(state: InjectionState, label: Label, rng: np.random.Generator) -> PendingDefect:
    assert label.cuboid is not None
    factor = perturb.scale_factor(rng)
    state.replace(label, cuboid=perturb.scale_cuboid(label.cuboid, factor))
    detail = {"factor": round(factor, 4), "original_hwl": [label.cuboid.h, label.cuboid.w, label.cuboid.l]}
    return PendingDefect(Family.scaled_3d, label.frame, label.id, _box(label), (), detail)


def inject_track_break(state: InjectionState, label: Label, rng: np.random.Generator) -> PendingDefect | None:
    """From this label's frame on, the rest of its (current) track gets a fresh id; the label before the
    break is ``related``, since a reviewer may flag either side of it."""
    current = state.current(label)
    if current is None or current.track_id is None:
        return None
    members = _track_members(state, label.frame, current.track_id)
    position = next(i for i, lab in enumerate(members) if lab.id == label.id)
    if position == 0 or members[position - 1].id in state.reserved:
        return None
    previous = members[position - 1]
    new_track = state.fresh_track()
    for member in members[position:]:
        state.replace(member, track_id=new_track)
    state.reserved.add(previous.id)
    detail = {
        "old_track_id": current.track_id,
        "new_track_id": new_track,
        "relabelled": len(members) - position,
    }
    return PendingDefect(Family.track_break, label.frame, label.id, _box(label), (previous.id,), detail)


def _track_members(state: InjectionState, frame_id: str, track: int) -> list[Label]:
    """Current labels of a track in the same sequence as ``frame_id``, in frame order."""
    sequence = state.frames[frame_id].sequence
    return [
        lab
        for f in state.dataset.frames
        if f.sequence == sequence
        for lab in state.labels[f.id]
        if lab.track_id == track
    ]


def inject_spawned(state: InjectionState, frame_id: str, rng: np.random.Generator) -> PendingDefect | None:
    """A real box from another frame (or place), where no label of this frame overlaps, including the
    labels removed by other families (their objects are still in the image)."""
    target = state.frames[frame_id]
    occupied = np.array([_box(lab) for lab in (*target.labels, *state.labels[frame_id])], dtype=np.float64)
    sources = [
        lab for lab in state.source_reviewed if _far_enough(state, target, lab) and _has_area(lab, 4.0)
    ]
    for _ in range(12 if sources else 0):
        source = sources[int(rng.integers(len(sources)))]
        size = (source.box.width, source.box.height)
        box = perturb.free_placement(size, _box(source), occupied.reshape(-1, 4), rng, state.bounds[frame_id])
        if box is None:
            continue
        new = _spawn(state, source, target, box)
        state.insert(frame_id, new, rng)
        state.reserved.add(new.id)
        detail = {
            "source_label": source.id,
            "source_frame": source.frame,
            "moved_px": round(box[0] - source.box.x1, 3),
            "cuboid_moved": new.cuboid != source.cuboid,
            "class": source.cls,
            "track_id": new.track_id,
        }
        return PendingDefect(Family.spawned, frame_id, new.id, box, (), detail)
    return None


def _spawn(state: InjectionState, source: Label, target: Frame, box: Box) -> Label:
    """The source label at its new place. A box moved along its image rows takes its cuboid along
    (same depth, x shifted by the pixel shift x depth / focal length, alpha following) when the frame
    has a calibration, so a spurious box is not given away by a 2D-3D mismatch; without one the
    cuboid stays where the source had it."""
    update: dict[str, Any] = {
        "id": state.temp_id(),
        "frame": target.id,
        "box": Box2D.from_seq(box),
        "track_id": state.fresh_track() if state.has_tracks else None,
        "source": None,
    }
    shift_px = box[0] - source.box.x1
    if source.cuboid is not None and target.calib is not None and shift_px != 0.0:
        cuboid = perturb.slide_cuboid(source.cuboid, shift_px, target.calib.focal_px)
        update["cuboid"] = cuboid
        if source.alpha is not None:
            update["alpha"] = perturb.observation_angle(cuboid)
    return source.model_copy(update=update)


def _far_enough(state: InjectionState, target: Frame, label: Label) -> bool:
    if label.frame == target.id:
        return False
    source = state.frames[label.frame]
    if source.sequence is None or source.sequence != target.sequence:
        return True
    return abs(source.index - target.index) >= SPAWN_MIN_FRAME_GAP


LabelInjector = Callable[[InjectionState, Label, np.random.Generator], PendingDefect | None]

LABEL_FAMILIES: dict[Family, LabelInjector] = {
    Family.dropped: inject_dropped,
    Family.class_flip: inject_class_flip,
    Family.shifted: inject_shifted,
    Family.duplicate: inject_duplicate,
    Family.track_break: inject_track_break,
    Family.attribute: inject_attribute,
    Family.scaled_3d: inject_scaled_3d,
}
