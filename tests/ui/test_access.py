"""Who may open which page: one rule per UI route, checked against the app's own routes (a route without
a rule, or a rule without a route, fails), then every route requested on the running server with no
session, and logged in as every role. Pages without a session redirect to the login page; the pages'
JSON calls answer 401. A cookie-authenticated POST needs the session's CSRF token. (The JSON API has its
own matrix, tests/api/test_auth_matrix.py, which leaves these routes out.)"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from api.ui import ui_routes
from api.ui.access import page_roles
from api.ui.session import COOKIE, csrf_token, load_secret, verify

ALL = frozenset({"auditor", "spec_author", "ops", "admin"})
READ = frozenset({"spec_author", "ops", "admin"})
OPS = frozenset({"ops", "admin"})
AUDIT = frozenset({"auditor", "admin"})
PUBLIC = None

RULES: dict[tuple[str, str], frozenset[str] | None] = {
    ("GET", "/ui"): ALL,
    ("GET", "/ui/login"): PUBLIC,
    ("POST", "/ui/login"): PUBLIC,
    ("POST", "/ui/logout"): ALL,
    ("GET", "/ui/review"): AUDIT,
    ("POST", "/ui/api/next"): AUDIT,
    ("POST", "/ui/api/items/{item_id}/decision"): AUDIT,
    ("POST", "/ui/api/items/{item_id}/skip"): AUDIT,
    ("POST", "/ui/api/items/{item_id}/extend"): AUDIT,
    ("POST", "/ui/api/items/{item_id}/release"): AUDIT,
    ("GET", "/ui/items/{item_id}/image"): ALL,
    ("GET", "/ui/items/{item_id}"): ALL,  # read only; an auditor only the items they hold or decided
    ("GET", "/ui/api/items/{item_id}/view"): ALL,
    ("GET", "/ui/dashboard"): OPS,
    ("GET", "/ui/dashboard.csv"): OPS,
    ("GET", "/ui/batches/{batch_id}/acceptance"): OPS,
    ("GET", "/ui/batches/{batch_id}/acceptance.csv"): OPS,
    ("POST", "/ui/calibrations/{version_id}/rollback"): OPS,
    ("GET", "/ui/specs"): READ,
    ("GET", "/ui/specs/{ref}"): READ,
    ("GET", "/ui/prompts"): READ,
    ("GET", "/ui/static/{name}"): PUBLIC,
}
HOME = {"auditor": "/ui/review", "ops": "/ui/dashboard", "admin": "/ui/dashboard", "spec_author": "/ui/specs"}


def _url(path: str) -> str:
    path = path.replace("{ref}", "no-such-spec").replace("{name}", "ui.css")
    return re.sub(r"\{\w+_id\}", "999999", path)


def _routes() -> dict[tuple[str, str], frozenset[str] | None]:
    return {(method, path): page_roles(route) for method, path, route in ui_routes()}


def test_every_ui_route_has_a_rule_and_declares_it() -> None:
    routes = _routes()
    assert set(routes) - set(RULES) == set(), "UI routes without a rule in RULES"
    assert set(RULES) - set(routes) == set(), "rules for UI routes that no longer exist"
    for key, roles in routes.items():
        assert roles == RULES[key], key


@contextmanager
def _client(site, role: str | None) -> Iterator[tuple[httpx.Client, str]]:
    """A client logged in as ``role`` through the login form (or none), and its CSRF token."""
    with httpx.Client(base_url=site.url, follow_redirects=False, timeout=30) as client:
        if role is None:
            yield client, ""
            return
        response = client.post("/ui/login", data={"token": site.tokens[role]})
        assert response.status_code == 303 and response.headers["location"] == HOME[role]
        secret = load_secret(site.settings.home)
        session = verify(secret, client.cookies[COOKIE], time.time())
        assert session is not None
        yield client, csrf_token(secret, session)


def _call(client: httpx.Client, method: str, path: str, csrf: str) -> httpx.Response:
    if method == "GET":
        return client.get(_url(path))
    if path == "/ui/logout":
        return client.post(path, data={"csrf": csrf})
    if path == "/ui/login":
        return client.post(path, data={"token": "not-a-token"})
    return client.post(_url(path), json={}, headers={"X-CSRF-Token": csrf} if csrf else {})


def _check(response: httpx.Response, method: str, path: str, role: str | None) -> None:
    allowed = RULES[(method, path)]
    where = (method, path, role, response.status_code, response.text[:200])
    assert response.status_code < 500, where
    if allowed is PUBLIC:
        assert response.status_code in (200, 401), where  # 401: a wrong token, the form shown again
    elif role is None and path.startswith("/ui/api/"):
        assert response.status_code == 401, where
        assert response.json()["error"]["code"] == "unauthenticated", where
    elif role is None:
        assert response.status_code == 303, where
        target = urlsplit(response.headers["location"])
        assert target.path == "/ui/login", where
        assert parse_qs(target.query)["next"] == [_url(path)], where
    elif role in allowed:
        assert response.status_code not in (401, 403), where
    elif path.startswith("/ui/api/"):
        assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden", where
    else:
        assert response.status_code == 403 and "Not for your role" in response.text, where


@pytest.mark.parametrize("role", [None, "auditor", "spec_author", "ops", "admin"])
def test_every_ui_route_admits_exactly_its_roles(site, role: str | None) -> None:
    for method, path in sorted(RULES):
        with _client(site, role) as (client, csrf):  # a new session each time: logging out ends one
            _check(_call(client, method, path, csrf), method, path, role)


def test_a_post_without_the_csrf_token_or_from_another_site_is_refused(site) -> None:
    with _client(site, "auditor") as (client, csrf):
        missing = client.post("/ui/api/next", json={})
        assert missing.status_code == 403 and missing.json()["error"]["code"] == "csrf"
        wrong = client.post("/ui/api/next", json={}, headers={"X-CSRF-Token": "0" * 64})
        assert wrong.status_code == 403
        foreign = {"X-CSRF-Token": csrf, "Origin": "http://evil.example"}
        assert client.post("/ui/api/next", json={}, headers=foreign).status_code == 403
        cross = {"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"}
        assert client.post("/ui/api/next", json={}, headers=cross).status_code == 403
        assert client.post("/ui/api/next", json={}, headers={"X-CSRF-Token": csrf}).status_code == 200
        assert client.post("/ui/logout", data={}).status_code == 403, "logging out needs the token too"
        login = client.post("/ui/login", data={"token": site.tokens["auditor"]},
                            headers={"Origin": "http://evil.example"})  # fmt: skip
        assert login.status_code == 403


def test_logging_out_ends_the_session_and_a_rotated_token_ends_it_too(site) -> None:
    from gtqa.storage import rotate_token, user_by_name

    with _client(site, "ops") as (client, csrf):
        assert client.get("/ui/dashboard").status_code == 200
        out = client.post("/ui/logout", data={"csrf": csrf})
        assert out.status_code == 303 and out.headers["location"] == "/ui/login"
        assert client.get("/ui/dashboard").status_code == 303
    with _client(site, "ops") as (client, _):
        with site.sessions.begin() as session:
            user = user_by_name(session, "ops")
            assert user is not None
            rotate_token(session, user.id)
        assert client.get("/ui/dashboard").status_code == 303


def test_login_never_redirects_off_the_site(site) -> None:
    with httpx.Client(base_url=site.url, follow_redirects=False) as client:
        for target in ("//evil.example/ui", "https://evil.example/", "/api/v1/me", "/ui/specs"):
            response = client.post("/ui/login", data={"token": site.tokens["ops"], "next": target})
            expected = "/ui/specs" if target == "/ui/specs" else "/ui/dashboard"
            assert response.headers["location"] == expected, target
        wrong = client.post("/ui/login", data={"token": "nope"})
        assert wrong.status_code == 401 and "That token is not valid" in wrong.text
