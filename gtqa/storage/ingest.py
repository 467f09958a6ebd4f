"""Batches: storing a gtqa Dataset as one delivery, and reading its frames back as domain models.

Like every repository function here, these take a Session and never commit: the caller owns the
transaction (``with factory.begin() as session: ...``).

A delivery is stored from a ``FrameStream`` in slices of ``INGEST_SLICE_FRAMES`` frames, so the
ingesting process holds one slice of frames and rows at a time (plus one id per frame and per label
for the duplicate check), never the whole batch.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gtqa.domain import Dataset, Frame, FrameStream, InputProblem, Label
from gtqa.spec import CompiledSpec
from gtqa.storage.errors import IngestError, NotFoundError
from gtqa.storage.mapping import frame_values, label_values, prediction_values, to_frame, to_label
from gtqa.storage.models import BatchRow, DatasetRow, FrameRow, LabelRow, PredictionRow
from gtqa.storage.records import BatchRecord

INGEST_SLICE_FRAMES = 1000  # frames inserted at a time: ~6,000 KITTI labels, a few MB of rows


def ingest_batch(
    session: Session,
    dataset: Dataset | FrameStream,
    spec: CompiledSpec,
    *,
    vendor: str = "",
    team: str = "",
    due_date: date | None = None,
    source_path: str | None = None,
    idempotency_key: str | None = None,
    slice_frames: int = INGEST_SLICE_FRAMES,
) -> BatchRecord:
    """Store ``dataset`` as a new batch: all of it or, on any error, none of it. ``idempotency_key``
    (unique) lets a client's retry find this batch again (``batch_by_idempotency_key``).

    A stream is consumed here, ``slice_frames`` frames at a time, so memory is bounded by a slice, not
    the batch. All the slices are written inside one SAVEPOINT, so a failure at any slice (a duplicate id
    met late, a broken connection) leaves the caller's transaction as it was even if the caller goes
    on to commit: still all or nothing, at the price of one long transaction. The frame and label
    counts and the problems are written once the stream is exhausted (its problems are complete only
    then). Records the reader skipped are kept as the batch's ``problems`` (file and line of each);
    they are reported, not imported.
    """
    stream = dataset if isinstance(dataset, FrameStream) else FrameStream.of(dataset)
    try:
        with session.begin_nested():
            batch = _new_batch(session, stream, spec, vendor, team, due_date, source_path)
            batch.idempotency_key = idempotency_key
            _insert_stream(session, batch, stream, slice_frames)
    except IntegrityError as exc:
        raise IngestError(f"dataset {stream.name!r} was not stored: {exc.orig}") from exc
    return batch_record(session, batch.id)


def _insert_stream(session: Session, batch: BatchRow, stream: FrameStream, slice_frames: int) -> None:
    seen = _SeenIds(stream.name)
    frames = labels = 0
    for part in stream.slices(slice_frames):
        seen.check(part)
        frame_ids = _insert_frames(session, batch.id, part, first=frames)
        _insert_labels(session, batch.id, part, frame_ids)
        _insert_predictions(session, batch.id, part, frame_ids)
        frames += len(part)
        labels += sum(len(f.labels) for f in part)
    batch.frame_count, batch.label_count = frames, labels
    batch.problems = [p.model_dump(mode="json") for p in stream.problems]
    session.flush()


def batch_record(session: Session, batch_id: int) -> BatchRecord:
    row = session.execute(_batches().where(BatchRow.id == batch_id)).one_or_none()
    if row is None:
        raise NotFoundError(f"no batch {batch_id}")
    return _batch(row[0], row[1])


def batch_by_idempotency_key(session: Session, key: str) -> BatchRecord | None:
    """The batch a request with this ``Idempotency-Key`` made, if any."""
    row = session.execute(_batches().where(BatchRow.idempotency_key == key)).one_or_none()
    return None if row is None else _batch(row[0], row[1])


def list_batches(session: Session, *, dataset: str | None = None) -> list[BatchRecord]:
    query = _batches().order_by(BatchRow.id)
    if dataset is not None:
        query = query.where(DatasetRow.name == dataset)
    return [_batch(batch, name) for batch, name in session.execute(query)]


def _batches() -> Select[BatchRow, str]:
    return select(BatchRow, DatasetRow.name).join(DatasetRow)


def _batch(batch: BatchRow, name: str) -> BatchRecord:
    return BatchRecord(
        id=batch.id,
        dataset=name,
        vendor=batch.vendor,
        team=batch.team,
        format=batch.format,
        spec_version=batch.spec_version,
        spec_hash=batch.spec_hash,
        due_date=batch.due_date,
        source_path=batch.source_path,
        frame_count=batch.frame_count,
        label_count=batch.label_count,
        problems=tuple(InputProblem.model_validate(p) for p in batch.problems),
        created_at=batch.created_at,
    )


def load_frames(
    session: Session, batch_id: int, keys: Sequence[str] | None = None, *, predictions: bool = True
) -> list[Frame]:
    """Frames of a batch in reading order, with their labels and predictions (none when not
    ``predictions``); only ``keys`` if given (gtqa frame ids; unknown ones are an error, so a chunk never
    silently shrinks)."""
    query = select(FrameRow).where(FrameRow.batch_id == batch_id).order_by(FrameRow.position)
    if keys is not None:
        query = query.where(FrameRow.key.in_(list(keys)))
    frames = list(session.scalars(query))
    if keys is not None and len(frames) != len(set(keys)):
        missing = sorted(set(keys) - {f.key for f in frames})
        raise NotFoundError(f"batch {batch_id} has no frames {', '.join(missing[:10])}")
    labels, preds = _children(session, batch_id, [f.id for f in frames], keys is None, predictions)
    return [to_frame(f, labels[f.id], preds[f.id]) for f in frames]


def iter_frames(
    session: Session, batch_id: int, *, page: int = INGEST_SLICE_FRAMES, predictions: bool = False
) -> Iterator[Frame]:
    """Every frame of a batch in reading order, read ``page`` frames at a time (keyset on position),
    with their labels (and predictions if asked): a pass over the whole batch that holds one page, not
    the batch (``load_dataset`` held 3.5 GiB for 100,000 frames)."""
    last = -1
    while True:
        query = (
            select(FrameRow)
            .where(FrameRow.batch_id == batch_id, FrameRow.position > last)
            .order_by(FrameRow.position)
            .limit(page)
        )
        rows = list(session.scalars(query))
        if not rows:
            return
        labels, preds = _children(session, batch_id, [f.id for f in rows], False, predictions)
        yield from (to_frame(f, labels[f.id], preds[f.id]) for f in rows)
        last = rows[-1].position


def has_predictions(session: Session, batch_id: int) -> bool:
    """Whether any frame of the batch came with a detector's predictions."""
    query = select(PredictionRow.id).where(PredictionRow.batch_id == batch_id).limit(1)
    return session.scalar(query) is not None


