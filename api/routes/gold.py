"""Gold items: ops seed known-answer items into a job's stream; auditors' answers on them are scored
(the dashboard's auditors table). The items look like any other to an auditor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.bodies import body_doc, read_body
from api.deps import Operator, SessionsDep, SettingsDep
from api.errors import ApiError, errors, input_problem
from api.routing import api_router
from api.schemas.common import MAX_ID
from gtqa.domain import GoldAnswer, InputFormatError
from gtqa.formats.gold import parse_gold
from gtqa.storage import NotFoundError, job_record, seed_gold

router: APIRouter = api_router("queue")

CSV_TYPES = ("text/csv", "application/csv")
JSONL_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines", "text/plain")
JobQuery = Annotated[int, Query(ge=1, le=MAX_ID, description="the job whose stream the items join")]


class GoldSeeded(BaseModel):
    read: int = Field(description="known answers in the file")
    item_ids: list[int] = Field(description="the gold items queued, one per answer")


@router.post(
    "/queue/gold",
    summary="Seed gold (known-answer) items into a job's stream",
    status_code=201,
    response_model=GoldSeeded,
    responses=errors(404, 413, 415, 422),
    openapi_extra=body_doc(
        (*JSONL_TYPES, *CSV_TYPES), "gtqa audit JSONL, or CSV with frame,label,verdict[,issue_type]"
    ),
)
async def seed(
    request: Request, user: Operator, settings: SettingsDep, sessions: SessionsDep, job_id: JobQuery
) -> GoldSeeded:
    """All answers or none: a bad line, or a label the job's batch lacks, is reported with its line and
    nothing is queued. Items go one every ``gold_every`` items of the stream."""
    data = await read_body(request, limit=settings.max_upload_bytes, types=(*JSONL_TYPES, *CSV_TYPES))
    is_csv = request.headers.get("content-type", "").split(";")[0].strip() in CSV_TYPES
    try:
        answers = parse_gold(data.decode("utf-8"), "<upload>", csv_format=is_csv)
    except UnicodeDecodeError as exc:
        raise ApiError(422, "invalid_input", f"<upload>: not UTF-8 text ({exc.reason})") from None
    except InputFormatError as exc:
        raise input_problem(exc) from None
    return await run_in_threadpool(_store, sessions, job_id, answers, user.name, settings.gold_every)


def _store(
    sessions: sessionmaker[Session], job_id: int, answers: list[GoldAnswer], by: str, every: int
) -> GoldSeeded:
    with sessions.begin() as session:
        job_record(session, job_id)  # 404 for an unknown job
        try:
            ids = seed_gold(session, job_id, answers, seeded_by=by, every=every)
        except NotFoundError as exc:
            raise ApiError(422, "unknown_label", str(exc)) from None
    return GoldSeeded(read=len(answers), item_ids=ids)
