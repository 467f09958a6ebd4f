"""Who is looking at a page: the login cookie (``api.ui.session``) or, as on the JSON API, a Bearer token.

Pages are for browsers: without a session they redirect to the login page, and a role that may not see
one gets a small HTML 403. The pages' own JSON calls (``/ui/api/...``) answer with the API's error body
instead. A POST authenticated by the cookie must carry the session's CSRF token (``X-CSRF-Token``) and,
when the browser sends one, an ``Origin`` that is this site; the cookie is also ``SameSite=Strict``.
A Bearer token is not sent by a browser on its own, so Bearer calls need no CSRF token.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from starlette.requests import HTTPConnection

from api.credentials import bearer_token, token_user
from api.deps import ReadSessionsDep
from api.errors import error_response
from api.routing import declared_roles
from api.ui.session import COOKIE, PageSession, csrf_matches, csrf_token, load_secret, verify
from api.ui.templates import render
from gtqa.spec.store import UnknownSpecError
from gtqa.storage import NotFoundError, Role, UserRecord, user_by_fingerprint

CSRF_HEADER = "x-csrf-token"
_secret_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Viewer:
    user: UserRecord
    session: PageSession | None  # None: authenticated by a Bearer token
    csrf: str  # the token this session's POSTs carry ("" for Bearer)


class PageDeniedError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def ui_secret(conn: HTTPConnection) -> bytes:
    """The deployment's UI secret, read once per app."""
    state = conn.app.state
    with _secret_lock:
        if getattr(state, "ui_secret", None) is None:
            state.ui_secret = load_secret(state.settings.home)
    secret: bytes = state.ui_secret
    return secret


def current_viewer(request: Request, sessions: ReadSessionsDep) -> Viewer:
    token = bearer_token(request.headers)
    if token is not None:
        user = token_user(request, token, sessions)
        if user is None:
            raise PageDeniedError(401, "unauthenticated", "the API token is not valid")
        return Viewer(user, None, "")
    secret = ui_secret(request)
    page = verify(secret, request.cookies.get(COOKIE, ""), time.time())
    if page is None:
        raise PageDeniedError(401, "unauthenticated", "log in first")
    with sessions() as session:
        found = user_by_fingerprint(session, page.user_id, page.fingerprint)
    if found is None:
        raise PageDeniedError(401, "unauthenticated", "the session ended (token rotated or user deactivated)")
    return Viewer(found, page, csrf_token(secret, page))


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


class PageRole:
    """Admits the viewer only in one of ``roles`` (403 otherwise); ``post`` also checks CSRF."""

    def __init__(self, *roles: Role, post: bool = False) -> None:
        self.roles, self.post = frozenset(roles), post

    def __call__(self, request: Request, viewer: ViewerDep) -> Viewer:
        if viewer.user.role not in self.roles:
            allowed = ", ".join(sorted(r.value for r in self.roles))
            raise PageDeniedError(403, "forbidden", f"a {viewer.user.role.value} may not do this ({allowed})")
        if self.post and viewer.session is not None:
            check_csrf(request, ui_secret(request), viewer.session, request.headers.get(CSRF_HEADER))
        return viewer


def check_csrf(request: Request, secret: bytes, session: PageSession, given: str | None) -> None:
    if not same_origin(request):
        raise PageDeniedError(403, "csrf", "a request from another site")
    if not csrf_matches(secret, session, given):
        raise PageDeniedError(403, "csrf", "the CSRF token is missing or wrong: reload the page")


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site (``Sec-Fetch-Site``) or names
    another host as its ``Origin``. The host, not the scheme, is compared: behind a TLS-terminating proxy
    the app sees http for an https page."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.url.netloc


AUDIT_ROLES = (Role.auditor, Role.admin)
OPS_ROLES = (Role.ops, Role.admin)
READ_ROLES = (Role.spec_author, Role.ops, Role.admin)

AuditorPage = Annotated[Viewer, Depends(PageRole(*AUDIT_ROLES))]
AuditorPost = Annotated[Viewer, Depends(PageRole(*AUDIT_ROLES, post=True))]
OpsPage = Annotated[Viewer, Depends(PageRole(*OPS_ROLES))]
ReaderPage = Annotated[Viewer, Depends(PageRole(*READ_ROLES))]
AnyPage = Annotated[Viewer, Depends(PageRole(*Role))]
AnyPost = Annotated[Viewer, Depends(PageRole(*Role, post=True))]


class PageRoute(APIRoute):
    """Turns a refusal into what the caller can use: a login redirect or an HTML page for a page, the
    API's JSON error body for the pages' JSON calls under ``/ui/api/``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        is_json = self.path.startswith("/ui/api/")

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except PageDeniedError as exc:
                return _denied_json(exc) if is_json else _denied_page(request, exc)
            except (NotFoundError, UnknownSpecError) as exc:
                if is_json:
                    raise
                return render(request, "error.html", {"status": 404, "message": str(exc)}, status=404)

        return guarded


def page_roles(route: APIRoute) -> frozenset[str] | None:
    """The roles a UI route admits (None: public, e.g. the login page)."""
    return declared_roles(route, PageRole)


def _denied_json(exc: PageDeniedError) -> Response:
    return error_response(exc.status, exc.code, exc.message)


def _denied_page(request: Request, exc: PageDeniedError) -> Response:
    if exc.status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/ui/login?next={quote(target, safe='')}", status_code=303)
    return render(request, "error.html", {"status": exc.status, "message": exc.message}, status=exc.status)
