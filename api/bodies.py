"""Raw request bodies (a spec, an audit file), read after the caller is authenticated, within a limit."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from api.errors import ApiError


async def read_body(request: Request, *, limit: int, types: tuple[str, ...]) -> bytes:
    """The body, if its content type is one of ``types`` (415) and it is at most ``limit`` bytes (413)."""
    declared = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if declared not in types:
        raise ApiError(
            415, "unsupported_media_type", f"send {' or '.join(types)}, not {declared or 'nothing'}"
        )
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise ApiError(413, "payload_too_large", f"the body is limited to {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "payload_too_large", f"the body is limited to {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def body_doc(types: tuple[str, ...], description: str) -> dict[str, Any]:
    """The OpenAPI request body of a raw-text route."""
    content = {t: {"schema": {"type": "string"}} for t in types}
    return {"requestBody": {"required": True, "description": description, "content": content}}
