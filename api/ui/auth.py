"""Logging in to the pages with an API token (exchanged for the session cookie), and out again."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import ReadSessionsDep
from api.ui.access import AnyPage, PageDeniedError, PageRoute, check_csrf, same_origin, ui_secret
from api.ui.session import COOKIE, COOKIE_PATH, MAX_AGE_S, issue
from api.ui.templates import render
from gtqa.storage import Role, user_by_token
from gtqa.storage.users import hash_token

router = APIRouter(route_class=PageRoute)

HOME = {
    Role.auditor: "/ui/review",
    Role.ops: "/ui/dashboard",
    Role.admin: "/ui/dashboard",
    Role.spec_author: "/ui/specs",
}


@router.get("/ui", name="home")
def home(viewer: AnyPage) -> RedirectResponse:
    return RedirectResponse(HOME[viewer.user.role], status_code=303)


@router.get("/ui/login", response_class=HTMLResponse, name="login")
def login_page(request: Request, next: str = "") -> HTMLResponse:
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/ui/login", response_class=HTMLResponse, name="login_submit")
def login(
    request: Request,
    sessions: ReadSessionsDep,
    token: Annotated[str, Form(max_length=512)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """A valid token starts a session (an HttpOnly, SameSite=Strict cookie scoped to /ui); a wrong one
    shows the form again with 401."""
    if not same_origin(request):
        return _form_again(request, next, "The login form must be sent from this site.", 403)
    with sessions() as session:
        user = user_by_token(session, token.strip()) if token.strip() else None
    if user is None:
        return _form_again(request, next, "That token is not valid (unknown, rotated or deactivated).", 401)
    cookie = issue(ui_secret(request), user.id, hash_token(token.strip()), time.time())
    response = RedirectResponse(_safe_next(next) or HOME[user.role], status_code=303)
    response.set_cookie(
        COOKIE, cookie, max_age=MAX_AGE_S, path=COOKIE_PATH, httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


@router.post("/ui/logout", name="logout")
def logout(request: Request, viewer: AnyPage, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    if viewer.session is None:
        raise PageDeniedError(400, "bad_request", "only a page session can log out")
    check_csrf(request, ui_secret(request), viewer.session, csrf)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")
    return response


def _form_again(request: Request, next: str, error: str, status: int) -> HTMLResponse:
    return render(request, "login.html", {"next": _safe_next(next), "error": error}, status=status)


def _safe_next(target: str) -> str:
    """Only a page of this site: never another host (``//evil``), never outside the pages."""
    if target.startswith("/ui") and not target.startswith("//") and "\\" not in target:
        return target
    return ""
