"""Who may call what: one rule per route, checked against the app's own routes (a route without a rule,
or a rule without a route, fails) and then called for real with every role, a bad token and none."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from api.app import create_app
from api.routing import route_roles
from gtqa.settings import Settings

ALL = frozenset({"auditor", "spec_author", "ops", "admin"})
READ = frozenset({"spec_author", "ops", "admin"})
OPS = frozenset({"ops", "admin"})
AUDIT = frozenset({"auditor", "admin"})
SPEC = frozenset({"spec_author", "admin"})
ADMIN = frozenset({"admin"})
PUBLIC = None

V1 = "/api/v1"
RULES: dict[tuple[str, str], frozenset[str] | None] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): OPS,
    ("POST", f"{V1}/batches"): OPS,
    ("POST", f"{V1}/batches/upload"): OPS,
    ("GET", f"{V1}/batches"): READ,
    ("GET", f"{V1}/batches/{{batch_id}}"): READ,
    ("GET", f"{V1}/jobs"): READ,
    ("GET", f"{V1}/jobs/{{job_id}}"): READ,
    ("POST", f"{V1}/jobs/{{job_id}}/enqueue"): OPS,
    ("POST", f"{V1}/jobs/{{job_id}}/queue"): OPS,
    ("GET", f"{V1}/jobs/{{job_id}}/chunks"): READ,
    ("POST", f"{V1}/jobs/{{job_id}}/chunks/rerun"): OPS,
    ("GET", f"{V1}/findings"): ALL,  # auditors: the batches they work on
    ("GET", f"{V1}/queue"): ALL,
    ("POST", f"{V1}/queue/next"): AUDIT,
    ("POST", f"{V1}/queue/skipped/return"): OPS,
    ("POST", f"{V1}/queue/gold"): OPS,
    ("GET", f"{V1}/queue/items/{{item_id}}"): ALL,  # auditors: items they hold or decided
    ("GET", f"{V1}/queue/items/{{item_id}}/image"): ALL,
    ("POST", f"{V1}/queue/items/{{item_id}}/decision"): AUDIT,
    ("POST", f"{V1}/queue/items/{{item_id}}/release"): AUDIT,
    ("POST", f"{V1}/queue/items/{{item_id}}/skip"): AUDIT,
    ("POST", f"{V1}/queue/items/{{item_id}}/extend"): AUDIT,
    ("GET", f"{V1}/audits"): ALL,  # auditors: their own
    ("POST", f"{V1}/audits/import"): OPS,
    ("GET", f"{V1}/exports/findings.jsonl"): READ,
    ("GET", f"{V1}/exports/findings.csv"): READ,
    ("GET", f"{V1}/exports/audits.jsonl"): READ,
    ("GET", f"{V1}/exports/audits.csv"): READ,
    ("GET", f"{V1}/exports/batches/{{batch_id}}/labels.zip"): OPS,
    ("GET", f"{V1}/specs"): ALL,
    ("GET", f"{V1}/specs/{{ref}}"): ALL,
    ("POST", f"{V1}/specs"): SPEC,
    ("GET", f"{V1}/evals/runs"): READ,
    ("GET", f"{V1}/calibrations"): READ,
    ("POST", f"{V1}/calibrations/refit"): OPS,
    ("POST", f"{V1}/calibrations/{{version_id}}/rollback"): OPS,
    ("GET", f"{V1}/metrics/summary"): OPS,
    ("GET", f"{V1}/me"): ALL,
    ("GET", f"{V1}/users"): ADMIN,
    ("POST", f"{V1}/users"): ADMIN,
    ("POST", f"{V1}/users/{{user_id}}/token"): ADMIN,
    ("PATCH", f"{V1}/users/{{user_id}}"): ADMIN,
}


UI_PREFIX = "/ui"  # the pages: cookie sessions and CSRF, their own matrix in tests/ui/test_access.py


def _routes(settings: Settings) -> dict[tuple[str, str], APIRoute]:
    """Every API route with its full path (included routers keep their routes unprefixed). The pages
    under /ui are left out: they are not in the OpenAPI document, take a login cookie rather than a
    Bearer token, and redirect to the login page instead of answering 401."""
    app = create_app(settings)
    found = {}
    for ctx in iter_route_contexts(app.routes):
        path = str(ctx.path)
        if path == UI_PREFIX or path.startswith(f"{UI_PREFIX}/"):
            continue
        if isinstance(ctx.original_route, APIRoute) and ctx.include_in_schema:
            found.update({(method, path): ctx.original_route for method in ctx.methods or ()})
    return found


def test_the_pages_are_left_to_their_own_matrix(settings: Settings) -> None:
    from api.ui import ui_routes

    pages = {(method, path) for method, path, _ in ui_routes()}
    assert pages, "the app serves the pages"
    assert pages.isdisjoint(_routes(settings)) and pages.isdisjoint(RULES)


def test_every_route_has_a_rule_and_every_rule_a_route(settings: Settings) -> None:
    routes = set(_routes(settings))
    assert routes - set(RULES) == set(), "routes without an auth rule in RULES"
    assert set(RULES) - routes == set(), "rules for routes that no longer exist"


def test_the_roles_a_route_declares_are_its_rule(settings: Settings) -> None:
    for key, route in _routes(settings).items():
        assert route_roles(route) == RULES[key], key
        documented, rule = (route.openapi_extra or {}).get("x-roles"), RULES[key]
        assert documented == (sorted(rule) if rule is not None else None), key


def _url(path: str) -> str:
    return re.sub(r"\{ref\}", "no-such-spec", re.sub(r"\{\w+_id\}", "999999", path))


IDENTITIES = [None, "bad-token", "auditor", "spec_author", "ops", "admin"]


@pytest.mark.parametrize(("method", "path"), sorted(RULES))
def test_route_admits_exactly_its_roles(api, method: str, path: str) -> None:
    allowed = RULES[(method, path)]
    for who in IDENTITIES:
        headers = api.as_(who) if who in api.tokens else {}
        if who == "bad-token":
            headers = {"Authorization": "Bearer not-a-token"}
        response = api.client.request(method, _url(path), headers=headers, json={})
        assert response.status_code < 500, (method, path, who, response.text)
        if allowed is PUBLIC:
            assert response.status_code == 200, (method, path, who)
        elif who in (None, "bad-token"):
            assert response.status_code == 401, (method, path, who)
            assert response.headers["www-authenticate"] == "Bearer"
            assert response.json()["error"]["code"] == "unauthenticated"
        elif who in allowed:
            assert response.status_code not in (401, 403), (method, path, who, response.text)
        else:
            assert response.status_code == 403, (method, path, who, response.text)
            assert response.json()["error"]["code"] == "forbidden"


def test_a_deactivated_user_is_refused(api) -> None:
    me = api.client.get(f"{V1}/me", headers=api.as_("auditor")).json()
    assert api.client.patch(
        f"{V1}/users/{me['id']}", json={"active": False}, headers=api.as_("admin")
    ).is_success
    response = api.client.get(f"{V1}/me", headers=api.as_("auditor"))
    assert response.status_code == 401
