"""Line-oriented reading shared by the text formats: decoding, tokenising and number parsing that
report every problem with its file and 1-based line instead of raising on the first one."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

from gtqa.domain import InputFormatError, InputProblem

# Coordinates beyond this are certainly corrupt (no camera has a billion pixels); refusing them keeps
# overflow out of the geometry.
MAX_ABS_VALUE = 1e7


def iter_lines(path: Path, problems: list[InputProblem]) -> Iterator[tuple[int, str]]:
    """Yield ``(0-based line index, stripped text)`` for non-blank lines; undecodable lines become
    problems (their index is still consumed so later ids stay stable)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.append(InputProblem(path=str(path), message=f"cannot read file: {exc.strerror}"))
        return
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for index, raw in enumerate(data.split(b"\n")):
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError as exc:
            problems.append(
                InputProblem(path=str(path), line=index + 1, message=f"not UTF-8 text (byte {exc.start})")
            )
            continue
        if text and not text.startswith("#"):
            yield index, text


def parse_floats(tokens: list[str], path: Path, index: int, names: list[str]) -> list[float]:
    """Parse tokens as finite floats of bounded size, or raise an error naming the field."""
    values: list[float] = []
    for token, name in zip(tokens, names, strict=True):
        try:
            value = float(token)
        except ValueError:
            raise InputFormatError(str(path), index + 1, f"{name} is not a number: {token!r}") from None
        if not math.isfinite(value):
            raise InputFormatError(str(path), index + 1, f"{name} is not finite: {token!r}")
        if abs(value) > MAX_ABS_VALUE:
            raise InputFormatError(str(path), index + 1, f"{name} is out of range: {token!r}")
        values.append(value)
    return values


def expect_fields(tokens: list[str], counts: tuple[int, ...], path: Path, index: int, what: str) -> None:
    if len(tokens) not in counts:
        want = " or ".join(str(c) for c in counts)
        raise InputFormatError(str(path), index + 1, f"{what} needs {want} fields, found {len(tokens)}")
