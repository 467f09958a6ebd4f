"""``gtqa serve`` supervises its children: a worker killed (SIGKILL to its whole process group) is
restarted after its back-off and logged, the API answers throughout, the restarted worker reviews a job,
and only a signal to the parent stops everything."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow  # the whole service, a worker restart and a reviewed sequence

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker_leader(home: Path) -> int | None:
    """The service's worker: the leader of its own process group, started as ``cli worker``."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            env = (proc / "environ").read_bytes().split(b"\0")
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            leader = os.getpgid(int(proc.name)) == int(proc.name)
        except (OSError, ProcessLookupError):
            continue
        if f"GTQA_HOME={home}".encode() in env and b"worker" in argv and leader:
            return int(proc.name)
    return None


class HealthProbe(threading.Thread):
    """Asks /healthz every 50 ms; counts answers and failures."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.ok, self.failed = url, 0, []  # type: ignore[var-annotated]
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=5.0) as client:
            while not self.stop.is_set():
                try:
                    status = client.get(self.url).status_code
                except httpx.HTTPError as exc:
                    self.failed.append(repr(exc))
                else:
                    if status == 200:
                        self.ok += 1
                    else:
                        self.failed.append(str(status))
                time.sleep(0.05)


def test_a_killed_worker_is_restarted_and_the_api_answers_throughout(embedded_stack, tracking) -> None:
    stack = embedded_stack
    stack.extra_env.update(GTQA_RESTART_BACKOFF_S="0.5", GTQA_RESTART_BACKOFF_MAX_S="4")
    port = _free_port()
    out = (stack.home.parent / "serve.out").open("wb")
    serve = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--port", str(port), "-c", "1"],
        env=stack.env(), cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
    )  # fmt: skip
    probe = HealthProbe(f"http://127.0.0.1:{port}/healthz")
    try:
        stack.wait_until("the API", lambda: _healthy(probe.url) or serve.poll() is not None, timeout=120)
        assert serve.poll() is None, (stack.home.parent / "serve.out").read_text()
        stack.wait_until("the worker", lambda: _worker_leader(stack.home) is not None)
        first = _worker_leader(stack.home)
        assert first is not None
        probe.start()
        os.killpg(first, signal.SIGKILL)
        stack.wait_until("a new worker", lambda: _worker_leader(stack.home) not in (None, first), 60)

        job_id = stack.submit(tracking, "-p", str(tracking / "detections"))
        assert stack.wait_job(job_id, timeout=240).status == "done"
        probe.stop.set()
        probe.join(timeout=10)
        assert serve.poll() is None  # the parent never stopped
        assert probe.failed == [] and probe.ok > 20
        log = (stack.home / "logs" / "worker.log").read_text()
        assert "gtqa serve: the worker process stopped (exit status -9); restarting it in 0.5s" in log
        assert "gtqa serve: restarting the worker process (restart 1)" in log

        serve.send_signal(signal.SIGTERM)  # only a signal to the parent stops all
        assert serve.wait(timeout=60) == 128 + signal.SIGTERM
        deadline = time.monotonic() + 30
        while _worker_leader(stack.home) is not None and time.monotonic() < deadline:
            time.sleep(0.25)
        assert _worker_leader(stack.home) is None
        assert not _healthy(probe.url)
    finally:
        probe.stop.set()
        if serve.poll() is None:
            serve.kill()
        out.close()


def _healthy(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(url, timeout=1.0).status_code == 200
    return False
