"""The crop the judge sees: context around the box, the box drawn, size bounded, PNG data URL."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest

from agents.judge import crop_label
from agents.judge.crop import BOX_COLOUR_BGR
from gtqa.domain import Box2D


def _decode(data_url: str) -> np.typing.NDArray[np.uint8]:
    prefix = "data:image/png;base64,"
    assert data_url.startswith(prefix)
    png = np.frombuffer(base64.b64decode(data_url[len(prefix) :]), dtype=np.uint8)
    return np.asarray(cv2.imdecode(png, cv2.IMREAD_COLOR), dtype=np.uint8)


def _grey(width: int = 1242, height: int = 375) -> np.typing.NDArray[np.uint8]:
    return np.full((height, width, 3), 90, dtype=np.uint8)


def test_the_crop_keeps_context_and_draws_the_box() -> None:
    box = Box2D(x1=400.0, y1=150.0, x2=440.0, y2=230.0)

    crop = crop_label(_grey(), box, margin=0.5, max_px=512)

    assert crop is not None
    assert crop.origin == (380, 110)  # 0.5 x (40, 80) px of context on each side
    pixels = _decode(crop.data_url)
    assert pixels.shape[:2] == (crop.height, crop.width)
    top_left = (round((box.x1 - 380) * crop.scale), round((box.y1 - 110) * crop.scale))
    assert tuple(pixels[top_left[1], top_left[0]]) == BOX_COLOUR_BGR
    assert tuple(pixels[2, 2]) == (90, 90, 90)  # context stays as it was


@pytest.mark.parametrize("box", [Box2D(x1=0, y1=0, x2=1242, y2=375), Box2D(x1=600, y1=180, x2=606, y2=190)])
def test_the_crop_size_is_bounded_for_huge_and_tiny_boxes(box: Box2D) -> None:
    crop = crop_label(_grey(), box, max_px=256, max_upscale=4.0)

    assert crop is not None and max(crop.width, crop.height) <= 256
    assert crop.scale <= 4.0


def test_more_margin_shows_more_context() -> None:
    box = Box2D(x1=600.0, y1=150.0, x2=640.0, y2=230.0)
    sizes = [crop_label(_grey(), box, margin=m, max_px=4096, max_upscale=1.0) for m in (0.25, 0.5, 1.0)]

    widths = [c.width for c in sizes if c is not None]

    assert len(widths) == 3 and widths[0] < widths[1] < widths[2]


def test_a_box_outside_the_image_has_no_crop_and_a_clipped_one_is_clipped() -> None:
    assert crop_label(_grey(), Box2D(x1=2000, y1=10, x2=2040, y2=90)) is None
    crop = crop_label(_grey(), Box2D(x1=1220, y1=300, x2=1260, y2=380), max_upscale=1.0)
    assert crop is not None and crop.origin[0] + crop.width <= 1242 and crop.origin[1] + crop.height <= 375


def test_the_hash_follows_the_pixels() -> None:
    box = Box2D(x1=400.0, y1=150.0, x2=440.0, y2=230.0)
    image = _grey()
    first = crop_label(image, box)
    image[160, 410] = (0, 0, 255)
    second = crop_label(image, box)

    assert first is not None and second is not None and first.sha256 != second.sha256
    assert crop_label(_grey(), box) == first
