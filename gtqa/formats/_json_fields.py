"""Typed access to parsed JSON, each accessor raising JsonSchemaError with the JSON path of the value
at fault; and the record-assembly helpers the JSON readers share (unique ids, frame order)."""

from __future__ import annotations

import math
from typing import Any

from gtqa.domain import Frame
from gtqa.formats._json import JsonPath, JsonSchemaError, Scalar
from gtqa.formats._text import MAX_ABS_VALUE

# Typed access: each raises JsonSchemaError naming the path of the offending value.


def obj(value: Any, where: JsonPath) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise JsonSchemaError(where, f"expected an object, found {_kind(value)}")
    return value


def arr(value: Any, where: JsonPath) -> list[Any]:
    if not isinstance(value, list):
        raise JsonSchemaError(where, f"expected an array, found {_kind(value)}")
    return value


def required(record: dict[str, Any], key: str, where: JsonPath) -> Any:
    if record.get(key) is None:
        raise JsonSchemaError((*where, key), "missing")
    return record[key]


def number(value: Any, where: JsonPath) -> float:
    """A finite number of bounded size (bools are not numbers here, though Python says they are)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise JsonSchemaError(where, f"expected a number, found {_kind(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise JsonSchemaError(where, f"not finite: {value}")
    if abs(value) > MAX_ABS_VALUE:
        raise JsonSchemaError(where, f"out of range: {value:.6g}")
    return float(value)


def integer(value: Any, where: JsonPath) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise JsonSchemaError(where, f"expected an integer, found {_kind(value)}")
    return value


def text(value: Any, where: JsonPath) -> str:
    if not isinstance(value, str) or not value:
        raise JsonSchemaError(where, f"expected a non-empty string, found {_kind(value)}")
    return value


def numbers(value: Any, where: JsonPath, count: int) -> list[float]:
    items = arr(value, where)
    if len(items) != count:
        raise JsonSchemaError(where, f"expected {count} numbers, found {len(items)}")
    return [number(v, (*where, i)) for i, v in enumerate(items)]


# The same for a record's field, with a fast path: on good data no JSON path is built.


def int_field(record: dict[str, Any], key: str, where: JsonPath) -> int:
    value = record.get(key)
    if type(value) is int:
        return value
    return integer(required(record, key, where), (*where, key))


def number_field(record: dict[str, Any], key: str, where: JsonPath) -> float:
    value = record.get(key)
    if (type(value) is float or type(value) is int) and -MAX_ABS_VALUE <= value <= MAX_ABS_VALUE:
        return float(value)  # NaN fails the comparison and takes the slow path to its error
    return number(required(record, key, where), (*where, key))


def text_field(record: dict[str, Any], key: str, where: JsonPath) -> str:
    value = record.get(key)
    if type(value) is str and value:
        return value
    return text(required(record, key, where), (*where, key))


def numbers_field(record: dict[str, Any], key: str, where: JsonPath, count: int) -> list[float]:
    value = record.get(key)
    if type(value) is list and len(value) == count and all(_plain_number(v) for v in value):
        return [float(v) for v in value]
    return numbers(required(record, key, where), (*where, key), count)


def _plain_number(v: Any) -> bool:
    return (type(v) is float or type(v) is int) and -MAX_ABS_VALUE <= v <= MAX_ABS_VALUE


def scalar_items(value: Any, where: JsonPath) -> tuple[dict[str, Scalar], list[str]]:
    """The scalar entries of an attributes object, and the keys of the others (null entries are
    absent values and simply skipped). Non-finite numbers count as not scalar."""
    if value is None:
        return {}, []
    kept: dict[str, Scalar] = {}
    dropped: list[str] = []
    for key, item in obj(value, where).items():
        if isinstance(item, float) and not math.isfinite(item):
            dropped.append(key)
        elif isinstance(item, str | int | float | bool):
            kept[key] = item
        elif item is not None:
            dropped.append(key)
    return kept, dropped


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}" if value else "an empty string"
    return "an array" if isinstance(value, list) else "an object"


def dedupe_ids(ids: list[str]) -> list[str]:
    """Unique ids: the second ``x`` becomes ``x#2``, the third ``x#3``. Two records claiming one id are
    both kept (dropping one would hide a defect); the reader warns about each renamed one."""
    seen: dict[str, int] = {}
    taken = set(ids)
    out: list[str] = []
    for ident in ids:
        count = seen.get(ident, 0) + 1
        seen[ident] = count
        candidate = ident
        while count > 1 and candidate in taken:
            candidate = f"{ident}#{count}"
            count += 1
        taken.add(candidate)
        out.append(candidate)
    return out


def reading_order(frames: list[Frame]) -> list[Frame]:
    """Frames in file order, except that a sequence's frames are gathered where the sequence first
    appears and sorted by index (the order ``Dataset`` promises)."""
    rank: dict[str, int] = {}
    keys: list[tuple[int, int]] = []
    for position, frame in enumerate(frames):
        if frame.sequence is None:
            keys.append((position, 0))
        else:
            keys.append((rank.setdefault(frame.sequence, position), frame.index))
    return [f for _, f in sorted(zip(keys, frames, strict=True), key=lambda kf: kf[0])]
