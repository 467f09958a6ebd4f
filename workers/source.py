"""Frames for the reviewer graph, read from the database: a chunk's own frames by key, and the frames of
their sequences within the context window (what ``agents.context.DatasetSource`` does in memory).

The agent never imports storage; this adapter lives with the workers and reads through short read-only
sessions (SQLite: no write lock held while frames are read).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session, sessionmaker

from gtqa.domain import Frame
from gtqa.storage import frame_keys_near, load_frames


class DbFrameSource:
    """The frames of one batch. Implements ``agents.context.FrameSource``."""

    def __init__(self, reads: sessionmaker[Session], batch_id: int) -> None:
        self._reads = reads
        self._batch_id = batch_id

    def frames(self, frame_ids: Sequence[str]) -> list[Frame]:
        """The frames, in the order asked for; an unknown id is an error (``NotFoundError``)."""
        with self._reads() as session:
            by_id = {f.id: f for f in load_frames(session, self._batch_id, frame_ids)}
        return [by_id[i] for i in frame_ids]

    def context(self, frames: Sequence[Frame], window: int) -> list[Frame]:
        """Frames of the chunk's sequences within ``window`` frames of it, the chunk itself excluded,
        in reading order."""
        spans: dict[str, tuple[int, int]] = {}
        for f in frames:
            if f.sequence is not None:
                lo, hi = spans.get(f.sequence, (f.index, f.index))
                spans[f.sequence] = (min(lo, f.index), max(hi, f.index))
        if not spans:
            return []
        own = {f.id for f in frames}
        with self._reads() as session:
            keys = [k for k in frame_keys_near(session, self._batch_id, spans, window) if k not in own]
            return load_frames(session, self._batch_id, keys) if keys else []
