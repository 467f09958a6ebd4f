"""The door before the routes: who may send a body, and how large it may be.

``BodyGuard`` is an ASGI middleware. A request that carries a body (a ``Content-Length`` above zero or a
chunked transfer) to any route but the public ones is answered 401 unless it shows credentials, and it
is answered without a byte of its body being received: the server never buffers or parses what an
anonymous client sends. Credentials are an API token (``Authorization: Bearer``, looked up in a short
read-only session off the event loop; the user found is kept for the route, ``api.credentials``) or
the pages' signed login cookie (its signature is checked; the route's own dependency then checks the
user behind it). Requests without a body go on to the routes,
which answer them as before. A refused page POST is sent to the login page (303) as the page would be.

Sizes: ``Settings.max_json_body_bytes`` (1 MiB by default) bounds every body; the routes that take files
name their own limit (``limits``, see ``api.app.FILE_ROUTE_LIMITS``). A declared length over the limit is
refused unread (413); the bytes are also counted while they stream in, so a client that declares no
length (chunked) or lies about it is cut off at the limit too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.credentials import bearer_token, token_user
from api.errors import error_response
from api.ui.access import ui_secret
from api.ui.session import COOKIE, verify
from gtqa.settings import Settings

# Routes an anonymous client may send a body to: the probes (which never read one) and the login form (a
# token, a few hundred bytes; still held to the size limit).
PUBLIC_BODIES = frozenset({"/healthz", "/readyz", "/ui/login"})

LimitOf = Callable[[Settings], int]


class BodyGuard:
    """Refuses an unauthenticated body unread (401) and sets each route's body limit; see the module."""

    def __init__(self, app: ASGIApp, *, limits: Mapping[str, LimitOf]) -> None:
        self.app = app
        self.limits = dict(limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not has_body(Headers(scope=scope)):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path not in PUBLIC_BODIES and not await _authenticated(HTTPConnection(scope)):
            await _refusal(path)(scope, _never, send)
            return
        settings: Settings = scope["app"].state.settings
        limit_of = self.limits.get(path)
        limit = settings.max_json_body_bytes if limit_of is None else limit_of(settings)
        length = Headers(scope=scope).get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await _too_large(limit)(scope, _never, send)
            return
        await self.app(scope, _Counted(receive, limit), send)


class _Counted:
    """A receive that counts the body as it streams in and stops it at ``limit`` bytes (413): the
    route's own error handling turns the exception into the API's error body."""

    def __init__(self, receive: Receive, limit: int) -> None:
        self.receive, self.limit, self.size = receive, limit, 0

    async def __call__(self) -> Message:
        message = await self.receive()
        if message["type"] == "http.request":
            self.size += len(message.get("body", b""))
            if self.size > self.limit:
                raise HTTPException(413, f"the body is limited to {self.limit} bytes")
        return message


def _refusal(path: str) -> Response:
    """What the route itself would answer an anonymous caller: a page sends the browser to log in."""
    if path.startswith("/ui/") and not path.startswith("/ui/api/"):
        return RedirectResponse(f"/ui/login?next={quote(path, safe='')}", status_code=303)
    message = "an API token (Authorization: Bearer <token>) or a login session is required"
    return error_response(401, "unauthenticated", message, headers={"WWW-Authenticate": "Bearer"})


def _too_large(limit: int) -> Response:
    return error_response(413, "payload_too_large", f"the body is limited to {limit} bytes")


def has_body(headers: Headers) -> bool:
    """Whether the request says a body follows (HTTP/1.1: a non-zero length or a chunked transfer)."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return True
    length = headers.get("content-length", "0").strip()
    return not length.isdigit() or int(length) > 0


async def _authenticated(conn: HTTPConnection) -> bool:
    token = bearer_token(conn.headers)
    if token is not None:  # the user found is kept for the route (``api.credentials``)
        return await run_in_threadpool(token_user, conn, token) is not None
    cookie = conn.cookies.get(COOKIE)
    if not cookie:
        return False
    secret = await run_in_threadpool(ui_secret, conn)
    return verify(secret, cookie, time.time()) is not None


async def _never() -> Message:
    raise AssertionError("a refused request's body is never read")
