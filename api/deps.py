"""The request dependencies, as ``Annotated`` aliases (the shape of fastapi/full-stack-fastapi-template's
``backend/app/api/deps.py``): settings, database sessions, the current user and role checks, and the
dispatcher that hands review jobs to the workers. Everything comes from ``app.state``, which the
lifespan of ``create_app`` fills; nothing here is built at import time.

Auth: ``Authorization: Bearer <token>``; the token's SHA-256 is looked up (``user_by_token``) in a
short read-only session of its own, before any request body is read by the route itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Annotated, Protocol

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from api.errors import ApiError
from gtqa.settings import Settings
from gtqa.storage import Role, UserRecord, user_by_token

log = logging.getLogger(__name__)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_sessions(request: Request) -> sessionmaker[Session]:
    """The factory of read-write sessions (SQLite: BEGIN IMMEDIATE); the caller owns the transaction."""
    sessions: sessionmaker[Session] = request.app.state.sessions
    return sessions


def get_read_sessions(request: Request) -> sessionmaker[Session]:
    """Read-only sessions (SQLite: BEGIN DEFERRED, no write lock; PostgreSQL: READ ONLY)."""
    sessions: sessionmaker[Session] = request.app.state.read_sessions
    return sessions


def get_session(sessions: Annotated[sessionmaker[Session], Depends(get_sessions)]) -> Iterator[Session]:
    """A session for writes: routes open ``with session.begin():`` themselves, so that what happens
    after the commit (enqueueing work) happens only once the data is there."""
    with sessions() as session:
        yield session


def get_read_session(
    sessions: Annotated[sessionmaker[Session], Depends(get_read_sessions)],
) -> Iterator[Session]:
    with sessions() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionsDep = Annotated[sessionmaker[Session], Depends(get_sessions)]
ReadSessionsDep = Annotated[sessionmaker[Session], Depends(get_read_sessions)]
SessionDep = Annotated[Session, Depends(get_session)]
ReadSessionDep = Annotated[Session, Depends(get_read_session)]

_bearer = HTTPBearer(auto_error=False, description="an API token: `Authorization: Bearer <token>`")


def get_current_user(
    sessions: ReadSessionsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> UserRecord:
    if credentials is None:
        raise _unauthenticated("an API token is required: Authorization: Bearer <token>")
    with sessions() as session:
        user = user_by_token(session, credentials.credentials)
    if user is None:
        raise _unauthenticated("the API token is not valid (unknown, rotated or deactivated)")
    return user


CurrentUser = Annotated[UserRecord, Depends(get_current_user)]


class RequireRole:
    """A dependency admitting the current user only in one of ``roles`` (403 otherwise). Routes declare
    theirs with the aliases below; ``api.routing.RoleRoute`` writes them into the OpenAPI entry."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    def __call__(self, user: CurrentUser) -> UserRecord:
        if user.role not in self.roles:
            allowed = ", ".join(sorted(r.value for r in self.roles))
            raise ApiError(403, "forbidden", f"a {user.role.value} may not do this (allowed: {allowed})")
        return user


ALL_ROLES = tuple(Role)
READ_ROLES = (Role.spec_author, Role.ops, Role.admin)

AnyUser = Annotated[UserRecord, Depends(RequireRole(*ALL_ROLES))]
Reader = Annotated[UserRecord, Depends(RequireRole(*READ_ROLES))]
Operator = Annotated[UserRecord, Depends(RequireRole(Role.ops, Role.admin))]
SpecAuthor = Annotated[UserRecord, Depends(RequireRole(Role.spec_author, Role.admin))]
Auditor = Annotated[UserRecord, Depends(RequireRole(Role.auditor, Role.admin))]
Admin = Annotated[UserRecord, Depends(RequireRole(Role.admin))]


def _unauthenticated(message: str) -> ApiError:
    return ApiError(401, "unauthenticated", message, headers={"WWW-Authenticate": "Bearer"})


class Dispatcher(Protocol):
    """Hands a stored review job to the workers."""

    def enqueue_job(self, job_id: int) -> None: ...

    def enqueue_refit(self, spec_name: str, data_format: str) -> None: ...

    def enqueue_reprioritise(self, spec_name: str, data_format: str) -> None: ...


class WorkerDispatcher:
    """Sends jobs through ``workers.dispatch.enqueue_job``, imported on first use so that the Celery
    app (and its broker connection) is only made by a process that sends work. Raises when the broker
    cannot be reached (the job then waits in the database for the reconciler)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def enqueue_job(self, job_id: int) -> None:
        from workers.dispatch import enqueue_job

        enqueue_job(job_id, sessions=self.sessions)

    def enqueue_refit(self, spec_name: str, data_format: str) -> None:
        from workers.app import get_app
        from workers.broker import REFIT_TASK, enqueue_learning

        enqueue_learning(REFIT_TASK, spec_name, data_format, app=get_app())

    def enqueue_reprioritise(self, spec_name: str, data_format: str) -> None:
        from workers.app import get_app
        from workers.broker import REPRIORITISE_TASK, enqueue_learning

        enqueue_learning(REPRIORITISE_TASK, spec_name, data_format, app=get_app())


def get_dispatcher(sessions: ReadSessionsDep) -> Dispatcher:
    return WorkerDispatcher(sessions)


DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]
