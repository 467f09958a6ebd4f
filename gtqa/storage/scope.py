"""What part of the programme the ops dashboard's reads cover: a date range, a vendor, a team, a batch.

Applied in the queries (as WHERE clauses), so a filtered dashboard reads only its batches' rows. The
two kinds of facts take the range differently: a queue decision counts when it was made in the range
(``audits.created_at``); a batch is in scope when it was ingested in the range or had a queue decision in
it (its items, progress and due date are then read whole: an SLA is about the batch, not the week).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, or_, select
from sqlalchemy.orm import Session

from gtqa.domain import AuditSource
from gtqa.storage.models import AuditRow, BatchRow, DatasetRow
from gtqa.storage.types import UTCDateTime

QUEUE = (AuditSource.queue, AuditSource.spot_check)


@dataclass(frozen=True)
class Scope:
    """A filter of the dashboard; None everywhere is the whole programme. ``start`` is inclusive and
    ``end`` exclusive (aware UTC datetimes: the page turns its dates into whole UTC days)."""

    start: datetime | None = None
    end: datetime | None = None
    vendor: str | None = None
    team: str | None = None
    batch: int | None = None

    @property
    def dated(self) -> bool:
        return self.start is not None or self.end is not None


EVERYTHING = Scope()


def in_range(scope: Scope, column: Any) -> list[ColumnElement[bool]]:
    """``column`` (a timestamp) within the scope's date range; no clause without one."""
    clauses: list[ColumnElement[bool]] = []
    if scope.start is not None:
        clauses.append(column >= _at(scope.start))
    if scope.end is not None:
        clauses.append(column < _at(scope.end))
    return clauses


def batch_ids(scope: Scope) -> Select[Any] | None:
    """The ids of the batches in scope, as a subquery; None when every batch is."""
    where = _batch_where(scope)
    return select(BatchRow.id).where(*where) if where else None


def of_batches(scope: Scope, column: Any) -> list[ColumnElement[bool]]:
    """``column`` (a batch id) among the scope's batches; no clause when every batch is."""
    ids = batch_ids(scope)
    return [] if ids is None else [column.in_(ids.scalar_subquery())]


def decisions_in(scope: Scope) -> list[ColumnElement[bool]]:
    """Queue decisions (audits made in the queue) of the scope: its batches, made in its range."""
    return [
        AuditRow.source.in_(QUEUE),
        *of_batches(scope, AuditRow.batch_id),
        *in_range(scope, AuditRow.created_at),
    ]


@dataclass(frozen=True)
class Choices:
    """What the dashboard's filter offers: every vendor, team and batch (id, dataset name) there is."""

    vendors: list[str]
    teams: list[str]
    batches: list[tuple[int, str]]


def choices(session: Session) -> Choices:
    rows = session.execute(
        select(BatchRow.id, DatasetRow.name, BatchRow.vendor, BatchRow.team)
        .join(DatasetRow, DatasetRow.id == BatchRow.dataset_id)
        .order_by(BatchRow.id)
    ).all()
    return Choices(
        sorted({v for _, _, v, _ in rows if v}), sorted({t for _, _, _, t in rows if t}),
        [(int(i), str(name)) for i, name, _, _ in rows],
    )  # fmt: skip


def _batch_where(scope: Scope) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if scope.vendor is not None:
        where.append(BatchRow.vendor == scope.vendor)
    if scope.team is not None:
        where.append(BatchRow.team == scope.team)
    if scope.batch is not None:
        where.append(BatchRow.id == scope.batch)
    if scope.dated:
        decided = exists().where(
            AuditRow.batch_id == BatchRow.id,
            AuditRow.source.in_(QUEUE),
            *in_range(scope, AuditRow.created_at),
        )
        ingested = in_range(scope, BatchRow.created_at)
        where.append(or_(and_(*ingested), decided))
    return where


def _at(moment: datetime) -> Any:
    return bindparam(None, moment, type_=UTCDateTime())
