"""Exports, streamed: findings and audits as JSONL or CSV, and a batch's labels with its auditors'
corrections applied, in the batch's own format."""

from __future__ import annotations

import shutil
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from api.deps import Operator, Reader, ReadSessionDep, ReadSessionsDep, SettingsDep
from api.errors import ApiError, errors
from api.exports import tables
from api.routes.params import FilterDep, IdPath, IdQuery
from api.routing import api_router
from api.schemas.common import NO_NUL
from gtqa.domain import InputFormatError
from gtqa.formats.export.corrections import scratch_folder, write_corrected
from gtqa.formats.export.snapshot import kept_or_given
from gtqa.storage import export_audits, kept_sources, load_dataset

router: APIRouter = api_router("exports")

JSONL, CSV = "application/x-ndjson", "text/csv"
SpecHash = Annotated[str | None, Query(max_length=64, pattern=NO_NUL)]


def _file(media: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {media: {"schema": {"type": "string"}}}, "description": "The file, streamed"}}


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


@router.get(
    "/exports/findings.jsonl",
    summary="Findings as JSONL (the gtqa findings file)",
    response_class=StreamingResponse,
    responses=_file(JSONL),
)
def findings_jsonl(_: Reader, sessions: ReadSessionsDep, where: FilterDep) -> StreamingResponse:
    body = tables.findings_jsonl(sessions, where)
    return StreamingResponse(body, media_type=JSONL, headers=_attachment("findings.jsonl"))


@router.get(
    "/exports/findings.csv", summary="Findings as CSV", response_class=StreamingResponse, responses=_file(CSV)
)
def findings_csv(_: Reader, sessions: ReadSessionsDep, where: FilterDep) -> StreamingResponse:
    body = tables.findings_csv(sessions, where)
    return StreamingResponse(body, media_type=CSV, headers=_attachment("findings.csv"))


@router.get(
    "/exports/audits.jsonl",
    summary="Audits as JSONL (the gtqa audit file)",
    response_class=StreamingResponse,
    responses=_file(JSONL),
)
def audits_jsonl(
    _: Reader, sessions: ReadSessionsDep, batch_id: IdQuery = None, spec_hash: SpecHash = None
) -> StreamingResponse:
    body = tables.audits_jsonl(sessions, batch_id, spec_hash)
    return StreamingResponse(body, media_type=JSONL, headers=_attachment("audits.jsonl"))


@router.get(
    "/exports/audits.csv", summary="Audits as CSV", response_class=StreamingResponse, responses=_file(CSV)
)
def audits_csv(
    _: Reader, sessions: ReadSessionsDep, batch_id: IdQuery = None, spec_hash: SpecHash = None
) -> StreamingResponse:
    body = tables.audits_csv(sessions, batch_id, spec_hash)
    return StreamingResponse(body, media_type=CSV, headers=_attachment("audits.csv"))


@router.get(
    "/exports/batches/{batch_id}/labels.zip",
    summary="A batch's labels with the auditors' corrections applied, in its own format",
    response_class=FileResponse,
    responses={**_file("application/zip"), **errors(404, 409)},
)
def corrected_labels(
    batch_id: IdPath, _: Operator, session: ReadSessionDep, settings: SettingsDep
) -> FileResponse:
    """Defect audits with a correction replace (or, for a missing object, add) the label; a confirmed
    spurious object without one is removed. ``corrections.json`` in the zip lists what each did.
    The batch's source files are patched (the same writer as ``gtqa export``), from the delivery's
    folder or, when that is gone, from the copy kept at ingest: 409 when neither holds its labels."""
    dataset = load_dataset(session, batch_id)
    audits = list(export_audits(session, batch_id=batch_id))
    folder = scratch_folder()
    try:
        readable = kept_or_given(dataset, kept_sources(settings.home), str(batch_id), folder / "source")
        archive = write_corrected(readable, audits, folder)
    except InputFormatError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise ApiError(409, "source_unavailable", f"cannot export the batch's labels: {exc}") from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    name = f"batch-{batch_id}-corrected.zip"
    return FileResponse(
        archive, media_type="application/zip", filename=name, background=BackgroundTask(shutil.rmtree, folder)
    )
