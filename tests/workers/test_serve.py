"""``gtqa serve``: the whole service on the embedded default (API, a worker with the reconciler's
schedule, SQLite and the filesystem broker) started as the README's main command starts it, a dataset
reviewed through it, and a second start that finds the dataset already there (the real command)."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import func, select

from gtqa.storage import user_by_token
from gtqa.storage.models import BatchRow, FindingRow, ReviewItemRow

pytestmark = pytest.mark.slow  # starts the service twice


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_reviews_a_dataset_end_to_end_and_does_not_ingest_it_twice(embedded_stack, tracking):
    stack = embedded_stack
    port = str(_free_port())
    args = ("serve", str(tracking), "--exit-when-done", "--port", port, "-c", "2", "--demo-users")
    first = stack.gtqa(*args, timeout=400)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "job 1 (batch 1): done, 209/209 frames" in first.stdout
    assert f"http://127.0.0.1:{port}/ui/login" in first.stdout
    with stack.sessions() as session:
        findings = session.scalar(select(func.count()).select_from(FindingRow))
        items = session.scalar(select(func.count()).select_from(ReviewItemRow))
        assert findings and items and items >= findings  # every flag queued, plus spot checks
        tokens = (stack.home / "demo-tokens.txt").read_text().splitlines()
        assert [line.split("\t")[:2] for line in tokens] == [
            ["auditor", "auditor"], ["ops", "ops"], ["spec-author", "spec_author"], ["admin", "admin"],
        ]  # fmt: skip
        for line in tokens:
            user = user_by_token(session, line.split("\t")[2])
            assert user is not None and user.name == line.split("\t")[0]
    assert oct((stack.home / "demo-tokens.txt").stat().st_mode & 0o777) == "0o600"

    again = stack.gtqa(*args, timeout=400)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already ingested (batch 1, job 1)" in again.stderr
    with stack.sessions() as session:
        assert session.scalar(select(func.count()).select_from(BatchRow)) == 1
        assert session.scalar(select(func.count()).select_from(FindingRow)) == findings
        # the first start's tokens were replaced
        assert user_by_token(session, tokens[0].split("\t")[2]) is None


def test_serve_stops_with_an_error_when_the_port_is_taken(embedded_stack, tracking):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = embedded_stack.gtqa("serve", "--exit-when-done", "--port", port, timeout=200)
    assert done.returncode == 1
    assert "the api process stopped" in done.stderr
