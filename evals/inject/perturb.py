"""Pure, seeded perturbations of boxes and cuboids used by the defect families.

Boxes are ``[x1, y1, x2, y2]`` image pixels; ``bounds`` is ``(x_max, y_max)``, the largest coordinate a
box may reach (KITTI boxes end at width - 1). Every function takes the generator it draws from, so an
injection is reproducible from its seed.
"""

from __future__ import annotations

import math

import numpy as np

from gtqa.domain import Cuboid3D
from gtqa.domain.boxes import intersections, iou

Box = tuple[float, float, float, float]
Bounds = tuple[float, float]

# The manifest promises the closed ranges below; the samplers aim inside them by this margin so that
# writing coordinates with 6 decimals can never push a value across an edge.
_MARGIN = 0.01


def clip_box(box: Box, bounds: Bounds) -> Box:
    x_max, y_max = bounds
    x1, y1, x2, y2 = box
    return (
        min(max(x1, 0.0), x_max),
        min(max(y1, 0.0), y_max),
        min(max(x2, 0.0), x_max),
        min(max(y2, 0.0), y_max),
    )


def _moved(box: Box, t: float, direction: tuple[float, float, float, float]) -> Box:
    """The box shifted by t x (cos, sin) of its size and its sides scaled by exp(t x growth)."""
    cos, sin, grow_w, grow_h = direction
    w, h = box[2] - box[0], box[3] - box[1]
    cx, cy = (box[0] + box[2]) / 2 + t * cos * w, (box[1] + box[3]) / 2 + t * sin * h
    nw, nh = w * math.exp(t * grow_w), h * math.exp(t * grow_h)
    return (cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2)


def shift_box(
    box: Box, rng: np.random.Generator, bounds: Bounds, lo: float = 0.4, hi: float = 0.7, tries: int = 40
) -> Box | None:
    """Shift and resize a box so that its IoU with the original lands in ``[lo, hi]`` (after clipping to
    the image); None when no such box fits (a sliver at the border)."""
    for _ in range(tries):
        target = rng.uniform(lo + 3 * _MARGIN, hi - 3 * _MARGIN)
        angle = rng.uniform(0, 2 * math.pi)
        direction = (math.cos(angle), math.sin(angle), *rng.uniform(-0.6, 0.6, size=2))
        t_lo, t_hi = 0.0, 3.0
        if iou(box, clip_box(_moved(box, t_hi, direction), bounds)) > target:
            continue
        for _ in range(40):  # IoU falls as t grows along one direction: bisect for the target
            mid = (t_lo + t_hi) / 2
            if iou(box, clip_box(_moved(box, mid, direction), bounds)) > target:
                t_lo = mid
            else:
                t_hi = mid
        new = clip_box(_moved(box, t_hi, direction), bounds)
        if lo + _MARGIN <= iou(box, new) <= hi - _MARGIN and _area(new) >= 1.0:
            return new
    return None


def jitter_box(
    box: Box, rng: np.random.Generator, bounds: Bounds, min_iou: float = 0.7, spread: float = 0.08
) -> Box | None:
    """A slightly moved copy of a box: each side moves by up to ``spread`` of the box's size, and the IoU
    with the original stays at least ``min_iou`` but below 0.98 (a visible jitter, not a copy)."""
    w, h = box[2] - box[0], box[3] - box[1]
    for _ in range(60):
        dx1, dx2 = rng.uniform(-spread, spread, size=2) * w
        dy1, dy2 = rng.uniform(-spread, spread, size=2) * h
        new = clip_box((box[0] + dx1, box[1] + dy1, box[2] + dx2, box[3] + dy2), bounds)
        if min_iou + _MARGIN <= iou(box, new) < 0.98:
            return new
    return None


def jitter_cuboid(cuboid: Cuboid3D, rng: np.random.Generator, max_m: float = 0.3) -> Cuboid3D:
    """The cuboid moved on the ground plane (x, z) by at most ``max_m`` metres; size and yaw kept."""
    angle = rng.uniform(0, 2 * math.pi)
    step = rng.uniform(0.05, max_m - _MARGIN)
    return cuboid.model_copy(
        update={"x": cuboid.x + step * math.cos(angle), "z": cuboid.z + step * math.sin(angle)}
    )


def scale_factor(rng: np.random.Generator) -> float:
    """A factor in [1.3, 1.8] or in [0.55, 0.77], each range equally likely."""
    if rng.random() < 0.5:
        return float(rng.uniform(1.3 + _MARGIN, 1.8 - _MARGIN))
    return float(rng.uniform(0.55 + _MARGIN, 0.77 - _MARGIN))


def scale_cuboid(cuboid: Cuboid3D, factor: float) -> Cuboid3D:
    """h, w and l scaled by one factor; the bottom-face centre (the location) stays where it was."""
    return cuboid.model_copy(update={"h": cuboid.h * factor, "w": cuboid.w * factor, "l": cuboid.l * factor})


def slide_cuboid(cuboid: Cuboid3D, shift_px: float, focal_px: float) -> Cuboid3D:
    """The cuboid moved sideways (camera x), at the same depth, so the projection of its location moves
    ``shift_px`` pixels along the image rows: u = (f x + c z + t) / z, so du = f dx / z (nearer and
    farther corners move a little more and less)."""
    return cuboid.model_copy(update={"x": cuboid.x + shift_px * cuboid.z / focal_px})


def observation_angle(cuboid: Cuboid3D) -> float:
    """KITTI's alpha for a cuboid: its yaw minus the direction from the camera, in [-pi, pi)."""
    alpha = cuboid.rotation_y - math.atan2(cuboid.x, cuboid.z)
    return (alpha + math.pi) % (2 * math.pi) - math.pi


def free_placement(
    size: tuple[float, float],
    preferred: Box,
    occupied: np.ndarray,
    rng: np.random.Generator,
    bounds: Bounds,
    tries: int = 24,
) -> Box | None:
    """A box of ``size`` (w, h) that intersects none of ``occupied`` (N, 4): the preferred place first,
    then random horizontal positions on the same image rows (the rows keep the object's distance
    plausible). None when the rows are full."""
    w, h = size
    x_max, y_max = bounds
    if preferred[2] <= x_max and preferred[3] <= y_max and _free(preferred, occupied):
        return preferred
    if w >= x_max:
        return None
    for _ in range(tries):
        x1 = float(rng.uniform(0, x_max - w))
        box = (x1, preferred[1], x1 + w, preferred[1] + h)
        if box[3] <= y_max and _free(box, occupied):
            return box
    return None


def _free(box: Box, occupied: np.ndarray) -> bool:
    if len(occupied) == 0:
        return True
    return bool(np.all(intersections(np.array([box], dtype=np.float64), occupied) <= 0.0))


def _area(box: Box) -> float:
    return max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)


OCCLUSION_LEVELS = (0, 1, 2)
TRUNCATION_LEVELS = (0, 1, 2)  # KITTI tracking: 0 not, 1 partly, 2 mostly truncated
TRUNCATION_VALUES = (0.0, 0.3, 0.6)  # KITTI object: a float share; a change of at least 0.25 is wrong


def other_level(current: int, levels: tuple[int, ...], rng: np.random.Generator) -> int:
    return int(rng.choice([v for v in levels if v != current]))


def other_truncation(current: float, rng: np.random.Generator, min_change: float = 0.25) -> float:
    """A truncation share at least ``min_change`` away from the current one (never empty: 0.0 is far
    from anything >= 0.25 and 0.6 from anything below)."""
    return float(rng.choice([v for v in TRUNCATION_VALUES if abs(v - current) >= min_change]))
