"""Line-oriented reading shared by the text formats: decoding, tokenising and number parsing that
report every problem with its file and 1-based line instead of raising on the first one."""

from __future__ import annotations

import codecs
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from gtqa.domain import InputFormatError, InputProblem, ProblemLevel

# Coordinates beyond this are certainly corrupt (no camera has a billion pixels); refusing them keeps
# overflow out of the geometry.
MAX_ABS_VALUE = 1e7
_BINARY_SNIFF = 1024  # bytes looked at for a NUL byte, the mark of a binary (or BOM-less UTF-16) file
_READ_PIECE = 1 << 16  # bytes read at a time
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the breaks bytes.splitlines() knows, for decoded text
# The largest text file read (labels, results, lists), bytes: a KITTI label file is a few KB and the
# largest shipped list (box2d.list, 7,481 frames) under 2 MB; anything near this is not a label file, and
# reading it whole would cost the process its size several times over.
MAX_TEXT_FILE_BYTES = 256 << 20
# The longest line read (a KITTI line is about 100 bytes): what a file without line breaks costs.
MAX_LINE_BYTES = 1 << 20


def iter_lines(path: Path, problems: list[InputProblem]) -> Iterator[tuple[int, str]]:
    """Yield ``(0-based line index, stripped text)`` for non-blank, non-comment lines. A line that is not
    UTF-8, or holds a NUL byte, becomes a problem (its index is still consumed so later ids stay
    stable). UTF-16 with a byte-order mark is read, with a warning; a binary file (or BOM-less UTF-16)
    gives one problem, at the line of its first NUL byte, and nothing is read from it.

    A UTF-8 file is read a piece at a time, never whole: what is held is the line being read (a line
    over ``MAX_LINE_BYTES`` is a problem, skipped to its end), not the file. A file over
    ``MAX_TEXT_FILE_BYTES`` by its size is refused unread; one that grows past it while read stops
    there, with a problem."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        problems.append(InputProblem(path=str(path), message=f"cannot read file: {exc.strerror}"))
        return
    with fh:
        try:
            yield from _file_lines(fh, path, problems)
        except OSError as exc:
            problems.append(InputProblem(path=str(path), message=f"cannot read file: {exc.strerror}"))


def _file_lines(fh: BinaryIO, path: Path, problems: list[InputProblem]) -> Iterator[tuple[int, str]]:
    if os.fstat(fh.fileno()).st_size > MAX_TEXT_FILE_BYTES:
        problems.append(_too_large(path))
        return
    head = fh.read(_BINARY_SNIFF + len(codecs.BOM_UTF8))
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        data = _rest_capped(fh, head)
        if data is None:
            problems.append(_too_large(path))
            return
        yield from _utf16_lines(data, path, problems)
        return
    head = head.removeprefix(codecs.BOM_UTF8)
    if _is_binary(head[:_BINARY_SNIFF]):
        line = head.count(b"\n", 0, head.index(b"\x00")) + 1
        message = "binary data or UTF-16 without a byte-order mark, not a text file: nothing read from it"
        problems.append(InputProblem(path=str(path), line=line, message=message))
        return
    for index, raw in enumerate(_split_lines(_pieces(fh, head, path, problems))):
        if raw is None:
            message = f"a line longer than {MAX_LINE_BYTES} bytes, not a label line: skipped"
            problems.append(InputProblem(path=str(path), line=index + 1, message=message))
            continue
        text = _decode_line(raw, path, index, problems)
        if text and not text.startswith("#"):
            yield index, text


def _too_large(path: Path) -> InputProblem:
    message = f"larger than {MAX_TEXT_FILE_BYTES} bytes, not a label file: nothing read from it"
    return InputProblem(path=str(path), message=message)


def _rest_capped(fh: BinaryIO, head: bytes) -> bytes | None:
    """``head`` and the rest of the file, or None past ``MAX_TEXT_FILE_BYTES`` (UTF-16 is decoded whole)."""
    rest = fh.read(MAX_TEXT_FILE_BYTES + 1 - len(head))
    data = head + rest
    return None if len(data) > MAX_TEXT_FILE_BYTES else data


def _pieces(fh: BinaryIO, head: bytes, path: Path, problems: list[InputProblem]) -> Iterator[bytes]:
    """The file's bytes from ``head`` on, a piece at a time, stopping at ``MAX_TEXT_FILE_BYTES``."""
    yield head
    total = len(head)
    while piece := fh.read(_READ_PIECE):
        total += len(piece)
        if total > MAX_TEXT_FILE_BYTES:
            message = f"grew past {MAX_TEXT_FILE_BYTES} bytes while read: the rest is not read"
            problems.append(InputProblem(path=str(path), message=message))
            return
        yield piece


def _split_lines(pieces: Iterator[bytes]) -> Iterator[bytes | None]:
    """The lines of the bytes, split as ``bytes.splitlines`` does (LF, CR, CR LF), terminators
    dropped; None for a line over ``MAX_LINE_BYTES`` (its bytes are dropped as they come)."""
    pending, skipping = b"", False
    for piece in pieces:
        lines = (pending + piece).splitlines(keepends=True)
        # The last piece of text may go on in the next piece (a CR may be the first half of a CR LF).
        pending = lines.pop() if lines and not lines[-1].endswith(b"\n") else b""
        for line in lines:
            if skipping:  # the end of a line already reported too long
                skipping = False
                continue
            yield _unterminated(line)
        if len(pending) > MAX_LINE_BYTES:
            if not skipping:
                yield None
            pending, skipping = b"", True
    if pending and not skipping:
        yield _unterminated(pending)


def _unterminated(line: bytes) -> bytes:
    if line.endswith(b"\r\n"):
        return line[:-2]
    return line[:-1] if line.endswith((b"\n", b"\r")) else line


def read_capped(path: Path, cap: int | None = None) -> bytes | None:
    """The file's bytes, or None when it holds more than ``cap`` (``MAX_TEXT_FILE_BYTES``): at most
    ``cap + 1`` bytes are ever read, whatever the file's size says or becomes meanwhile."""
    limit = MAX_TEXT_FILE_BYTES if cap is None else cap
    with path.open("rb") as fh:
        # Not ``fh.read(limit + 1)``: that allocates the whole cap (256 MiB) for every file before
        # shrinking it, a large allocation per 1 KB label file. Read what the file says it holds (+1
        # to see growth), then on in bounded pieces while it keeps giving more.
        first = min(limit + 1, os.fstat(fh.fileno()).st_size + 1)
        parts = [fh.read(first)]
        total = len(parts[0])
        more = total == first  # a read short of what it asked for met the end
        while more and total <= limit:
            parts.append(fh.read(min(_READ_PIECE, limit + 1 - total)))
            total, more = total + len(parts[-1]), bool(parts[-1])
    return None if total > limit else b"".join(parts)


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
