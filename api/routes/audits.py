"""Audits: listing them (auditors see their own) and importing past ones."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.audit_import import parse_audits
from api.bodies import body_doc, read_body
from api.deps import AnyUser, Operator, ReadSessionDep, SessionsDep, SettingsDep
from api.errors import ApiError, errors
from api.queries.audits import AuditFilter
from api.routes.params import IdQuery, Limit, Offset, Text
from api.routing import api_router
from api.schemas.audits import ImportResult
from api.schemas.common import Page, UtcDatetime
from gtqa.domain import Audit, AuditSource, IssueType, Verdict
from gtqa.storage import NotFoundError, Role, batch_record, import_audits

router: APIRouter = api_router("audits")

JSONL_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines", "text/plain")
When = Annotated[UtcDatetime | None, Query()]


@router.get("/audits", summary="List audits, oldest first", response_model=Page[Audit])
def audits(
    user: AnyUser,
    session: ReadSessionDep,
    batch_id: IdQuery = None,
    spec_hash: Text = None,
    auditor: Text = None,
    verdict: Annotated[Verdict | None, Query()] = None,
    issue_type: Annotated[IssueType | None, Query()] = None,
    source: Annotated[AuditSource | None, Query()] = None,
    since: When = None,
    until: When = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[Audit]:
    """Filters combine; ``since`` is inclusive, ``until`` exclusive. An auditor sees only their own, and
    their second reviews and gold answers under the source the item looked like (queue or spot_check)."""
    own = user.role == Role.auditor
    where = AuditFilter(
        batch_id=batch_id, spec_hash=spec_hash, auditor=user.name if own else auditor, verdict=verdict,
        issue_type=issue_type, source=source, since=since, until=until, as_auditors_see=own,
    )  # fmt: skip
    items = where.page(session, limit=limit, offset=offset)
    return Page(items=items, total=where.count(session), limit=limit, offset=offset)


@router.post(
    "/audits/import",
    summary="Import past audits (gtqa audit JSONL)",
    response_model=ImportResult,
    responses=errors(413, 415),
    openapi_extra=body_doc(JSONL_TYPES, "one gtqa audit per line (see gtqa.formats.audits)"),
)
async def import_file(
    request: Request, _: Operator, settings: SettingsDep, sessions: SessionsDep, batch_id: IdQuery = None
) -> ImportResult:
    """All lines or none: a bad line is reported with its number and nothing is stored. Audits whose id
    is already stored are left alone."""
    data = await read_body(request, limit=settings.max_upload_bytes, types=JSONL_TYPES)
    parsed = parse_audits(data)
    return await run_in_threadpool(_store, sessions, parsed, batch_id)


def _store(sessions: sessionmaker[Session], parsed: list[Audit], batch_id: int | None) -> ImportResult:
    with sessions.begin() as session:
        if batch_id is not None:
            try:
                batch_record(session, batch_id)
            except NotFoundError:
                raise ApiError(422, "unknown_batch", f"no batch {batch_id}") from None
        stored = import_audits(session, parsed, batch_id=batch_id)
    return ImportResult(read=len(parsed), stored=stored)
