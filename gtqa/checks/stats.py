"""Robust per-class statistics over a whole dataset, computed once before the checks run.

Sizes are compared in log space (a box twice too big and one half too small are equally odd), with the
median and the MAD scaled to a standard deviation (x1.4826), so a few bad labels cannot move them.
"""

from __future__ import annotations

from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable

import numpy as np
from pydantic import BaseModel, ConfigDict

from gtqa.domain import Frame

MAD_TO_SIGMA = 1.4826


class Robust(BaseModel):
    model_config = ConfigDict(frozen=True)

    median: float
    sigma: float  # MAD x 1.4826, floored so that tiny spreads do not make every label an outlier
    n: int

    def z(self, values: np.ndarray) -> np.ndarray:
        return np.asarray((values - self.median) / self.sigma)


class ClassStats(BaseModel):
    model_config = ConfigDict(frozen=True)

    n: int
    log_width: Robust
    log_height: Robust
    log_aspect: Robust  # log(height / width)


class DatasetStats(BaseModel):
    """``focal_px`` is the focal length from the calibration, or fitted from labels with 3D boxes
    (pixel height x depth / metric height) when no calibration exists; None if neither is possible."""

    model_config = ConfigDict(frozen=True)

    classes: dict[str, ClassStats]
    focal_px: float | None
    n_labels: int
    image_size: tuple[int, int] | None = None  # the most common (width, height) of the frames

    def for_class(self, cls: str) -> ClassStats | None:
        return self.classes.get(cls)


def robust(values: np.ndarray, floor: float) -> Robust:
    median = float(np.median(values))
    mad = float(np.median(np.abs(values - median))) * MAD_TO_SIGMA
    return Robust(median=median, sigma=max(mad, floor), n=len(values))


def compute_stats(
    frames: Iterable[Frame],
    reviewed: Callable[[str], bool],
    *,
    min_class_count: int = 8,
    log_floor: float = 0.1,
) -> DatasetStats:
    """Per-class box statistics for classes with at least ``min_class_count`` well-formed labels."""
    # Flat arrays of doubles (16 bytes a label), not lists of tuples (about 100): a pass over a
    # 600,000-label batch keeps every box size until the medians are taken.
    sizes: dict[str, array[float]] = defaultdict(lambda: array("d"))
    focal_samples: array[float] = array("d")
    calib_focal: array[float] = array("d")
    image_sizes: Counter[tuple[int, int]] = Counter()
    n = 0
    for frame in frames:
        if frame.width and frame.height:
            image_sizes[(frame.width, frame.height)] += 1
        if frame.calib is not None:
            calib_focal.append(frame.calib.focal_px)
        for label in frame.labels:
            if not reviewed(label.cls):
                continue
            n += 1
            w, h = label.box.width, label.box.height
            if w > 1 and h > 1:
                sizes[label.cls].extend((w, h))
                c = label.cuboid
                if c is not None and c.z > 1 and c.h > 0.3 and (label.truncation or 0) < 0.1:
                    focal_samples.append(h * c.z / c.h)
    classes = {
        cls: _class_stats(np.frombuffer(v, dtype=np.float64).reshape(-1, 2), log_floor)
        for cls, v in sizes.items()
        if len(v) >= 2 * min_class_count
    }
    focal = (
        float(np.median(np.frombuffer(calib_focal)))
        if calib_focal
        else (float(np.median(np.frombuffer(focal_samples))) if len(focal_samples) >= 10 else None)
    )
    size = image_sizes.most_common(1)[0][0] if image_sizes else None
    return DatasetStats(classes=classes, focal_px=focal, n_labels=n, image_size=size)


def _class_stats(wh: np.ndarray, floor: float) -> ClassStats:
    lw, lh = np.log(wh[:, 0]), np.log(wh[:, 1])
    return ClassStats(
        n=len(wh),
        log_width=robust(lw, floor),
        log_height=robust(lh, floor),
        log_aspect=robust(lh - lw, floor),
    )
