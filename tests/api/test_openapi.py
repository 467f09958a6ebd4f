"""The OpenAPI document is complete: every operation has a tag, a summary, a typed success response,
its roles, and its error responses documented with the one error body."""

from __future__ import annotations

from typing import Any

import pytest

from api.app import create_app
from gtqa.settings import Settings

PUBLIC = {"/healthz", "/readyz"}
FILES = {"application/x-ndjson", "text/csv", "application/zip", "image/png"}


@pytest.fixture
def document(settings: Settings) -> dict[str, Any]:
    return create_app(settings).openapi()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), p, op) for p, item in document["paths"].items() for m, op in item.items()]


def test_every_operation_is_tagged_summarised_and_typed(document: dict[str, Any]) -> None:
    known_tags = {t["name"] for t in document["tags"]}
    for method, path, op in _operations(document):
        where = f"{method} {path}"
        assert op.get("summary"), where
        assert op.get("tags") and set(op["tags"]) <= known_tags, where
        success = {s: r for s, r in op["responses"].items() if s.startswith("2")}
        assert success, where
        for response in success.values():
            content = response.get("content", {})
            if not content:
                continue  # 204
            typed = [c.get("schema") for t, c in content.items() if t == "application/json"]
            assert (typed and typed[0]) or set(content) & FILES or path == "/metrics", where


def test_errors_are_documented_with_the_error_body(document: dict[str, Any]) -> None:
    for method, path, op in _operations(document):
        where = f"{method} {path}"
        errors = {s: r for s, r in op["responses"].items() if s[0] in "45"}
        if path not in PUBLIC:
            assert {"401", "403", "422"} <= set(errors), where
            assert op["x-roles"] and op["security"] == [{"HTTPBearer": []}], where
        for status, response in errors.items():
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (where, status)
    error = document["components"]["schemas"]["ErrorDetail"]
    assert set(error["required"]) == {"code", "message"} and "details" in error["properties"]


def test_error_responses_match_the_documented_body(api) -> None:
    samples = [
        api.client.get("/api/v1/batches"),  # 401
        api.client.get("/api/v1/batches", headers=api.as_("auditor")),  # 403
        api.client.get("/api/v1/batches/12345", headers=api.as_("ops")),  # 404
        api.client.get("/api/v1/findings?min_score=x", headers=api.as_("ops")),  # 422
        api.client.get("/api/v1/nothing-here", headers=api.as_("ops")),  # 404 (no route)
        api.client.delete("/api/v1/batches", headers=api.as_("ops")),  # 405
    ]
    assert [r.status_code for r in samples] == [401, 403, 404, 422, 404, 405]
    for response in samples:
        body = response.json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
        assert body["error"]["code"] and body["error"]["message"]
    assert samples[3].json()["error"]["details"][0]["loc"] == ["query", "min_score"]
