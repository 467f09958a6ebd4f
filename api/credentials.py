"""Who a request says it is: the one reading of ``Authorization: Bearer <token>`` and the one lookup of
that token per request.

Three places ask: the body guard (``api.guard``, before any body is read), the JSON API's current-user
dependency (``api.deps``) and the pages' viewer (``api.ui.access``). The guard runs first on a request
with a body; the user it found (or that it found none) is kept in the request's state (ASGI
``scope["state"]``, which the route's ``Request`` shares), so the route's dependency does not ask the
database again. A request without a body is looked up once, by its route.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection

from gtqa.storage import UserRecord, user_by_token

_STATE_KEY = "gtqa_token_user"  # (token, its user or None), one per request


def bearer_token(headers: Headers) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (the scheme in any case), else None."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def token_user(
    conn: HTTPConnection, token: str, sessions: sessionmaker[Session] | None = None
) -> UserRecord | None:
    """The active user holding ``token``, looked up once per request (a short read-only session of
    ``sessions``, by default the app's) and kept in the request's state for whoever asks next."""
    state = conn.scope.setdefault("state", {})
    kept = state.get(_STATE_KEY)
    if kept is not None and kept[0] == token:
        user: UserRecord | None = kept[1]
        return user
    with (sessions or conn.app.state.read_sessions)() as session:
        user = user_by_token(session, token)
    state[_STATE_KEY] = (token, user)
    return user
