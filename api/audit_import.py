"""Reading an audit JSONL upload (the format of ``gtqa.formats.audits``) line by line, so that every
problem, including values the database could not store, is reported with its line number."""

from __future__ import annotations

from datetime import UTC

from pydantic import ValidationError

from api.errors import ApiError
from api.ingest.checks import column_length, has_nul
from gtqa.domain import Audit
from gtqa.storage.models import AuditRow

MAX_REPORTED = 200
_COLUMNS = {
    "id": "id", "dataset": "dataset", "frame": "frame_key", "label": "label_key", "flag_check": "flag_check",
    "auditor": "auditor", "spec_hash": "spec_hash",
}  # fmt: skip


def parse_audits(data: bytes, name: str = "<upload>") -> list[Audit]:
    """The audits of a JSONL text; ``ApiError`` 422 listing ``name:line`` problems if any line is bad
    (then none is imported)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(422, "invalid_input", f"{name}: not UTF-8 text ({exc.reason})") from None
    audits, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        audit, problem = _audit(line)
        if problem:
            problems.append({"path": name, "line": number, "where": f"{name}:{number}", "message": problem})
        elif audit is not None:
            audits.append(audit)
    if problems:
        message = f"{len(problems)} bad line(s); nothing was imported (first: {problems[0]['where']})"
        raise ApiError(422, "invalid_input", message, details=problems[:MAX_REPORTED])
    return audits


def _audit(line: str) -> tuple[Audit | None, str | None]:
    try:
        audit = Audit.model_validate_json(line)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(map(str, err["loc"])) or "(line)"
        return None, f"not an audit: {where}: {err['msg']}"
    return audit, _unstorable(audit)


def _unstorable(audit: Audit) -> str | None:
    for field, column in _COLUMNS.items():
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
