"""The database-backed frame source gives the reviewer exactly what the in-memory one does: a chunk's
frames in the order asked, and the same sequence context."""

from __future__ import annotations

import pytest

from agents.context import DatasetSource
from gtqa.storage import NotFoundError, job_record, make_session_factory
from workers.source import DbFrameSource


@pytest.mark.parametrize("window", [0, 3, 10])
def test_frames_and_context_match_the_in_memory_source(local_stack, ingested, tracking_data, window):
    job_id = ingested(local_stack, tracking_data)
    with local_stack.sessions() as session:
        batch_id = job_record(session, job_id).batch_id
    reads = make_session_factory(local_stack.sessions.kw["bind"], read_only=True)
    db, memory = DbFrameSource(reads, batch_id), DatasetSource(tracking_data)
    ids = [f.id for f in tracking_data.frames]
    for chunk in (ids[:16], ids[100:116], ids[-5:], list(reversed(ids[40:48]))):
        frames = db.frames(chunk)
        assert frames == memory.frames(chunk)
        context = db.context(frames, window)
        assert sorted(f.id for f in context) == sorted(f.id for f in memory.context(frames, window))
        assert context == sorted(memory.context(frames, window), key=lambda f: ids.index(f.id))
        assert not {f.id for f in context} & set(chunk)


def test_an_unknown_frame_is_an_error(local_stack, ingested, tracking_data):
    job_id = ingested(local_stack, tracking_data)
    with local_stack.sessions() as session:
        batch_id = job_record(session, job_id).batch_id
    with pytest.raises(NotFoundError, match="0016/999999"):
        DbFrameSource(local_stack.sessions, batch_id).frames(["0016/000001", "0016/999999"])
