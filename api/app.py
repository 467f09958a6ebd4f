"""The FastAPI application, built by a factory: ``uvicorn api.app:create_app --factory``.

Nothing is built at import time: ``create_app`` takes the settings (``get_settings()`` when omitted) and
the lifespan makes the database engine and session factories, disposed of at shutdown. The schema must
be migrated beforehand (``python -m gtqa.storage upgrade``); ``/readyz`` says when it is not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import ui
from api.errors import install_error_handlers
from api.guard import BodyGuard, LimitOf
from api.ingest.upload import FORM_OVERHEAD
from api.openapi import install_openapi
from api.routes import (
    audits,
    batches,
    calibrations,
    evals,
    exports,
    findings,
    gold,
    health,
    jobs,
    metrics,
    queue,
    specs,
    users,
)
from gtqa.settings import Settings, get_settings
from gtqa.storage import engine_from_settings, make_session_factory

API_PREFIX = "/api/v1"

TAGS = [
    {"name": "health", "description": "Liveness and readiness (no token)"},
    {"name": "batches", "description": "Ingesting deliveries"},
    {"name": "jobs", "description": "Review jobs and their progress"},
    {"name": "findings", "description": "What the reviewer flagged"},
    {"name": "queue", "description": "The auditors' queue: claim, decide, release, skip"},
    {"name": "audits", "description": "Human decisions"},
    {"name": "exports", "description": "Findings, audits and corrected labels as files"},
    {"name": "specs", "description": "The QA specs"},
    {"name": "evals", "description": "Stored eval runs"},
    {"name": "calibrations", "description": "The learning queue's calibration versions: refit, roll back"},
    {"name": "metrics", "description": "Operational metrics"},
    {"name": "users", "description": "Users and API tokens"},
]

# The routes that take a file, and their own body limits; every other body is held to max_json_body_bytes.
FILE_ROUTE_LIMITS: dict[str, LimitOf] = {
    f"{API_PREFIX}/batches/upload": lambda s: s.max_upload_bytes + FORM_OVERHEAD,
    f"{API_PREFIX}/audits/import": lambda s: s.max_upload_bytes,
    f"{API_PREFIX}/queue/gold": lambda s: s.max_upload_bytes,
}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = engine_from_settings(settings)
    app.state.engine = engine
    app.state.sessions = make_session_factory(engine)
    app.state.read_sessions = make_session_factory(engine, read_only=True)
    try:
        yield
    finally:
        engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="gtqa",
        summary="Agent-assisted QA review of autonomous-driving ground-truth labels",
        description="Every route except /healthz and /readyz needs `Authorization: Bearer <API token>`; "
        "each operation lists the roles that may call it. Errors: "
        '`{"error": {"code", "message", "details"}}`.',
        version="1",
        lifespan=lifespan,
        openapi_tags=TAGS,
    )
    app.state.settings = settings
    app.add_middleware(BodyGuard, limits=FILE_ROUTE_LIMITS)
    install_error_handlers(app)
    install_openapi(app)
    app.include_router(health.router)
    app.include_router(metrics.prometheus)
    routers = (
        batches,
        jobs,
        findings,
        queue,
        gold,
        audits,
        exports,
        specs,
        evals,
        calibrations,
        metrics,
        users,
    )
    for module in routers:
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(ui.router)
    return app
