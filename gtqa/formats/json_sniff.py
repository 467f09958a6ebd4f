"""Recognise a JSON file: COCO instances, COCO results (predictions), or BDD100K / Scalabel.

The first 64 KiB usually tell (the top-level shape and its first keys), so a large file is not parsed
twice; only when they do not is the whole file parsed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from gtqa.domain import InputFormatError
from gtqa.formats._json import json_files

_HEAD_BYTES = 1 << 16
_COCO_KEY = re.compile(r'"(images|annotations)"\s*:')
_FRAMES_KEY = re.compile(r'"frames"\s*:')
_RESULT_KEY = re.compile(r'"image_id"\s*:')
_FRAME_KEY = re.compile(r'"(name|labels|videoName)"\s*:')
_EMPTY_LIST = re.compile(r"\[\s*\]\s*")

DATASET_KINDS = ("coco", "bdd")


def sniff_json_format(path: Path) -> str:
    """The dataset format of a JSON file or folder (the first of its files that is recognised)."""
    files = json_files(path)
    if not files:
        raise InputFormatError(str(path), 0, "no JSON file to recognise")
    results: Path | None = None
    for file in files:
        kind = sniff_json_file(file)
        if kind in DATASET_KINDS:
            return str(kind)
        if kind == "coco-results":
            results = results or file
    if results is not None:
        raise InputFormatError(
            str(results),
            0,
            "a COCO results file (predictions): give it with --predictions to its COCO dataset",
        )
    raise InputFormatError(str(files[0]), 0, "JSON is neither COCO instances nor BDD100K/Scalabel")


def sniff_json_file(path: Path) -> str | None:
    """``coco``, ``coco-results``, ``bdd``, or None when the file is not JSON gtqa recognises."""
    try:
        with path.open("rb") as fh:
            head = fh.read(_HEAD_BYTES)
    except OSError:
        return None
    return _by_head(_text(head).lstrip()) or _by_parse(path)


def _text(data: bytes) -> str:
    return data.decode(json.detect_encoding(data), errors="replace").lstrip("\ufeff")


def _by_head(head: str) -> str | None:
    if head.startswith("{"):
        if _COCO_KEY.search(head):
            return "coco"
        if _FRAMES_KEY.search(head):
            return "bdd"
    elif head.startswith("["):
        if _RESULT_KEY.search(head):
            return "coco-results"
        if _FRAME_KEY.search(head) or _EMPTY_LIST.fullmatch(head):
            return "bdd"
    return None


def _by_parse(path: Path) -> str | None:
    try:
        data: Any = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    if isinstance(data, dict):
        return "coco" if "images" in data else ("bdd" if "frames" in data else None)
    if not isinstance(data, list):
        return None
    first = data[0] if data else {}
    if not isinstance(first, dict):
        return None
    return "coco-results" if "image_id" in first else "bdd"
