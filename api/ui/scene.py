"""What the review page shows around a flagged object beyond its own frame: its track (the neighbouring
frames of the object and a timeline of its box, 3D size, occlusion and truncation over all its frames)
and the frame's 3D scene (a bird's-eye view of the cuboids with the camera's field of view, and the
flagged cuboid projected onto the image when the frame has a calibration).

Pure functions of frames and labels (no database), tested on the real KITTI data. Units: boxes in image
pixels ``[x1, y1, x2, y2]``; the bird's-eye view in metres of KITTI's rectified camera frame seen from
above (x to the right, z forwards from the camera; the camera is at the origin).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

from gtqa.domain import Frame, Label

NEIGHBOURS = 5  # frames either side of the flagged one shown in the track strip
# Bottom-face then top-face corners of Cuboid3D.corners(): the 12 edges of a cuboid, by corner index.
CUBOID_EDGES = (
    (0, 1),
    (1, 2),
    (2, 3),
    (3, 0),
    (4, 5),
    (5, 6),
    (6, 7),
    (7, 4),
    (0, 4),
    (1, 5),
    (2, 6),
    (3, 7),
)
DEFAULT_HALF_FOV = math.radians(45.0)  # drawn when the frame has no calibration: a typical front camera


class TrackPoint(BaseModel):
    frame: str
    index: int = Field(description="the frame's index in its sequence")
    box: tuple[float, float, float, float]
    dims: tuple[float, float, float] | None = Field(description="3D height, width, length in metres")
    occlusion: int | None
    truncation: float | None


class NeighbourFrame(BaseModel):
    frame: str
    index: int
    offset: int = Field(description="frames from the flagged one (negative: before)")
    box: tuple[float, float, float, float] | None = Field(description="the object's box, None if absent")
    others: list[tuple[float, float, float, float]] = Field(description="the frame's other label boxes")
    image: bool = Field(description="the frame has an image")


class TrackView(BaseModel):
    track_id: int
    flagged_index: int
    points: list[TrackPoint] = Field(description="the object in every frame of its track, in order")
    neighbours: list[NeighbourFrame] = Field(description=f"the sequence's frames within ±{NEIGHBOURS}")


class BevBox(BaseModel):
    label: str
    cls: str
    corners: list[tuple[float, float]] = Field(description="4 ground corners (x, z), metres")
    flagged: bool


class SceneView(BaseModel):
    boxes: list[BevBox]
    fov: tuple[float, float] = Field(description="the camera's left and right half-angles, radians")
    calibrated: bool = Field(description="the field of view comes from the frame's calibration")
    projected: list[tuple[float, float]] | None = Field(
        description="the flagged cuboid's 8 corners on the image, pixels (None without calibration)"
    )
    edges: tuple[tuple[int, int], ...] = CUBOID_EDGES


def track_view(
    track: Sequence[tuple[str, int, Label]], near: Sequence[Frame], flagged: Label, flagged_frame: Frame
) -> TrackView | None:
    """The flagged label's track: ``track`` its labels in its sequence as (frame key, index, label), in
    any order, and ``near`` the sequence's frames around the flagged one; None when it has no track."""
    if flagged.track_id is None:
        return None
    points = [_point(key, index, lb) for key, index, lb in sorted(track, key=lambda t: t[1])]
    same = sorted((f for f in near if f.sequence == flagged_frame.sequence), key=lambda f: f.index)
    around = [f for f in same if abs(f.index - flagged_frame.index) <= NEIGHBOURS]
    return TrackView(
        track_id=flagged.track_id, flagged_index=flagged_frame.index, points=points,
        neighbours=[_neighbour(f, flagged.track_id, f.index - flagged_frame.index) for f in around],
    )  # fmt: skip


def scene_view(frame: Frame, flagged: Label | None) -> SceneView | None:
    """The frame's cuboids from above and the flagged one projected; None when the frame has none."""
    boxes = [_bev_box(lb, flagged) for lb in frame.labels if lb.cuboid is not None]
    if not boxes:
        return None
    projected = None
    if flagged is not None and flagged.cuboid is not None and frame.calib is not None:
        uv = frame.calib.project(flagged.cuboid.corners())
        projected = None if np.isnan(uv).any() else [(float(u), float(v)) for u, v in uv]
    return SceneView(
        boxes=boxes, fov=field_of_view(frame), calibrated=frame.calib is not None, projected=projected
    )


def field_of_view(frame: Frame) -> tuple[float, float]:
    """The left and right half-angles of the camera (radians), from P2's focal length and principal
    point and the image width; a 90-degree view when either is unknown."""
    if frame.calib is None or not frame.width:
        return (DEFAULT_HALF_FOV, DEFAULT_HALF_FOV)
    p = frame.calib.P2
    fx, cx = p[0], p[2]
    return (math.atan2(cx, fx), math.atan2(frame.width - cx, fx))


def _point(frame: str, index: int, label: Label) -> TrackPoint:
    c = label.cuboid
    return TrackPoint(
        frame=frame, index=index, box=_box(label), dims=(c.h, c.w, c.l) if c else None,
        occlusion=label.occlusion, truncation=label.truncation,
    )  # fmt: skip


def _neighbour(frame: Frame, track_id: int, offset: int) -> NeighbourFrame:
    own = next((lb for lb in frame.labels if lb.track_id == track_id), None)
    others = [_box(lb) for lb in frame.labels if lb is not own]
    box = _box(own) if own else None
    return NeighbourFrame(
        frame=frame.id,
        index=frame.index,
        offset=offset,
        box=box,
        others=others,
        image=frame.image is not None,
    )


def _bev_box(label: Label, flagged: Label | None) -> BevBox:
    assert label.cuboid is not None
    ground = label.cuboid.corners()[:4]  # the bottom face; camera y points down, so x and z are the ground
    corners = [(float(x), float(z)) for x, _, z in ground]
    return BevBox(
        label=label.id, cls=label.cls, corners=corners, flagged=flagged is not None and label.id == flagged.id
    )


def _box(label: Label) -> tuple[float, float, float, float]:
    return (label.box.x1, label.box.y1, label.box.x2, label.box.y2)
