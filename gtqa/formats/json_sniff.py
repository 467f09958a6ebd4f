"""Recognise a JSON label file: COCO instances, or BDD100K / Scalabel."""

from __future__ import annotations

import json
from pathlib import Path

from gtqa.domain import InputFormatError


def sniff_json_format(path: Path) -> str:
    files = [path] if path.is_file() else sorted(path.glob("*.json"))
    if not files:
        raise InputFormatError(str(path), 0, "no JSON file to recognise")
    try:
        data = json.loads(files[0].read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFormatError(str(files[0]), getattr(exc, "lineno", 0), f"not JSON: {exc}") from None
    if isinstance(data, dict) and "annotations" in data and "images" in data:
        return "coco"
    if isinstance(data, list) or (isinstance(data, dict) and "frames" in data):
        return "bdd"
    raise InputFormatError(str(files[0]), 1, "JSON is neither COCO instances nor BDD100K/Scalabel")
