"""The QA specs: what batches are reviewed under (everyone reads; spec authors and admins upload)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from api.bodies import body_doc, read_body
from api.deps import AnyUser, SettingsDep, SpecAuthor
from api.errors import ApiError, errors, spec_problems
from api.routing import api_router
from api.schemas.common import NO_NUL
from api.schemas.specs import SpecOut, SpecSummary
from api.spec_lookup import default_spec, known_specs, lookup_spec, spec_folder
from gtqa.spec import SpecError
from gtqa.spec.store import save_spec

router: APIRouter = api_router("specs")

SPEC_TYPES = ("text/markdown", "text/x-markdown", "text/plain")
SPEC_LIMIT = 1 << 20  # bytes: a spec is prose and rule blocks, never megabytes
SpecRef = Annotated[
    str, Path(min_length=1, max_length=200, pattern=NO_NUL, description="hash, prefix or name")
]


@router.get("/specs", summary="List the specs (shipped and uploaded)", response_model=list[SpecSummary])
def specs(_: AnyUser, settings: SettingsDep) -> list[SpecSummary]:
    default = default_spec(settings).hash
    return [SpecSummary.of(s, default) for s in known_specs(settings)]


@router.get(
    "/specs/{ref}",
    summary="One compiled spec: rules, prose, hash",
    response_model=SpecOut,
    responses=errors(404),
)
def spec(ref: SpecRef, _: AnyUser, settings: SettingsDep) -> SpecOut:
    return SpecOut.full(lookup_spec(settings, ref), default_spec(settings).hash)


@router.post(
    "/specs",
    summary="Upload a new spec version (Markdown with rule blocks)",
    status_code=201,
    response_model=SpecOut,
    responses=errors(413, 415),
    openapi_extra=body_doc(SPEC_TYPES, "the spec's Markdown text"),
)
async def upload_spec(request: Request, _: SpecAuthor, settings: SettingsDep) -> SpecOut:
    """Compiled before it is kept: an invalid spec is refused with its file:line problems (422).
    Batches then name it by hash or name when they are ingested."""
    data = await read_body(request, limit=SPEC_LIMIT, types=SPEC_TYPES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(422, "invalid_spec", f"the spec is not UTF-8 text ({exc.reason})") from None
    try:
        saved = save_spec(text, spec_folder(settings), source="spec.md")
    except SpecError as exc:
        raise spec_problems(exc) from None
    return SpecOut.full(saved, default_spec(settings).hash)
