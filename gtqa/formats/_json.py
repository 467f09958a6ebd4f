"""JSON label files: decoding, parsing, naming the line of a malformed record, and writing.

A good file costs one parse by the C decoder. Only when a record is malformed is its position looked
up, by walking the text along its JSON path with the C scanner, so that a problem names the path
(``annotations[17].bbox``) and the 1-based line where that value starts (for a missing key, the line
where the object lacking it starts).
"""

from __future__ import annotations

import bisect
import codecs
import functools
import gc
import json
import json.decoder
import json.scanner
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from gtqa.domain import InputProblem, ProblemLevel

JsonPath = tuple[str | int, ...]
Scalar = str | int | float | bool
Warn = Callable[[JsonPath, str], None]  # reports a warning at a JSON path

_P = ParamSpec("_P")
_R = TypeVar("_R")

_LONG_INT = re.compile(r"\d{4000,}")  # Python refuses to convert integers of more than 4,300 digits


class JsonSchemaError(ValueError):
    """A value of the wrong type or range, at ``where`` (a JSON path from the document root)."""

    def __init__(self, where: JsonPath, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{render(where)}: {message}")


def render(where: JsonPath) -> str:
    """``("annotations", 17, "bbox")`` -> ``annotations[17].bbox``."""
    out = ""
    for part in where:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(top level)"


@dataclass
class JsonDoc:
    """A parsed JSON file; ``problem`` turns a JSON path into ``file:line``."""

    path: Path
    data: Any
    text: str
    _offsets: _Offsets | None = field(default=None, repr=False)
    _newlines: list[int] | None = field(default=None, repr=False)

    def line_of(self, where: JsonPath) -> int:
        """1-based line where the deepest value on ``where`` that exists starts (0 if unknown)."""
        if self._offsets is None:
            self._offsets = _Offsets(self.text)
        offset = self._offsets.of(where)
        if offset < 0:
            return 0
        if self._newlines is None:
            self._newlines = [m.start() for m in re.finditer("\n", self.text)]
        return bisect.bisect_left(self._newlines, offset) + 1

    def problem(
        self, where: JsonPath, message: str, level: ProblemLevel = ProblemLevel.error
    ) -> InputProblem:
        return InputProblem(
            path=str(self.path), line=self.line_of(where), message=f"{render(where)}: {message}", level=level
        )

    def schema_problem(self, exc: JsonSchemaError, level: ProblemLevel = ProblemLevel.error) -> InputProblem:
        return self.problem(exc.where, exc.message, level)

    def warner(self, problems: list[InputProblem]) -> Warn:
        """A ``Warn`` that adds a warning about this file to ``problems``."""

        def warn(where: JsonPath, message: str) -> None:
            problems.append(self.problem(where, message, ProblemLevel.warning))

        return warn


def _child(children: dict[str, int] | list[int] | None, part: str | int) -> int | None:
    if isinstance(children, dict) and isinstance(part, str):
        return children.get(part)
    if isinstance(children, list) and isinstance(part, int) and 0 <= part < len(children):
        return children[part]
    return None


_WHITESPACE = re.compile(r"[ \t\n\r]*")


class _Offsets:
    """Where values start in a text that parsed: the children of an object or array are indexed the
    first time a path goes through it, skipping each child with the C scanner. Reporting any number of
    items of a large array so costs about one more C parse of it."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._scan = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]
        self._children: dict[JsonPath, dict[str, int] | list[int] | None] = {}

    def of(self, where: JsonPath) -> int:
        """The offset of the deepest value on ``where`` that exists (-1 if even the root is unknown)."""
        try:
            pos = self._ws(0)
            for depth, part in enumerate(where):
                child = _child(self._index(where[:depth], pos), part)
                if child is None:
                    break
                pos = child
        except (IndexError, StopIteration, ValueError, RecursionError):
            return -1
        return pos

    def _index(self, prefix: JsonPath, pos: int) -> dict[str, int] | list[int] | None:
        if prefix not in self._children:
            opener = self._text[pos]
            self._children[prefix] = (
                self._object(pos) if opener == "{" else self._array(pos) if opener == "[" else None
            )
        return self._children[prefix]

    def _object(self, pos: int) -> dict[str, int]:
        """Key -> offset of its value (a repeated key: the last one, as ``json`` keeps it)."""
        text, out = self._text, {}
        pos = self._ws(pos + 1)
        while text[pos] == '"':
            key, pos = json.decoder.scanstring(text, pos + 1)  # type: ignore[attr-defined]
            pos = self._ws(self._ws(pos) + 1)  # past the colon
            out[key] = pos
            pos = self._next(pos)
        return out

    def _array(self, pos: int) -> list[int]:
        text, out = self._text, []
        pos = self._ws(pos + 1)
        while text[pos] != "]":
            out.append(pos)
            pos = self._next(pos)
        return out

    def _next(self, pos: int) -> int:
        """Past the value at ``pos`` and the comma after it."""
        _, pos = self._scan(self._text, pos)
        pos = self._ws(pos)
        return self._ws(pos + 1) if self._text[pos] == "," else pos

    def _ws(self, pos: int) -> int:
        match = _WHITESPACE.match(self._text, pos)
        return match.end() if match else pos


@dataclass
class Places:
    """Where each label and frame was read: its file and the JSON path of its record (an export patches
    those records in place and copies everything else)."""

    labels: dict[str, tuple[Path, JsonPath]] = field(default_factory=dict)
    frames: dict[str, tuple[Path, JsonPath]] = field(default_factory=dict)
    _weak: set[str] = field(default_factory=set)  # frames placed in a file that holds no boxes

    def add_label(self, ident: str, doc: JsonDoc, where: JsonPath) -> None:
        self.labels[ident] = (doc.path, where)

    def add_frame(self, ident: str, doc: JsonDoc, where: JsonPath, *, strong: bool = True) -> None:
        """The first file holding the frame, preferring one that holds boxes (a label added to the
        frame goes there, not into a captions file)."""
        if ident not in self.frames or (strong and ident in self._weak):
            self.frames[ident] = (doc.path, where)
            self._weak.discard(ident)
            if not strong:
                self._weak.add(ident)


def gc_paused(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``fn`` with the cyclic garbage collector paused. Turning a parsed file of millions of JSON
    containers into labels allocates much and frees little, and every full collection would walk all
    of it: pausing halves a large file's reading time. Reference counting still frees everything."""

    @functools.wraps(fn)
    def paused(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        if not gc.isenabled():  # the caller paused it: leave it to them
            return fn(*args, **kwargs)
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.enable()

    return paused


def load_json(path: Path, problems: list[InputProblem]) -> JsonDoc | None:
    """Read and parse a JSON file, or add a problem naming the file and line and return None. A warning
    about the encoding is added only when the file parses (on garbage it would be noise)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.append(InputProblem(path=str(path), message=f"cannot read file: {exc.strerror}"))
        return None
    text, warning = _decode(data, path)
    if text is None:
        problems.append(InputProblem(path=str(path), message="binary data, not JSON text"))
        return None
    if not text.strip():
        problems.append(InputProblem(path=str(path), message="empty file: no JSON document"))
        return None
    problem: InputProblem
    try:
        doc = JsonDoc(path=path, data=json.loads(text), text=text)
    except json.JSONDecodeError as exc:
        message = f"not valid JSON: {exc.msg} (column {exc.colno})"
        problem = InputProblem(path=str(path), line=exc.lineno, message=message)
    except ValueError as exc:  # an integer literal too long to convert
        found = _LONG_INT.search(text)
        line = text.count("\n", 0, found.start()) + 1 if found else 0
        problem = InputProblem(path=str(path), line=line, message=f"not valid JSON: {exc}")
    except RecursionError:
        problem = InputProblem(path=str(path), message="not valid JSON: nested too deeply")
    else:
        problems.extend([warning] if warning else [])
        return doc
    problems.append(problem)
    return None


def _decode(data: bytes, path: Path) -> tuple[str | None, InputProblem | None]:
    """UTF-8 text (a BOM dropped), and a warning when it was not quite: UTF-16/32 (recognised as RFC
    8259 allows) is read as such; bytes that are not UTF-8 are read as U+FFFD, the warning naming the
    line of the first. None when the bytes fit no encoding (binary data)."""
    data = data.removeprefix(codecs.BOM_UTF8)
    encoding = json.detect_encoding(data)
    if encoding != "utf-8":
        try:
            text = data.decode(encoding).removeprefix("\ufeff")
        except UnicodeDecodeError:
            return None, None
        message = f"{encoding.upper()} text, read as such (JSON files should be UTF-8)"
        return text, InputProblem(path=str(path), message=message, level=ProblemLevel.warning)
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        warning = InputProblem(
            path=str(path),
            line=data.count(b"\n", 0, exc.start) + 1,
            message=f"not UTF-8 (byte 0x{data[exc.start]:02x}); undecodable bytes read as U+FFFD",
            level=ProblemLevel.warning,
        )
        return data.decode("utf-8", errors="replace"), warning


def json_files(root: Path) -> list[Path]:
    """The JSON files of a dataset: the file itself, else ``*.json`` in the folder, else in its
    ``annotations/`` subfolder (COCO's layout)."""
    if root.is_file():
        return [root]
    found = sorted(p for p in root.glob("*.json") if p.is_file())
    if not found and (root / "annotations").is_dir():
        found = sorted(p for p in (root / "annotations").glob("*.json") if p.is_file())
    return found


def dump_json(path: Path, data: Any, *, inner: str | None = None) -> None:
    """Write a label file with one record per line: the top-level object's keys each on a line, each
    item of a top-level array on its own line, and, when ``inner`` names a key of those items (BDD's
    ``labels``), each item of that list on its own line too (the key moves to the record's end). It
    stays diffable, a problem found in it later names a useful line, and every record goes through
    the C encoder (``indent`` would not)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, dict):
        rows = [f"  {_dumps(key)}: {_block(value, '  ', inner)}" for key, value in data.items()]
        text = "{\n" + ",\n".join(rows) + "\n}" if rows else "{}"
    else:
        text = _block(data, "", inner)
    path.write_text(text + "\n", encoding="utf-8")


def _block(value: Any, indent: str, inner: str | None) -> str:
    if not isinstance(value, list) or not value:
        return _dumps(value)
    return "[\n" + ",\n".join(f"{indent}  {_record(item, indent, inner)}" for item in value) + f"\n{indent}]"


def _record(item: Any, indent: str, inner: str | None) -> str:
    if (
        inner is None
        or not isinstance(item, dict)
        or not isinstance(item.get(inner), list)
        or not item[inner]
    ):
        return _dumps(item)
    head = [f"{_dumps(key)}: {_dumps(value)}" for key, value in item.items() if key != inner]
    rows = ",\n".join(f"{indent}    {_dumps(x)}" for x in item[inner])
    return "{" + ", ".join([*head, f"{_dumps(inner)}: [\n{rows}\n{indent}  ]"]) + "}"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)
