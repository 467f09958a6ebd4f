"""Vectorised cuboid geometry for the 3D checks: corners of many cuboids, and the image box of their
visible part.

Camera coordinates are KITTI's rectified camera frame (metres; x right, y down, z forwards); image
coordinates are pixels (see ``gtqa.domain.geometry``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from gtqa.domain import Cuboid3D
from gtqa.domain.geometry import FloatArray

# Corner order of Cuboid3D.corners(): 0-3 bottom face, 4-7 top face (same x/z pattern).
_EDGES = np.array(
    [[0, 1], [1, 2], [2, 3], [3, 0], [4, 5], [5, 6], [6, 7], [7, 4], [0, 4], [1, 5], [2, 6], [3, 7]]
)
_FACES = np.array([[0, 1, 2, 3], [4, 5, 6, 7], [0, 1, 5, 4], [1, 2, 6, 5], [2, 3, 7, 6], [3, 0, 4, 7]])


def corners(cuboids: list[Cuboid3D]) -> FloatArray:
    """Corners of every cuboid, shape (N, 8, 3), in the order of ``Cuboid3D.corners``."""
    p = np.array([[c.h, c.w, c.l, c.x, c.y, c.z, c.rotation_y] for c in cuboids], dtype=np.float64)
    p = p.reshape(-1, 7)
    h, w, l, x, y, z, ry = (p[:, k : k + 1] for k in range(7))  # noqa: E741 - KITTI names
    xs = np.array([1, 1, -1, -1, 1, 1, -1, -1]) * l / 2
    ys = np.array([0, 0, 0, 0, -1, -1, -1, -1]) * h
    zs = np.array([1, -1, -1, 1, 1, -1, -1, 1]) * w / 2
    c, s = np.cos(ry), np.sin(ry)
    return np.stack([c * xs + s * zs + x, ys + y, -s * xs + c * zs + z], axis=2)


def project(points: FloatArray, P: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Pixels (N, 8, 2) and depths (N, 8) of camera-frame points (N, 8, 3) through a 3x4 matrix."""
    hom = points @ P[:, :3].T + P[:, 3]
    depth = hom[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = hom[..., :2] / depth[..., None]
    return uv, depth


def visible_boxes(uv: FloatArray, rects: FloatArray) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Bounding box of each projected cuboid's silhouette clipped to its rectangle ``[x1, y1, x2, y2]``.

    The silhouette (convex hull of the 8 projected corners) clipped to a rectangle is a convex polygon
    whose extreme points are hull corners inside the rectangle, crossings of the hull's edges with the
    rectangle's sides, and rectangle corners inside the hull; the cuboid's 12 edges contain the hull's,
    and its 6 faces cover the hull. Requires every corner in front of the camera. Returns the boxes
    (N, 4) and whether any part is inside the rectangle.
    """
    n = len(uv)
    pts = [uv]
    a, b = uv[:, _EDGES[:, 0]], uv[:, _EDGES[:, 1]]  # (N, 12, 2)
    for axis, side in ((0, 0), (0, 2), (1, 1), (1, 3)):
        level = rects[:, side][:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (level - a[..., axis]) / (b[..., axis] - a[..., axis])
        t = np.where((t >= 0) & (t <= 1), t, np.nan)
        pts.append(a + t[..., None] * (b - a))
    rc = rects[:, [[0, 1], [2, 1], [2, 3], [0, 3]]]  # (N, 4, 2) rectangle corners
    rc_in = _in_faces(rc, uv)
    pts.append(np.where(rc_in[..., None], rc, np.nan))
    cand = np.concatenate(pts, axis=1)
    eps = 1e-6
    inside = (
        (cand[..., 0] >= rects[:, None, 0] - eps)
        & (cand[..., 0] <= rects[:, None, 2] + eps)
        & (cand[..., 1] >= rects[:, None, 1] - eps)
        & (cand[..., 1] <= rects[:, None, 3] + eps)
    )
    cand = np.where(inside[..., None], cand, np.nan)
    any_in: NDArray[np.bool_] = np.asarray(inside.any(axis=1), dtype=bool)
    boxes = np.full((n, 4), np.nan)
    if any_in.any():
        c = cand[any_in]
        boxes[any_in] = np.concatenate([np.nanmin(c, axis=1), np.nanmax(c, axis=1)], axis=1)
    return boxes, any_in


def _in_faces(points: FloatArray, uv: FloatArray) -> NDArray[np.bool_]:
    """Whether each of the points (N, K, 2) lies in any projected face of its cuboid (N, 8, 2)."""
    quad = uv[:, _FACES]  # (N, 6, 4, 2)
    nxt = np.roll(quad, -1, axis=2)
    edge = nxt - quad  # (N, 6, 4, 2)
    rel = points[:, None, :, None, :] - quad[:, :, None, :, :]  # (N, 6, K, 4, 2)
    cross = edge[:, :, None, :, 0] * rel[..., 1] - edge[:, :, None, :, 1] * rel[..., 0]
    inside = np.asarray((cross >= 0).all(axis=3) | (cross <= 0).all(axis=3), dtype=bool)  # (N, 6, K)
    return np.asarray(inside.any(axis=1), dtype=bool)
