"""Reading an audit JSONL upload (the format of ``gtqa.formats.audits``) line by line, so that every
problem, including values the database could not store, is reported with its line number."""

from __future__ import annotations

from pydantic import ValidationError

from api.errors import ApiError
from gtqa.domain import Audit
from gtqa.storage import unstorable_audit

MAX_REPORTED = 200


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
    return audit, unstorable_audit(audit)
