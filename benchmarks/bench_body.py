"""What a large request body costs the API process: memory, and the time a probe waits meanwhile.

    .venv/bin/python benchmarks/bench_body.py [--mb 30]

The service runs as deployed (``uvicorn api.app:create_app --factory``, one process, a SQLite file, on a
free loopback port). Three bodies are sent, one after the other, each of ``--mb`` megabytes of JSON
(``[{},{},...]``; the nested one ``[[[...]]]``):

1. to ``POST /api/v1/batches`` with no token (the issue: it was parsed before the 401);
2. to the same route with an ops token (over the JSON body limit);
3. a nested body with an ops token, while ``GET /healthz`` is timed from another thread.

For each: the API process's resident memory (``VmRSS`` and its peak, ``VmHWM``, from ``/proc``) before
and after, the status, how long the answer took, and the slowest ``/healthz`` during the request.
Results go to ``benchmarks/out/body.json``.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from _common import OUT, REPO, run_info, write_json

from gtqa.storage import Role, create_user, make_engine, make_session_factory, upgrade

CHUNK = 1 << 16


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def service(url: str, home: Path) -> Iterator[tuple[str, int]]:
    """The API in a uvicorn process of its own: its base URL and process id."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GTQA_", "OPENAI_"))}
    env.update(GTQA_DATABASE_URL=url, GTQA_HOME=str(home), PYTHONUNBUFFERED="1")
    argv = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1",
            "--port", str(port), "--log-level", "warning", "--no-access-log"]  # fmt: skip
    with (home / "uvicorn.log").open("wb") as log:
        proc = subprocess.Popen(argv, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base, proc)
            yield base, proc.pid
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the service exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the service did not become ready within 60 s")


def memory_mb(pid: int) -> dict[str, float]:
    """Resident and peak resident memory of a process, MB (Linux ``/proc``)."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {k: int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM")}


def flat_body(mb: int) -> bytes:
    n = mb * 1_000_000 // 3
    return b"[" + b"{}," * n + b"{}]"


def nested_body(mb: int) -> bytes:
    n = mb * 1_000_000 // 2
    return b"[" * n + b"]" * n


def _stream(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), CHUNK):
        yield data[start : start + CHUNK]


class Prober(threading.Thread):
    """Times ``GET /healthz`` in a loop until stopped; the slowest answer, ms."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.base, self.stop, self.worst_ms = base, threading.Event(), 0.0

    def run(self) -> None:
        with httpx.Client(timeout=60) as client:
            while not self.stop.is_set():
                start = time.perf_counter()
                client.get(f"{self.base}/healthz")
                self.worst_ms = max(self.worst_ms, (time.perf_counter() - start) * 1000)
                time.sleep(0.05)


def send(base: str, pid: int, body: bytes, headers: dict[str, str], *, chunked: bool) -> dict[str, Any]:
    before = memory_mb(pid)
    prober = Prober(base)
    prober.start()
    start = time.perf_counter()
    content = _stream(body) if chunked else body
    try:
        with httpx.Client(timeout=120) as client:
            response = client.post(f"{base}/api/v1/batches", content=content, headers=headers)
        status: int | str = response.status_code
    except httpx.HTTPError as exc:  # the server may close the connection on a refused stream
        status = type(exc).__name__
    took = time.perf_counter() - start
    time.sleep(0.3)
    prober.stop.set()
    prober.join()
    after = memory_mb(pid)
    return {
        "bytes": len(body), "chunked": chunked, "status": status, "answer_s": round(took, 3),
        "rss_before_mb": round(before["VmRSS"], 1), "rss_after_mb": round(after["VmRSS"], 1),
        "peak_growth_mb": round(after["VmHWM"] - before["VmHWM"], 1),
        "healthz_worst_ms": round(prober.worst_ms, 1),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=30, help="size of each body, megabytes")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        home, url = Path(folder), f"sqlite:///{Path(folder) / 'bench.sqlite'}"
        upgrade(url)
        engine = make_engine(url)
        with make_session_factory(engine).begin() as session:
            _, token = create_user(session, "bench-ops", Role.ops)
        engine.dispose()
        json_type = {"Content-Type": "application/json"}
        ops = {**json_type, "Authorization": f"Bearer {token}"}
        flat, nested = flat_body(args.mb), nested_body(args.mb)
        runs: dict[str, Any] = {}
        with service(url, home) as (base, pid):
            runs["unauthenticated"] = send(base, pid, flat, json_type, chunked=False)
            runs["unauthenticated_chunked"] = send(base, pid, flat, json_type, chunked=True)
            runs["authenticated_oversized"] = send(base, pid, flat, ops, chunked=False)
            runs["authenticated_oversized_chunked"] = send(base, pid, flat, ops, chunked=True)
            runs["authenticated_nested_chunked"] = send(base, pid, nested, ops, chunked=True)
    result = {"run": run_info(), "mb": args.mb, "runs": runs}
    for name, run in runs.items():
        print(f"{name:34s} {run}")
    write_json(OUT / "body.json", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
