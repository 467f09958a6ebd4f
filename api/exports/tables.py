"""Findings and audits as JSONL (the files ``gtqa`` reads back) and CSV, streamed in ~64 KiB chunks
from a read-only session of their own (a response outlives the request's dependencies)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from api.exports.csvfile import csv_line
from api.queries.findings import iter_findings
from api.schemas.findings import FindingOut
from gtqa.domain import Audit
from gtqa.formats.findings import finding_record
from gtqa.storage import FindingFilter, export_audits

_FLUSH = 1 << 16

FINDING_COLUMNS = [
    "id", "batch_id", "job_id", "frame", "label", "type", "score", "priority", "x1", "y1", "x2", "y2",
    "check", "message", "cls", "rule_ids", "spec_hash", "needs_human",
]  # fmt: skip
AUDIT_COLUMNS = [
    "id", "dataset", "frame", "label", "verdict", "issue_type", "flag_check", "auditor", "seconds",
    "spec_hash", "source", "comment", "created_at", "x1", "y1", "x2", "y2", "corrected",
]  # fmt: skip


def findings_jsonl(sessions: sessionmaker[Session], where: FindingFilter) -> Iterator[bytes]:
    return _stream(sessions, lambda s: iter_findings(s, where), _finding_json)


def findings_csv(sessions: sessionmaker[Session], where: FindingFilter) -> Iterator[bytes]:
    return _csv(sessions, lambda s: iter_findings(s, where), FINDING_COLUMNS, _finding_row)


def audits_jsonl(
    sessions: sessionmaker[Session], batch_id: int | None, spec_hash: str | None
) -> Iterator[bytes]:
    return _stream(sessions, lambda s: export_audits(s, batch_id=batch_id, spec_hash=spec_hash), _audit_json)


def audits_csv(
    sessions: sessionmaker[Session], batch_id: int | None, spec_hash: str | None
) -> Iterator[bytes]:
    rows = lambda s: export_audits(s, batch_id=batch_id, spec_hash=spec_hash)  # noqa: E731
    return _csv(sessions, rows, AUDIT_COLUMNS, _audit_row)


def _finding_json(f: FindingOut) -> str:
    return json.dumps(finding_record(f), separators=(",", ":")) + "\n"


def _audit_json(a: Audit) -> str:
    # The form gtqa.formats.audits.write_audits writes (and read_audits reads back).
    return json.dumps(a.model_dump(mode="json", exclude_none=True), separators=(",", ":")) + "\n"


def _finding_row(f: FindingOut) -> list[Any]:
    x1, y1, x2, y2 = f.box
    return [
        f.id, f.batch_id, f.job_id, f.frame, f.label, f.type.value, f.score, f.priority, x1, y1, x2, y2,
        f.check, f.message, f.cls, ";".join(f.rule_ids), f.spec_hash, f.needs_human,
    ]  # fmt: skip


def _audit_row(a: Audit) -> list[Any]:
    box = a.box.as_list() if a.box else [None] * 4
    corrected = a.corrected.model_dump_json() if a.corrected else None
    return [
        a.id, a.dataset, a.frame, a.label, a.verdict.value, a.issue_type.value if a.issue_type else None,
        a.flag_check, a.auditor, a.seconds, a.spec_hash, a.source.value, a.comment, a.created_at.isoformat(),
        *box, corrected,
    ]  # fmt: skip


def _stream(
    sessions: sessionmaker[Session], rows: Callable[[Session], Iterable[Any]], line: Callable[[Any], str]
) -> Iterator[bytes]:
    with sessions() as session:
        buffer: list[str] = []
        size = 0
        for row in rows(session):
            text = line(row)
            buffer.append(text)
            size += len(text)
            if size >= _FLUSH:
                yield "".join(buffer).encode("utf-8")
                buffer, size = [], 0
        if buffer:
            yield "".join(buffer).encode("utf-8")


def _csv(
    sessions: sessionmaker[Session],
    rows: Callable[[Session], Iterable[Any]],
    columns: list[str],
    cells: Callable[[Any], list[Any]],
) -> Iterator[bytes]:
    yield csv_line(columns).encode("utf-8")
    yield from _stream(sessions, rows, lambda row: csv_line(cells(row)))
