"""Liveness and readiness, for load balancers and orchestrators (no token needed)."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter, Request
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from api.errors import ApiError, errors
from api.schemas.health import Health, Ready
from gtqa.storage import engine_revision, head_revision

router = APIRouter(tags=["health"])
_head = cache(head_revision)  # the migrations ship with the release: read their scripts once, not per probe


@router.get("/healthz", summary="The process is up", response_model=Health)
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz", summary="The database is reachable and migrated", response_model=Ready, responses=errors(503)
)
def readyz(request: Request) -> Ready:
    engine: Engine = request.app.state.engine
    try:
        revision = engine_revision(engine)
    except SQLAlchemyError as exc:
        raise ApiError(
            503, "database_unavailable", f"the database cannot be reached: {type(exc).__name__}"
        ) from None
    if revision != _head():
        raise ApiError(503, "database_not_migrated", f"the database is at {revision}, not {_head()}")
    return Ready(status="ready", database=engine.dialect.name, revision=revision)
