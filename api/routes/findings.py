"""Findings, filtered and paged. Auditors see those of the batches they work on."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter

from api.deps import AnyUser, ReadSessionDep
from api.queries.findings import list_findings
from api.queries.scope import visible_batches
from api.routes.params import FilterDep, Limit, Offset
from api.routing import api_router
from api.schemas.common import Page
from api.schemas.findings import FindingOut

router: APIRouter = api_router("findings")


@router.get(
    "/findings", summary="List findings, highest review priority first", response_model=Page[FindingOut]
)
def findings(
    user: AnyUser, session: ReadSessionDep, where: FilterDep, limit: Limit = 100, offset: Offset = 0
) -> Page[FindingOut]:
    scoped = replace(where, batches=visible_batches(session, user))
    items, total = list_findings(session, scoped, limit=limit, offset=offset)
    return Page(items=items, total=total, limit=limit, offset=offset)
