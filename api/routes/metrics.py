"""Operational metrics: a JSON summary, and the Prometheus endpoint (``gtqa.telemetry``'s metrics,
the database-backed gauges refreshed at every scrape)."""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.orm import Session

from api.deps import Operator, ReadSessionDep
from api.queries.precision import precision_by_type
from api.routing import api_router
from api.schemas.metrics import MetricsSummary
from gtqa import telemetry
from gtqa.storage import audits_by_verdict, chunk_seconds, jobs_by_status, judge_spend, queue_counts

QUANTILES = (0.5, 0.9, 0.99)

router: APIRouter = api_router("metrics")
prometheus: APIRouter = api_router("metrics")


@router.get(
    "/metrics/summary", summary="Queue, jobs, audits and flag precision", response_model=MetricsSummary
)
def summary(_: Operator, session: ReadSessionDep) -> MetricsSummary:
    return MetricsSummary(
        queue={status.value: n for status, n in queue_counts(session).items()},
        jobs=jobs_by_status(session),
        audits=audits_by_verdict(session),
        precision=precision_by_type(session),
    )


@prometheus.get(
    "/metrics",
    summary="Prometheus metrics (bearer token of an ops or admin user)",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}, "description": "Metrics"}
    },
)
def metrics(_: Operator, session: ReadSessionDep) -> Response:
    _refresh(session)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _refresh(session: Session) -> None:
    for status, n in queue_counts(session).items():
        telemetry.QUEUE_ITEMS.labels(status=status.value).set(n)
    for status_name, n in jobs_by_status(session).items():
        telemetry.REVIEW_JOBS.labels(status=status_name).set(n)
    durations = chunk_seconds(session)
    for q in QUANTILES:
        value = float(np.quantile(durations, q)) if durations else float("nan")
        telemetry.CHUNK_SECONDS.labels(quantile=str(q)).set(value)
    spend = judge_spend(session).values()
    telemetry.JUDGE_CALLS.set(sum(s.calls for s in spend))
    telemetry.JUDGE_COST_USD.set(sum(s.cost_usd for s in spend))
