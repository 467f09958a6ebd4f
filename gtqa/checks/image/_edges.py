"""Image gradients and where a box's sides sit against them, shared by the image checks.

Images are BGR uint8 arrays (OpenCV's layout), boxes ``[x1, y1, x2, y2]`` in pixels. Offsets are signed
fractions of the box size along the side's normal, positive *inwards*: +0.2 on the left side means the
image suggests the left edge lies 20 % of the width to the right of where it is drawn (the box is loose
there); -0.2 means the object seems to continue 20 % of the width past it (the box cuts it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from gtqa.checks.scope import ReviewScope
from gtqa.domain import Label
from gtqa.domain.geometry import FloatArray

SIDES = ("left", "top", "right", "bottom")
Image = NDArray[np.uint8]


@dataclass(frozen=True)
class Gradients:
    """Absolute Sobel responses of the lightly blurred grey image: ``gx`` reacts to vertical edges (the
    left and right sides of an object), ``gy`` to horizontal ones (top and bottom)."""

    gx: NDArray[np.float32]
    gy: NDArray[np.float32]
    magnitude: NDArray[np.float32]
    median: float  # the image's median magnitude: the scale texture is measured against

    @property
    def size(self) -> tuple[int, int]:
        return int(self.gx.shape[1]), int(self.gx.shape[0])


# The last image's gradients: the frame-local image checks run one frame at a time (see the runner),
# and the image loader hands each of them the same array, so the second check reuses the first's.
_last: tuple[Image, Gradients] | None = None


def gradients(image: Image) -> Gradients:
    global _last
    last = _last
    if last is not None and last[0] is image:
        return last[1]
    grads = _gradients(image)
    _last = (image, grads)
    return grads


def _gradients(image: Image) -> Gradients:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    blurred = cv2.GaussianBlur(grey.astype(np.float32), (3, 3), 0)
    gx = np.abs(cv2.Sobel(blurred, cv2.CV_32F, 1, 0, ksize=3))
    gy = np.abs(cv2.Sobel(blurred, cv2.CV_32F, 0, 1, ksize=3))
    magnitude = np.sqrt(gx * gx + gy * gy)
    return Gradients(gx, gy, magnitude, float(np.median(magnitude)))


def frames_to_judge(
    scope: ReviewScope, *, min_width_px: float, min_height_px: float
) -> Iterator[tuple[list[Label], Gradients]]:
    """Per frame of the scope with an image: its reviewed labels at least this large (pixels) and the
    image's gradients. Frames with no such label are skipped before their image is read."""
    for frame in scope.frames:
        labels = [
            lab
            for _, lab in scope.reviewed(frame)
            if lab.box.height >= min_height_px and lab.box.width >= min_width_px
        ]
        image = scope.image(frame) if labels else None
        if image is not None:
            yield labels, gradients(image)


@dataclass(frozen=True)
class SideFit:
    """Per side (``SIDES`` order): the offset of the strongest edge step near the side, the step's
    contrast there and at the drawn side, and whether the side could be judged (not at the image border,
    enough pixels on both sides)."""

    offset: FloatArray  # (4,) fraction of the box size, + inwards
    best: FloatArray  # (4,) step contrast in [-1, 1] at the best position
    drawn: FloatArray  # (4,) step contrast at the drawn side
    valid: NDArray[np.bool_]  # (4,)
    size: FloatArray  # (4,) the box size along each side's normal, pixels


