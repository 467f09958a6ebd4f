"""Users and tokens (admins, and the ``gtqa users`` command), and the health endpoints."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from cli.main import app as cli
from gtqa.settings import Settings, get_settings

V1 = "/api/v1"


def test_an_admin_creates_users_whose_tokens_work(api) -> None:
    created = api.client.post(
        f"{V1}/users", json={"name": "carol", "role": "auditor"}, headers=api.as_("admin")
    )
    assert created.status_code == 201
    token = created.json()["token"]
    me = api.client.get(f"{V1}/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert (me["name"], me["role"]) == ("carol", "auditor")
    again = api.client.post(f"{V1}/users", json={"name": "carol", "role": "ops"}, headers=api.as_("admin"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "user_exists"
    bad_role = api.client.post(f"{V1}/users", json={"name": "dan", "role": "god"}, headers=api.as_("admin"))
    assert bad_role.status_code == 422


def test_rotating_a_token_retires_the_old_one(api) -> None:
    me = api.client.get(f"{V1}/me", headers=api.as_("ops")).json()
    rotated = api.client.post(f"{V1}/users/{me['id']}/token", headers=api.as_("admin")).json()
    assert api.client.get(f"{V1}/me", headers=api.as_("ops")).status_code == 401
    assert (
        api.client.get(f"{V1}/me", headers={"Authorization": f"Bearer {rotated['token']}"}).status_code == 200
    )
    assert api.client.post(f"{V1}/users/999999/token", headers=api.as_("admin")).status_code == 404


def test_an_admin_cannot_lock_themselves_out(api) -> None:
    me = api.client.get(f"{V1}/me", headers=api.as_("admin")).json()
    response = api.client.patch(f"{V1}/users/{me['id']}", json={"active": False}, headers=api.as_("admin"))
    assert response.status_code == 409 and response.json()["error"]["code"] == "self_lockout"
    users = api.client.get(f"{V1}/users", headers=api.as_("admin")).json()
    assert {u["name"] for u in users} == {"auditor", "spec_author", "ops", "admin"}


@pytest.fixture
def cli_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The CLI reads the environment (through the cached ``get_settings``): point it at the test database."""
    monkeypatch.setenv("GTQA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("GTQA_HOME", str(settings.home))
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


def test_the_cli_creates_a_user_and_prints_a_working_token(api, cli_settings: Settings) -> None:
    result = CliRunner().invoke(cli, ["users", "create", "erin", "--role", "spec_author"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    me = api.client.get(f"{V1}/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert (me["name"], me["role"]) == ("erin", "spec_author")
    duplicate = CliRunner().invoke(cli, ["users", "create", "erin", "--role", "admin"])
    assert duplicate.exit_code == 2 and "error: there is already a user 'erin'" in duplicate.output
    rotated = CliRunner().invoke(cli, ["users", "token", "erin"])
    assert rotated.exit_code == 0 and rotated.stdout.strip() != token
    assert api.client.get(f"{V1}/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_health_needs_no_token_and_readiness_checks_the_database(api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["revision"]


@pytest.mark.parametrize(
    "url", ["sqlite:///{tmp}/never-migrated.sqlite", "postgresql+psycopg://nobody@127.0.0.1:1/none"]
)
def test_not_ready_without_a_migrated_reachable_database(tmp_path, url: str) -> None:
    settings = Settings(home=tmp_path, database_url=url.format(tmp=tmp_path))
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
        assert client.get("/healthz").status_code == 200
    assert response.status_code == 503
    assert response.json()["error"]["code"] in ("database_not_migrated", "database_unavailable")
