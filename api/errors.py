"""One error body for every 4xx and 5xx: ``{"error": {"code", "message", "details"}}``.

Storage, spec and format errors are mapped here once (not caught route by route); ``errors(...)``
documents the statuses a route can answer with in its OpenAPI entry.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from gtqa.domain import InputFormatError
from gtqa.spec import SpecError
from gtqa.spec.store import UnknownSpecError
from gtqa.storage import ClaimCapError, DecisionError, IngestError, LeaseError, NotFoundError

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine-readable reason, e.g. not_found, lease_lost")
    message: str = Field(description="what went wrong, for a human")
    details: list[Any] | dict[str, Any] | None = Field(
        default=None, description="e.g. the invalid fields, or file:line problems of an input"
    )


class ErrorBody(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    """An error the API answers with as is."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[Any] | dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details, self.headers = details, headers


_DESCRIPTIONS = {
    400: "The request cannot be read",
    401: "No valid API token (Authorization: Bearer <token>)",
    403: "The token's role may not do this",
    404: "No such resource (or not one this user may see)",
    409: "Conflicts with the resource's state (e.g. the claim is not held or has expired)",
    411: "The upload must declare its Content-Length",
    413: "The upload is larger than the server accepts",
    415: "The content type is not accepted here",
    422: "The input is invalid (fields, or file:line problems of an uploaded file)",
    503: "A dependency (the database) is not ready",
}

_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for error statuses, all with the error body."""
    return {status: {"model": ErrorBody, "description": _DESCRIPTIONS[status]} for status in statuses}


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[Any] | dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(error=ErrorDetail(code=code, message=message, details=details))
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    for kind, (status, code) in _MAPPED.items():
        app.add_exception_handler(kind, _mapped(status, code))
    app.add_exception_handler(Exception, _internal_error)


_MAPPED: dict[type[Exception], tuple[int, str]] = {
    NotFoundError: (404, "not_found"),
    UnknownSpecError: (404, "unknown_spec"),
    LeaseError: (409, "lease_lost"),
    ClaimCapError: (409, "claim_cap"),
    DecisionError: (422, "invalid_decision"),
    IngestError: (422, "invalid_dataset"),
}


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    code = _CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, message, headers=exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [validation_problem(e) for e in exc.errors()]
    return error_response(422, "validation_error", "the request is invalid", details)


def validation_problem(error: Any) -> dict[str, Any]:
    """A pydantic error without its input (which may be bytes, or a secret)."""
    return {
        "loc": [str(p) for p in error.get("loc", ())],
        "msg": str(error.get("msg", "")),
        "type": error.get("type"),
    }


def _mapped(status: int, code: str) -> Any:
    async def handler(_: Request, exc: Exception) -> JSONResponse:
        return error_response(status, code, str(exc))

    return handler


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "internal server error; the error was logged")


def spec_problems(exc: SpecError) -> ApiError:
    return ApiError(422, "invalid_spec", "the spec is invalid", details=list(exc.problems))


def input_problem(exc: InputFormatError, relative_to: str | None = None) -> ApiError:
    problem = exc.problem.model_dump(mode="json")
    if relative_to:
        problem["path"] = strip_prefix(problem["path"], relative_to)
    return ApiError(422, "invalid_input", strip_prefix(str(exc), relative_to), details=[problem])


def strip_prefix(text: str, prefix: str | None) -> str:
    """Server paths out of a message (an uploaded archive's files are named as in the archive)."""
    if not prefix:
        return text
    return text.replace(prefix.rstrip("/") + "/", "").replace(prefix, ".")
