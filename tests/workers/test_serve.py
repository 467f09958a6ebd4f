"""``gtqa serve``: the whole service on the embedded default (API, a worker with the reconciler's
schedule, SQLite and the filesystem broker) started as the README's main command starts it, a dataset
reviewed through it, and a second start that finds the dataset already there (the real command)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from gtqa.storage import user_by_token
from gtqa.storage.models import BatchRow, FindingRow, ReviewItemRow

pytestmark = pytest.mark.slow  # starts the service twice

REPO = Path(__file__).resolve().parents[2]


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
        # the first start's tokens were kept: a restart logs no one out
        assert (stack.home / "demo-tokens.txt").read_text().splitlines() == tokens
        assert all(user_by_token(session, line.split("\t")[2]) is not None for line in tokens)


def test_serve_stops_with_an_error_when_the_port_is_taken(embedded_stack, tracking):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = embedded_stack.gtqa("serve", "--exit-when-done", "--port", port, timeout=200)
    assert done.returncode == 1
    assert "the api process stopped" in done.stderr


def _processes_of(home: str) -> list[int]:
    """Live processes started with GTQA_HOME=home (the service's children inherit it)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            env = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"GTQA_HOME={home}".encode() in env:
            found.append(int(proc.name))
    return found


def test_a_terminated_service_stops_its_api_and_worker(embedded_stack):
    stack = embedded_stack
    port = _free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--port", str(port), "-c", "1"], env=stack.env(), cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and serve.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.25)
        else:
            pytest.fail(f"the service did not come up: {serve.communicate(timeout=5)[0]}")
        children = [pid for pid in _processes_of(str(stack.home)) if pid != serve.pid]
        assert len(children) >= 2  # the API and the worker (and the worker's pool)
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        if serve.poll() is None:
            serve.kill()
    deadline = time.monotonic() + 30
    while _processes_of(str(stack.home)) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert _processes_of(str(stack.home)) == []
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
