"""Image size without decoding the whole image (PNG header), with a decoding fallback."""

from __future__ import annotations

import struct
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


class ImageError(ValueError):
    pass


def image_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` in pixels; raises ImageError for a file that is not a readable image."""
    try:
        with path.open("rb") as fh:
            head = fh.read(33)
    except OSError as exc:
        raise ImageError(f"cannot read image: {exc.strerror}") from None
    if head.startswith(_PNG_MAGIC):
        if len(head) < 24 or head[12:16] != b"IHDR":
            raise ImageError("corrupt PNG header")
        width, height = struct.unpack(">II", head[16:24])
        if width == 0 or height == 0:
            raise ImageError("PNG header has zero size")
        return int(width), int(height)
    return _decoded_size(path)


def _decoded_size(path: Path) -> tuple[int, int]:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ImageError("not a readable image")
    return int(image.shape[1]), int(image.shape[0])


def measured_image(
    path: Path, width: int | None, height: int | None, warn: Callable[[str], None]
) -> tuple[str | None, int | None, int | None]:
    """The image and its size for a JSON frame that gives ``width`` x ``height`` (or not): the file's
    own size wins, with a warning when it differs; an unreadable file warns and keeps the given size."""
    try:
        real = image_size(path)
    except ImageError as exc:
        warn(f"{path}: {exc}")
        return None, width, height
    if width is not None and height is not None and (width, height) != real:
        warn(f"size {width}x{height} differs from the image's {real[0]}x{real[1]}; the image's is used")
    return str(path), real[0], real[1]


def find_image(folder: Path, stem: str) -> Path | None:
    for suffix in IMAGE_SUFFIXES:
        candidate = folder / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def load_image(path: str) -> NDArray[np.uint8] | None:
    """Decode an image (BGR, uint8); None when the file is missing or not an image."""
    import cv2

    image = cv2.imread(path, cv2.IMREAD_COLOR)
    return None if image is None else np.asarray(image, dtype=np.uint8)


def caching_loader(max_images: int = 8) -> Callable[[str], NDArray[np.uint8] | None]:
    """A loader that keeps the last few decoded images (checks of one chunk share them)."""
    return lru_cache(maxsize=max_images)(load_image)