def frame_keys_near(
    session: Session, batch_id: int, spans: Mapping[str, tuple[int, int]], window: int
) -> list[str]:
    """Keys of the batch's frames, in reading order, whose sequence is in ``spans`` and whose index in
    it lies within ``window`` frames of that sequence's span ``(first, last)`` (both inclusive)."""
    if not spans:
        return []
    near = [
        and_(FrameRow.sequence == seq, FrameRow.seq_index.between(lo - window, hi + window))
        for seq, (lo, hi) in spans.items()
    ]
    query = select(FrameRow.key).where(FrameRow.batch_id == batch_id, or_(*near)).order_by(FrameRow.position)
    return list(session.scalars(query))


def track_labels(
    session: Session, batch_id: int, sequence: str, track_id: int
) -> list[tuple[str, int, Label]]:
    """One track's labels in a batch's sequence, in frame order: (frame key, index in the sequence,
    label). Labels only (no predictions), so a track of a long sequence is one small query."""
    query = (
        select(LabelRow, FrameRow.key, FrameRow.seq_index)
        .join(FrameRow, FrameRow.id == LabelRow.frame_id)
        .where(LabelRow.batch_id == batch_id, LabelRow.track_id == track_id, FrameRow.sequence == sequence)
        .order_by(FrameRow.seq_index, LabelRow.position)
    )
    return [(key, int(index), to_label(row, key)) for row, key, index in session.execute(query)]


def load_dataset(session: Session, batch_id: int) -> Dataset:
    """A batch as the gtqa Dataset it was ingested from (root = its source path)."""
    record = batch_record(session, batch_id)
    return Dataset(
        name=record.dataset,
        format=record.format,
        root=record.source_path,
        frames=tuple(load_frames(session, batch_id)),
        problems=record.problems,
    )


