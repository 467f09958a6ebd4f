"""docker-compose.yml, read as data (there is no Docker engine in CI): the services a deployment needs,
each with a healthcheck, wired to the same database and broker, started in a safe order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gtqa.settings import Settings

REPO = Path(__file__).resolve().parents[2]
GTQA_SERVICES = ("migrate", "api", "worker", "beat")


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_every_service_is_there_with_a_healthcheck() -> None:
    services = _compose()["services"]
    assert set(services) >= {"api", "worker", "beat", "redis", "postgres", "flower", "migrate"}
    for name, service in services.items():
        if name != "migrate":  # a one-shot job: it exits
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_gtqa_services_share_the_database_the_broker_and_home() -> None:
    services = _compose()["services"]
    envs = [services[name]["environment"] for name in GTQA_SERVICES]
    for key in ("GTQA_DATABASE_URL", "GTQA_BROKER_URL", "GTQA_HOME"):
        assert len({env[key] for env in envs}) == 1, key
    env = envs[0]
    assert (
        env["GTQA_DATABASE_URL"].startswith("postgresql+psycopg://")
        and "@postgres:5432/" in env["GTQA_DATABASE_URL"]
    )
    assert env["GTQA_BROKER_URL"].startswith("redis://redis:6379/")
    assert set(env) - {"OPENAI_API_KEY"} <= {f"GTQA_{name.upper()}" for name in Settings.model_fields}, (
        "every GTQA_ variable names a setting"
    )
    for name in ("api", "worker"):
        assert any(v.endswith(":/var/lib/gtqa") for v in services[name]["volumes"])
        assert any(v.endswith(":/data:ro") for v in services[name]["volumes"])


def test_services_start_after_the_migration_and_their_dependencies() -> None:
    services = _compose()["services"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"
    assert services["api"]["command"][:3] == ["uvicorn", "api.app:create_app", "--factory"]
    assert services["worker"]["command"][:2] == ["gtqa", "worker"]
    assert services["beat"]["command"] == ["gtqa", "beat"]
    assert services["migrate"]["command"] == ["python", "-m", "gtqa.storage", "upgrade"]


def test_the_image_holds_what_the_services_read() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    for folder in ("gtqa", "cli", "agents", "workers", "api", "evals", "prompts", "specs"):
        assert f"COPY {folder} ./{folder}" in dockerfile