def fit_sides(
    grads: Gradients,
    box: FloatArray,
    *,
    search: float,
    band: float,
    trim: float,
    border_margin_px: float,
) -> SideFit:
    """For each side, the 1-D profile of edge energy across it (averaged over the middle ``1 - 2 trim``
    of the side's length), and the step contrast ``(in - out) / (in + out)`` between bands of ``band``
    times the box size just inside and just outside each candidate position within ``search`` times the
    size of the drawn side. An object is usually busier than the background next to it, so the tight
    edge is where the step contrast peaks."""
    width, height = grads.size
    x1, y1, x2, y2 = (float(v) for v in box)
    out = np.zeros((4, 3))
    valid = np.zeros(4, dtype=bool)
    sizes = np.array([x2 - x1, y2 - y1, x2 - x1, y2 - y1])
    at_border = np.array(
        [
            x1 <= border_margin_px,
            y1 <= border_margin_px,
            x2 >= width - border_margin_px,
            y2 >= height - border_margin_px,
        ]
    )
    for k, side in enumerate(SIDES):
        if at_border[k]:
            continue
        profile = _profile(grads, box, side, search, band, trim)
        if profile is None:
            continue
        fit = _step(profile, sizes[k], band)
        if fit is not None:
            out[k], valid[k] = fit, True
    return SideFit(offset=out[:, 0], best=out[:, 1], drawn=out[:, 2], valid=valid, size=sizes)


def _profile(
    grads: Gradients, box: FloatArray, side: str, search: float, band: float, trim: float
) -> FloatArray | None:
    """Mean edge energy per column (left/right) or row (top/bottom) across the side, ordered inwards;
    NaN where the window leaves the image."""
    width, height = grads.size
    x1, y1, x2, y2 = (float(v) for v in box)
    vertical_side = side in ("left", "right")
    size = x2 - x1 if vertical_side else y2 - y1
    reach = max(round(search * size), 2) + max(round(band * size), 2)
    pos = round({"left": x1, "top": y1, "right": x2, "bottom": y2}[side])
    if vertical_side:
        lo, hi = max(round(y1 + trim * (y2 - y1)), 0), min(round(y2 - trim * (y2 - y1)), height)
        energy, limit = grads.gx, width
    else:
        lo, hi = max(round(x1 + trim * (x2 - x1)), 0), min(round(x2 - trim * (x2 - x1)), width)
        energy, limit = grads.gy, height
    if hi - lo < 2:
        return None
    a0, a1 = pos - reach, pos + reach
    c0, c1 = max(a0, 0), min(a1, limit)
    if c1 - c0 < 4:
        return None
    values = energy[lo:hi, c0:c1].mean(axis=0) if vertical_side else energy[c0:c1, lo:hi].mean(axis=1)
    profile = np.full(a1 - a0, np.nan)
    profile[c0 - a0 : c1 - a0] = values
    return profile if side in ("left", "top") else profile[::-1]


def _step(profile: FloatArray, size: float, band: float) -> tuple[float, float, float] | None:
    """Best step position in an inward-ordered profile: (offset fraction, best contrast, drawn contrast)."""
    b = max(round(band * size), 2)
    s = (len(profile) - 2 * b) // 2  # the drawn side sits at index s + b
    known = ~np.isnan(profile)
    cum = np.concatenate([[0.0], np.cumsum(np.where(known, profile, 0.0))])
    cnt = np.concatenate([[0], np.cumsum(known)])
    t = np.arange(b, len(profile) - b + 1)
    full = (cnt[t + b] - cnt[t] == b) & (cnt[t] - cnt[t - b] == b)
    if not full.any():
        return None
    inside = (cum[t + b] - cum[t]) / b
    outside = (cum[t] - cum[t - b]) / b
    contrast = np.where(full, (inside - outside) / (inside + outside + 1e-6), -np.inf)
    offsets = t - (s + b)
    drawn = int(np.argmin(np.abs(offsets)))
    if not full[drawn]:
        return None
    best = int(np.argmax(contrast))
    return float(offsets[best] / size), float(contrast[best]), float(contrast[drawn])


def texture(grads: Gradients, box: FloatArray) -> float | None:
    """Mean gradient magnitude inside the box (the part inside the image), over the image's median."""
    width, height = grads.size
    x1, y1 = max(int(np.floor(box[0])), 0), max(int(np.floor(box[1])), 0)
    x2, y2 = min(int(np.ceil(box[2])), width), min(int(np.ceil(box[3])), height)
    if x2 - x1 < 2 or y2 - y1 < 2:
        return None
    return float(grads.magnitude[y1:y2, x1:x2].mean()) / max(grads.median, 1e-3)
