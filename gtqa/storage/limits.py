"""What the readers accept but the database could not store: over-long ids and class names, NUL
characters, times without a zone. Found before the insert, so the client gets file:line problems rather
than a failed transaction (PostgreSQL refuses both; SQLite would silently keep them)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from functools import cache
from typing import Any

from gtqa.domain import Audit, Dataset, Frame, FrameStream, InputProblem, Label, Prediction, ProblemLevel
from gtqa.storage.models import AuditRow, DatasetRow, FrameRow, LabelRow, PredictionRow

# An audit's text fields and the columns that keep them.
_AUDIT_COLUMNS = {
    "id": "id", "dataset": "dataset", "frame": "frame_key", "label": "label_key", "flag_check": "flag_check",
    "auditor": "auditor", "spec_hash": "spec_hash",
}  # fmt: skip


@cache  # read per label: SQLAlchemy's column lookups cost more than the check itself
def column_length(model: Any, column: str) -> int:
    """The declared length of a VARCHAR column (what PostgreSQL enforces)."""
    return int(model.__table__.c[column].type.length)


def unstorable_records(dataset: Dataset) -> list[InputProblem]:
    """One problem per record that cannot be stored as read."""
    problems = unstorable_name(dataset.name, dataset.root)
    for frame in dataset.frames:
        problems.extend(unstorable_frame(frame, dataset.root))
    return problems


def unstorable_name(name: str, root: str) -> list[InputProblem]:
    if len(name) > column_length(DatasetRow, "name") or "\x00" in name:
        return [InputProblem(path=root, message=f"unusable dataset name {name!r}")]
    return []


def unstorable_frame(frame: Frame, root: str) -> list[InputProblem]:
    """One problem per record of ``frame`` (the frame, its labels, its predictions) not storable."""
    problems = []
    where = frame.image or root
    if len(frame.id) > column_length(FrameRow, "key") or "\x00" in frame.id:
        problems.append(InputProblem(path=where, message=f"frame id too long or not text: {frame.id!r}"))
    if frame.sequence is not None and len(frame.sequence) > column_length(FrameRow, "sequence"):
        problems.append(InputProblem(path=where, message=f"sequence name too long: {frame.sequence!r}"))
    problems.extend(_record_problems(frame.labels, root))
    problems.extend(_record_problems(frame.predictions, root))
    return problems


class Screen:
    """A stream passed on to the ingest only while it can all be stored: ``unstorable_records`` and
    the reading errors, found frame by frame. From the first refusal on no frame is passed on (nothing
    more is inserted just to be rolled back), but the stream is still read to its end, so every
    problem is reported, as with a dataset read whole. ``refusals`` is complete once it is exhausted."""

    def __init__(self, stream: FrameStream, *, allow_problems: bool) -> None:
        self._source, self._allow = stream, allow_problems
        self._refused = unstorable_name(stream.name, stream.root)
        self.frames = 0  # frames read, passed on or not
        self._seen, self._errors = 0, False  # reading problems looked at so far; any error among them
        self.stream = FrameStream(stream.name, stream.format, stream.root, self._frames(), stream.problems)

    def refusals(self) -> list[InputProblem]:
        """Records that cannot be stored, then (unless problems are allowed) the reading errors."""
        errors = [] if self._allow else [p for p in self._source.problems if p.level == ProblemLevel.error]
        return self._refused + errors

    def _frames(self) -> Iterator[Frame]:
        for frame in self._source:
            self.frames += 1
            self._refused.extend(unstorable_frame(frame, self._source.root))
            if not self._refused and (self._allow or not self._has_errors()):
                yield frame

    def _has_errors(self) -> bool:
        """Whether the reading met an error yet, looking only at the problems new since last time."""
        problems = self._source.problems
        new, self._seen = problems[self._seen :], len(problems)
        self._errors = self._errors or any(p.level == ProblemLevel.error for p in new)
        return self._errors


def unstorable_audit(audit: Audit) -> str | None:
    """Why the audit cannot be stored as read, or None."""
    for field, column in _AUDIT_COLUMNS.items():
        value = getattr(audit, field)
        limit = column_length(AuditRow, column)
        if isinstance(value, str) and len(value) > limit:
            return f"{field} is longer than {limit} characters"
    if audit.created_at.tzinfo is None:
        return "created_at needs a time zone (e.g. 2026-11-26T10:00:00Z)"
    try:
        audit.created_at.astimezone(UTC)
    except OverflowError:
        return "created_at is out of range"
    if has_nul(audit.model_dump(mode="json")):
        return "a NUL character in a text field"
    return None


def _record_problems(
    records: tuple[Label, ...] | tuple[Prediction, ...], root: str
) -> Iterator[InputProblem]:
    for record in records:
        message = _record_issue(record)
        if message:
            source = record.source
            yield InputProblem(
                path=source.path if source else root, line=source.line if source else 0, message=message
            )


def _record_issue(record: Label | Prediction) -> str | None:
    if isinstance(record, Label):
        fields = {
            "id": (record.id, column_length(LabelRow, "key")),
            "cls": (record.cls, column_length(LabelRow, "cls")),
        }
    else:
        fields = {
            "cls": (record.cls, column_length(PredictionRow, "cls")),
            "detector": (record.detector, column_length(PredictionRow, "detector")),
        }
    for field, (value, limit) in fields.items():
        if len(value) > limit:
            return f"{field} longer than {limit} characters: {value[:40]!r}…"
    if has_nul(record.model_dump(mode="json")):
        return "a NUL character in a text field"
    return None


def has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    return False
