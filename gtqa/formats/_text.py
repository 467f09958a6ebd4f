"""Line-oriented reading shared by the text formats: decoding, tokenising and number parsing that
report every problem with its file and 1-based line instead of raising on the first one."""

from __future__ import annotations

import codecs
import math
import re
from collections.abc import Iterator
from pathlib import Path

from gtqa.domain import InputFormatError, InputProblem, ProblemLevel
from gtqa.settings import MAX_FILE_BYTES

# Coordinates beyond this are certainly corrupt (no camera has a billion pixels); refusing them keeps
# overflow out of the geometry.
MAX_ABS_VALUE = 1e7
_BINARY_SNIFF = 1024  # bytes looked at for a NUL byte, the mark of a binary (or BOM-less UTF-16) file
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the breaks bytes.splitlines() knows, for decoded text


def iter_lines(path: Path, problems: list[InputProblem]) -> Iterator[tuple[int, str]]:
    """Yield ``(0-based line index, stripped text)`` for non-blank, non-comment lines. A line that is not
    UTF-8, or holds a NUL byte, becomes a problem (its index is still consumed so later ids stay
    stable). UTF-16 with a byte-order mark is read, with a warning; a binary file (or BOM-less UTF-16)
    gives one problem, at the line of its first NUL byte, and nothing is read from it."""
    try:
        data = read_capped(path)
    except OSError as exc:
        problems.append(InputProblem(path=str(path), message=f"cannot read file: {exc.strerror}"))
        return
    if data is None:
        message = f"larger than {MAX_FILE_BYTES} bytes, not a label file: nothing read from it"
        problems.append(InputProblem(path=str(path), message=message))
        return
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        yield from _utf16_lines(data, path, problems)
        return
    data = data.removeprefix(codecs.BOM_UTF8)
    if _is_binary(data[:_BINARY_SNIFF]):
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        message = "binary data or UTF-16 without a byte-order mark, not a text file: nothing read from it"
        problems.append(InputProblem(path=str(path), line=line, message=message))
        return
    for index, raw in enumerate(data.splitlines()):
        text = _decode_line(raw, path, index, problems)
        if text and not text.startswith("#"):
            yield index, text


def read_capped(path: Path, cap: int | None = None) -> bytes | None:
    """The file's bytes, or None when it holds more than ``cap`` (``MAX_FILE_BYTES``): at most
    ``cap + 1`` bytes are ever read, whatever the file's size says or becomes meanwhile."""
    limit = MAX_FILE_BYTES if cap is None else cap
    with path.open("rb") as fh:
        data = fh.read(limit + 1)
    return None if len(data) > limit else data


def _is_binary(head: bytes) -> bool:
    """NUL bytes that are many (BOM-less UTF-16) or come with bytes that are not UTF-8 (an image, a
    compressed file). A stray NUL in a text file is only a problem of its line."""
    if b"\x00" not in head:
        return False
    if head.count(0) * 10 >= len(head):
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(head) - 3  # a character cut by the end of the sample is no evidence
    return False


def _decode_line(raw: bytes, path: Path, index: int, problems: list[InputProblem]) -> str | None:
    if b"\x00" in raw:
        problems.append(InputProblem(path=str(path), line=index + 1, message="binary data (a NUL byte)"))
        return None
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
        problems.append(InputProblem(path=str(path), line=index + 1, message=message))
        return None


def _utf16_lines(data: bytes, path: Path, problems: list[InputProblem]) -> Iterator[tuple[int, str]]:
    try:
        decoded = data.decode("utf-16")
    except UnicodeDecodeError as exc:
        problems.append(
            InputProblem(path=str(path), message=f"UTF-16 byte-order mark, but not UTF-16: {exc}")
        )
        return
    problems.append(
        InputProblem(
            path=str(path),
            message="UTF-16 text, read as such (gtqa expects UTF-8)",
            level=ProblemLevel.warning,
        )
    )
    for index, line in enumerate(_LINE_BREAK.split(decoded)):
        text = line.strip()
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
