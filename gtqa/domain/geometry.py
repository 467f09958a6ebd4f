"""Geometric value types: 2D boxes, 3D cuboids and camera calibration.

Coordinate frames and units used everywhere in gtqa:

* **Image coordinates** (2D boxes): pixels, origin at the top-left corner of the image, x to the right,
  y downwards, 0-based. ``Box2D(x1, y1, x2, y2)`` has ``x1 <= x2`` and ``y1 <= y2`` when well formed;
  gtqa never reorders a box it reads, because a reversed box is a defect to report, not to hide.
* **Camera coordinates** (3D cuboids): metres, KITTI's rectified reference camera frame, x to the right,
  y downwards, z forwards (depth). A cuboid's location is the centre of its *bottom* face, its size is
  height / width / length in metres, and ``rotation_y`` is the yaw around the camera's y axis in radians,
  in [-pi, pi], 0 meaning the object faces the camera's x axis.
* **Calibration**: ``P2`` is the 3x4 projection matrix of the left colour camera from rectified camera
  coordinates to image pixels (row-major, as in KITTI's ``calib`` files).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

FloatArray = NDArray[np.float64]


class Box2D(BaseModel):
    """An axis-aligned box in image pixels (see the module docstring for the frame)."""

    model_config = ConfigDict(frozen=True)

    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    def as_list(self) -> list[float]:
        return [self.x1, self.y1, self.x2, self.y2]

    @classmethod
    def from_seq(cls, values: list[float] | tuple[float, ...] | FloatArray) -> Box2D:
        x1, y1, x2, y2 = (float(v) for v in values)
        return cls(x1=x1, y1=y1, x2=x2, y2=y2)


class Cuboid3D(BaseModel):
    """A 3D box in rectified camera coordinates (metres, radians); location is the bottom-face centre."""

    model_config = ConfigDict(frozen=True)

    h: float = Field(description="height in metres (along camera y)")
    w: float = Field(description="width in metres")
    l: float = Field(description="length in metres")  # noqa: E741 - KITTI's own name
    x: float
    y: float
    z: float = Field(description="depth in metres, forwards from the camera")
    rotation_y: float = Field(description="yaw around the camera y axis, radians")

    def corners(self) -> FloatArray:
        """The 8 corners, shape (8, 3), in camera coordinates."""
        c, s = np.cos(self.rotation_y), np.sin(self.rotation_y)
        xs = np.array([1, 1, -1, -1, 1, 1, -1, -1]) * self.l / 2
        ys = np.array([0, 0, 0, 0, -1, -1, -1, -1]) * self.h
        zs = np.array([1, -1, -1, 1, 1, -1, -1, 1]) * self.w / 2
        rot = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
        pts = rot @ np.vstack([xs, ys, zs])
        return np.asarray((pts + np.array([[self.x], [self.y], [self.z]])).T, dtype=np.float64)


class Calibration(BaseModel):
    """Camera calibration of one frame or sequence (KITTI ``calib`` file)."""

    model_config = ConfigDict(frozen=True)

    P2: tuple[float, ...] = Field(min_length=12, max_length=12, description="3x4 row-major projection")
    R0_rect: tuple[float, ...] | None = Field(default=None, min_length=9, max_length=9)
    Tr_velo_to_cam: tuple[float, ...] | None = Field(default=None, min_length=12, max_length=12)

    def projection(self) -> FloatArray:
        return np.asarray(self.P2, dtype=np.float64).reshape(3, 4)

    @property
    def focal_px(self) -> float:
        """Focal length in pixels (P2[0, 0])."""
        return float(self.P2[0])

    def project(self, points: FloatArray) -> FloatArray:
        """Project camera-frame points (N, 3) to pixels (N, 2); points behind the camera give NaN."""
        hom = np.hstack([points, np.ones((len(points), 1))]) @ self.projection().T
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = hom[:, :2] / hom[:, 2:3]
        uv[hom[:, 2] <= 1e-6] = np.nan
        return uv
