"""Ingestion: a delivery arrives as an uploaded archive or as a folder under the ingest root, is stored
whole (or not at all) with its review job, and the job goes to the workers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from starlette.concurrency import run_in_threadpool

from api.deps import DispatcherDep, Operator, Reader, ReadSessionDep, SessionsDep, SettingsDep
from api.errors import ApiError, errors
from api.ingest import upload
from api.ingest.paths import check_links_inside, resolve_under
from api.ingest.service import Source, ingest, replay
from api.routes.params import IdPath
from api.routing import api_router
from api.schemas.batches import BatchOut, IngestOptions, IngestResult, PathIngest
from gtqa.settings import Settings
from gtqa.storage import batch_record, list_batches

router: APIRouter = api_router("batches")

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="any unique string (a UUID): a retry with the same key returns the batch the first "
        "request made (200, replayed) instead of making a second one",
    ),
]


def _upload_body() -> dict[str, Any]:
    schema = IngestOptions.model_json_schema()
    schema["properties"] = {"archive": {"type": "string", "format": "binary"}, **schema["properties"]}
    schema["required"] = ["archive"]
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


@router.post(
    "/batches",
    summary="Ingest a dataset folder under the server's ingest root",
    status_code=201,
    response_model=IngestResult,
)
def ingest_path(
    body: PathIngest,
    _: Operator,
    settings: SettingsDep,
    sessions: SessionsDep,
    dispatcher: DispatcherDep,
    response: Response,
    key: IdempotencyKey = None,
) -> IngestResult:
    """The folder (relative to GTQA_INGEST_ROOT) is read in place, symlinks resolved: anything that leads
    outside the root is refused. Malformed records are reported with file:line and nothing is stored."""
    return _answer(
        response,
        replay(sessions, key)
        or ingest(settings, sessions, dispatcher, _path_source(settings, body.path), body, key),
    )


@router.post(
    "/batches/upload",
    summary="Ingest a dataset uploaded as a .zip or .tar.gz archive",
    status_code=201,
    response_model=IngestResult,
    responses=errors(400, 411, 413, 415),
    openapi_extra=_upload_body(),
)
async def ingest_upload(
    request: Request,
    _: Operator,
    settings: SettingsDep,
    sessions: SessionsDep,
    dispatcher: DispatcherDep,
    response: Response,
    key: IdempotencyKey = None,
) -> IngestResult:
    """Multipart form: ``archive`` (the file) and the options as fields. The archive is unpacked into a
    job folder under the server's home, refusing absolute names, ``..``, links and zip bombs."""
    replayed = await run_in_threadpool(replay, sessions, key)
    if replayed is not None:  # known key: the archive is not even read
        return _answer(response, replayed)
    upload.check_request(request, settings)
    form = await upload.read_form(request)
    try:
        options, archive = upload.form_options(form), upload.form_archive(form)
        if options.dataset is None:
            options = options.model_copy(update={"dataset": upload.archive_name(archive)})
        source = await run_in_threadpool(upload.unpack, archive, settings)
    finally:
        await form.close()
    result = await run_in_threadpool(ingest, settings, sessions, dispatcher, source, options, key)
    return _answer(response, result)


def _answer(response: Response, result: IngestResult) -> IngestResult:
    if result.replayed:
        response.status_code = 200
    return result


@router.get("/batches", summary="List batches", response_model=list[BatchOut])
def batches(_: Reader, session: ReadSessionDep) -> list[BatchOut]:
    return [BatchOut.of(b) for b in list_batches(session)]


@router.get("/batches/{batch_id}", summary="One batch", response_model=BatchOut, responses=errors(404))
def batch(batch_id: IdPath, _: Reader, session: ReadSessionDep) -> BatchOut:
    return BatchOut.of(batch_record(session, batch_id))


def _path_source(settings: Settings, path: str) -> Source:
    if settings.ingest_root is None:
        raise ApiError(422, "path_ingest_disabled", "this server has no ingest root (GTQA_INGEST_ROOT)")
    root = settings.ingest_root.resolve()
    found = resolve_under(root, root, path, "dataset")
    if found.is_dir():
        check_links_inside(found, root)
    return Source(root=found, boundary=root, shown_as=str(root))