class _SeenIds:
    """Frame and label ids met so far, to refuse a duplicate with its id named (the database's
    ``UNIQUE (batch_id, key)`` would refuse it too, but SQLite's message does not say which). One
    short string per frame and per label is all an ingest keeps of the slices already stored."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._ids: dict[str, set[str]] = {"frame": set(), "label": set()}

    def check(self, frames: Sequence[Frame]) -> None:
        for what, ids in (
            ("frame", [f.id for f in frames]),
            ("label", [lb.id for f in frames for lb in f.labels]),
        ):
            seen = self._ids[what]
            dupes = sorted({i for i, n in Counter(ids).items() if n > 1} | seen.intersection(ids))
            if dupes:
                raise IngestError(
                    f"dataset {self._name!r} was not stored: duplicate {what} ids {', '.join(dupes[:10])}"
                )
            seen.update(ids)


def _dataset_id(session: Session, name: str) -> int:
    found = session.scalar(select(DatasetRow.id).where(DatasetRow.name == name))
    if found is not None:
        return found
    try:
        with session.begin_nested():  # another ingest may be creating the same dataset right now
            row = DatasetRow(name=name)
            session.add(row)
        return row.id
    except IntegrityError:
        return session.scalars(select(DatasetRow.id).where(DatasetRow.name == name)).one()


def _new_batch(
    session: Session,
    stream: FrameStream,
    spec: CompiledSpec,
    vendor: str,
    team: str,
    due_date: date | None,
    source_path: str | None,
) -> BatchRow:
    batch = BatchRow(
        dataset_id=_dataset_id(session, stream.name),
        vendor=vendor,
        team=team,
        format=stream.format,
        spec_name=spec.name,
        spec_version=spec.version,
        spec_hash=spec.hash,
        due_date=due_date,
        source_path=source_path if source_path is not None else stream.root,
        frame_count=0,  # counted as the frames are stored
        label_count=0,
        problems=[],
    )
    session.add(batch)
    session.flush()
    return batch


def _insert_frames(session: Session, batch_id: int, frames: Sequence[Frame], *, first: int) -> list[int]:
    """Insert ``frames`` at positions ``first``, ``first + 1``, … of the batch; their row ids."""
    if not frames:
        return []
    rows = [frame_values(frame, batch_id, first + i) for i, frame in enumerate(frames)]
    stmt = insert(FrameRow).returning(FrameRow.id, sort_by_parameter_order=True)
    return list(session.scalars(stmt, rows))


def _insert_labels(session: Session, batch_id: int, frames: Sequence[Frame], frame_ids: list[int]) -> None:
    rows = [
        label_values(label, batch_id, frame_id, i)
        for frame, frame_id in zip(frames, frame_ids, strict=True)
        for i, label in enumerate(frame.labels)
    ]
    _bulk(session, LabelRow, rows)


def _insert_predictions(
    session: Session, batch_id: int, frames: Sequence[Frame], frame_ids: list[int]
) -> None:
    rows = [
        prediction_values(pred, batch_id, frame_id, i)
        for frame, frame_id in zip(frames, frame_ids, strict=True)
        for i, pred in enumerate(frame.predictions)
    ]
    _bulk(session, PredictionRow, rows)


def _bulk(session: Session, table: type[LabelRow | PredictionRow], rows: list[dict[str, Any]]) -> None:
    # render_nulls: the ORM's bulk insert otherwise drops None values from a row, so rows with and
    # without (say) a track id have different columns and go out as separate statements (about one
    # per three KITTI labels, where DontCare rows alternate with objects). Those columns have no
    # default, so NULL is what was stored either way; now a slice is one executemany.
    if rows:
        session.execute(insert(table).execution_options(render_nulls=True), rows)


def _children(
    session: Session, batch_id: int, frame_ids: list[int], whole_batch: bool, with_predictions: bool = True
) -> tuple[dict[int, list[LabelRow]], dict[int, list[PredictionRow]]]:
    # A whole batch is read by batch id rather than by a list of thousands of frame ids.
    labels: dict[int, list[LabelRow]] = defaultdict(list)
    where = LabelRow.batch_id == batch_id if whole_batch else LabelRow.frame_id.in_(frame_ids)
    for label in session.scalars(
        select(LabelRow).where(where).order_by(LabelRow.frame_id, LabelRow.position)
    ):
        labels[label.frame_id].append(label)
    predictions: dict[int, list[PredictionRow]] = defaultdict(list)
    if not with_predictions:
        return labels, predictions
    where = PredictionRow.batch_id == batch_id if whole_batch else PredictionRow.frame_id.in_(frame_ids)
    query = select(PredictionRow).where(where).order_by(PredictionRow.frame_id, PredictionRow.position)
    for pred in session.scalars(query):
        predictions[pred.frame_id].append(pred)
    return labels, predictions
