"""Bodies: an unauthenticated request is refused before a byte of its body is read, every body is held
to a small limit counted while it streams, and the routes that take files keep their own limit."""

from __future__ import annotations

import asyncio
import io
import json
import os
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import API_PREFIX as V1
from api.app import create_app
from api.deps import get_dispatcher

BIG_JSON = b"[" + b"{}," * 400_000 + b"{}]"  # 1.2 MB of JSON, the shape that cost 700 MB unauthenticated


class Probe:
    """An ASGI receive that counts how often the app asked for the body."""

    def __init__(self, body: bytes) -> None:
        self.body, self.calls = body, 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        return {"type": "http.request", "body": self.body, "more_body": False}


def _call(app: Any, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any], Probe]:
    probe, sent = Probe(body), []
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": raw, "client": ("127.0.0.1", 1), "server": ("testserver", 80),
    }  # fmt: skip

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, probe, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body), probe


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Cookie": "gtqa_session=forged.value"}],
    ids=["no credentials", "unknown token", "forged cookie"],
)
@pytest.mark.parametrize("path", [f"{V1}/batches", f"{V1}/queue/next", f"{V1}/users", "/ui/api/next"])
def test_an_unauthenticated_body_is_refused_without_being_read(
    api, path: str, headers: dict[str, str]
) -> None:
    status, body, probe = _call(api.app, path, BIG_JSON, {"Content-Type": "application/json", **headers})
    assert (status, body["error"]["code"]) == (401, "unauthenticated")
    assert probe.calls == 0


def test_an_authenticated_body_is_read_and_answered_by_its_route(api) -> None:
    headers = {**api.as_("ops"), "Content-Type": "application/json"}
    status, body, probe = _call(api.app, f"{V1}/batches", b"{}", headers)
    assert (status, body["error"]["code"]) == (422, "validation_error")
    assert probe.calls == 1


def test_the_login_form_takes_a_body_without_credentials(api) -> None:
    response = api.client.post("/ui/login", data={"token": api.tokens["auditor"]}, follow_redirects=False)
    assert response.status_code == 303
    assert response.cookies


def test_a_json_body_over_the_limit_is_refused_when_declared(api) -> None:
    response = api.client.post(
        f"{V1}/batches", content=BIG_JSON, headers={**api.as_("ops"), "Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()["error"]["code"]) == (413, "payload_too_large")
    assert len(BIG_JSON) > api.settings.max_json_body_bytes


def _chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_a_json_body_over_the_limit_is_refused_while_streaming_without_a_length(api) -> None:
    headers = {**api.as_("ops"), "Content-Type": "application/json"}
    response = api.client.post(f"{V1}/batches", content=_chunks(BIG_JSON), headers=headers)
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert (response.status_code, response.json()["error"]["code"]) == (413, "payload_too_large")


def _client_with(api, **update: Any) -> TestClient:
    app = create_app(api.settings.model_copy(update=update))
    app.dependency_overrides[get_dispatcher] = lambda: api.dispatcher
    return TestClient(app)


def test_the_json_limit_is_a_setting(api) -> None:
    body = json.dumps({"path": "x" * 100})
    headers = {**api.as_("ops"), "Content-Type": "application/json"}
    with _client_with(api, max_json_body_bytes=64) as client:
        response = client.post(f"{V1}/batches", content=body, headers=headers)
    assert response.status_code == 413


def test_the_archive_upload_keeps_its_own_limit_above_the_json_one(api, kitti, tmp_path) -> None:
    folder = kitti.small(tmp_path / "kitti")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        for path in sorted(folder.rglob("*.txt")):
            zf.writestr(f"kitti/{path.relative_to(folder)}", path.read_bytes())
        zf.writestr("kitti/notes.bin", os.urandom(64 * 1024))
    data = buffer.getvalue()
    assert len(data) < api.settings.max_upload_bytes
    files = {"archive": ("kitti.zip", data, "application/zip")}
    with _client_with(api, max_json_body_bytes=len(data) // 4) as client:
        response = client.post(f"{V1}/batches/upload", files=files, headers=api.as_("ops"))
    assert response.status_code == 201, response.text


def test_a_token_is_looked_up_once_per_request_though_the_guard_and_the_route_both_ask(
    api, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from gtqa.storage import user_by_token

    lookups: list[str] = []

    def counted(session: Any, token: str) -> Any:
        lookups.append(token)
        return user_by_token(session, token)

    for name, module in list(sys.modules.items()):  # wherever the api imported it
        if name.startswith("api") and getattr(module, "user_by_token", None) is user_by_token:
            monkeypatch.setattr(module, "user_by_token", counted)
    headers = {**api.as_("ops"), "Content-Type": "application/json"}
    status, _, _ = _call(api.app, f"{V1}/batches", b"{}", headers)  # the guard, then the route's Operator
    assert status == 422 and len(lookups) == 1
    lookups.clear()
    page = api.client.post("/ui/api/next", headers=api.as_("auditor"), json={})  # the guard, then the viewer
    assert page.status_code < 500 and len(lookups) == 1
