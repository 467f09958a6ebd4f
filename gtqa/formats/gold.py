"""Known answers for gold items, read from a gtqa audit JSONL or a CSV.

**gtqa audit JSONL** (``gtqa.formats.audits``): each audit's ``frame``, ``label``, ``verdict`` and
``issue_type`` are the known answer; the other fields are ignored. A gold item judges a label, so an
audit of a missing object (no ``label``) is refused.

**CSV** with a header row naming at least ``frame``, ``label`` and ``verdict``, optionally
``issue_type`` (empty: any type of defect counts as right)::

    frame,label,verdict,issue_type
    000015,000015:3,defect,bad_box
    000020,000020:0,not_defect,

Every problem names the file and line (``InputFormatError``); blank lines and ``#`` lines are skipped.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pydantic import ValidationError

from gtqa.domain import Audit, GoldAnswer, InputFormatError

CSV_COLUMNS = ("frame", "label", "verdict")


def read_gold(path: Path) -> list[GoldAnswer]:
    """The known answers in a file: CSV by its ``.csv`` suffix, else gtqa audit JSONL."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFormatError(str(path), 0, f"cannot read gold answers: {exc}") from None
    return parse_gold(text, str(path), csv_format=path.suffix.lower() == ".csv")


def parse_gold(text: str, name: str, *, csv_format: bool) -> list[GoldAnswer]:
    """The known answers in a text (``name`` is the file named in errors)."""
    answers = _from_csv(text, name) if csv_format else _from_jsonl(text, name)
    if not answers:
        raise InputFormatError(name, 0, "no gold answer in the file")
    return answers


def _from_jsonl(text: str, name: str) -> list[GoldAnswer]:
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            audit = Audit.model_validate_json(line)
        except ValidationError as exc:
            raise InputFormatError(name, number, f"not an audit: {_first_error(exc)}") from None
        if audit.label is None:
            raise InputFormatError(name, number, "a gold answer judges a label: this audit has none")
        out.append(_answer(name, number, audit.frame, audit.label, audit.verdict, audit.issue_type))
    return out


def _from_csv(text: str, name: str) -> list[GoldAnswer]:
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1)]
    kept = [(n, line) for n, line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not kept:
        return []
    rows = csv.DictReader(io.StringIO("\n".join(line for _, line in kept)))
    header = [c.strip() for c in rows.fieldnames or []]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise InputFormatError(name, kept[0][0], f"the header lacks column(s) {', '.join(missing)}")
    rows.fieldnames = header
    out = []
    for (number, _), row in zip(kept[1:], rows, strict=False):  # a quoted newline shifts lines
        issue = (row.get("issue_type") or "").strip() or None
        out.append(_answer(name, number, row["frame"], row["label"], (row["verdict"] or "").strip(), issue))
    return out


def _answer(
    name: str, number: int, frame: object, label: object, verdict: object, issue: object
) -> GoldAnswer:
    try:
        return GoldAnswer.model_validate(
            {
                "frame": frame,
                "label": label,
                "verdict": verdict,
                "issue_type": issue,
                "where": f"{name}:{number}",
            }
        )
    except ValidationError as exc:
        raise InputFormatError(name, number, f"not a gold answer: {_first_error(exc)}") from None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(map(str, err['loc'])) or '(line)'}: {err['msg']}"
