"""The image the judge sees: a crop around the label with context, the box drawn, as a PNG data URL.

Pixels are image pixels (origin top-left, y down). The crop keeps ``margin`` times the box's width and
height of context on each side (at least ``min_context_px``), clipped to the image; it is then scaled so
its longer side is at most ``max_px`` (small objects are enlarged up to ``max_upscale`` times, so a
distant pedestrian is not a handful of pixels).
"""

from __future__ import annotations

import base64
import hashlib

import cv2
import numpy as np
from numpy.typing import NDArray

from agents.judge.models import ImageCrop
from gtqa.domain import Box2D

BOX_COLOUR_BGR = (0, 255, 0)


def crop_label(
    image: NDArray[np.uint8],
    box: Box2D,
    *,
    margin: float = 0.5,
    max_px: int = 512,
    min_context_px: int = 16,
    max_upscale: float = 4.0,
) -> ImageCrop | None:
    """A crop of a BGR uint8 image around ``box``; None when the box does not overlap the image."""
    height, width = image.shape[:2]
    window = _window(box, width, height, margin, min_context_px)
    if window is None:
        return None
    x0, y0, x1, y1 = window
    scale = min(max_px / max(x1 - x0, y1 - y0), max_upscale)
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    if scale != 1.0:
        size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        crop = np.asarray(cv2.resize(crop, size, interpolation=interpolation), dtype=np.uint8)
    _draw_box(crop, box, (x0, y0), scale)
    return _encode(crop, (x0, y0), scale)


def _window(
    box: Box2D, width: int, height: int, margin: float, min_context_px: int
) -> tuple[int, int, int, int] | None:
    pad_x = max(abs(box.width) * margin, min_context_px)
    pad_y = max(abs(box.height) * margin, min_context_px)
    left, right = sorted((box.x1, box.x2))
    top, bottom = sorted((box.y1, box.y2))
    x0, y0 = max(0, int(np.floor(left - pad_x))), max(0, int(np.floor(top - pad_y)))
    x1, y1 = min(width, int(np.ceil(right + pad_x))), min(height, int(np.ceil(bottom + pad_y)))
    if x1 - x0 < 1 or y1 - y0 < 1 or right < 0 or bottom < 0 or left > width or top > height:
        return None
    return x0, y0, x1, y1


def _draw_box(crop: NDArray[np.uint8], box: Box2D, origin: tuple[int, int], scale: float) -> None:
    def to_crop(x: float, y: float) -> tuple[int, int]:
        return round((x - origin[0]) * scale), round((y - origin[1]) * scale)

    thickness = max(1, round(max(crop.shape[:2]) / 256))
    cv2.rectangle(crop, to_crop(box.x1, box.y1), to_crop(box.x2, box.y2), BOX_COLOUR_BGR, thickness)


def _encode(crop: NDArray[np.uint8], origin: tuple[int, int], scale: float) -> ImageCrop:
    ok, buffer = cv2.imencode(".png", crop)
    if not ok:  # pragma: no cover - imencode fails only on unsupported arrays
        raise ValueError("cannot encode the crop as PNG")
    png = buffer.tobytes()
    return ImageCrop(
        data_url="data:image/png;base64," + base64.b64encode(png).decode("ascii"),
        sha256=hashlib.sha256(png).hexdigest(),
        width=int(crop.shape[1]),
        height=int(crop.shape[0]),
        origin=origin,
        scale=round(scale, 6),
    )
