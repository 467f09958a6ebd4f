"""The service's throughput: frames per second reviewed through the queue by 1 and 2 worker processes
(and the scaling ratio), and the ingest rate of ``ingest_batch``; on PostgreSQL + Redis and on the
embedded default (SQLite + the filesystem broker).

    .venv/bin/python benchmarks/bench_workers.py [--stack redis+postgresql|filesystem+sqlite ...]
        [--copies 3] [--chunk-size 64] [--workers 1 2] [--repeat 3]

Queue throughput: ``--copies`` copies of KITTI tracking 0016 with its PointRCNN detections (209 frames,
4,145 labels each; each copy a sequence of its own) are ingested as one batch with one review job; ``N``
worker processes
(``gtqa worker -c 1`` each, prefork, as ``docker compose --scale worker=N`` would run them) are started
and waited for until ready, then every job is enqueued at once and the clock runs until the last job is
done. The time includes what a real job pays: each worker process reads the job's batch once to compute
its plan (dataset statistics, checks, scorer), the queue's round trips, the leases and the findings'
writes. The judge is off (no endpoint): this measures the service around the heuristics. The machine's
CPU count bounds the scaling: two worker processes cannot go faster than two cores allow, and other work
on the machine shows up in the numbers (the load average is recorded before and after each run).

Ingest: ``ingest_batch`` of the same dataset in one transaction, best of ``--repeat``; frames/s and
labels/s (predictions are written too: 1.3 per label here).

PostgreSQL comes from ``GTQA_BENCH_POSTGRES_URL`` (default: the local server, database test; a database
is created per run and dropped), Redis from ``GTQA_BENCH_REDIS_URL`` (an empty database number is
claimed and flushed afterwards). Results: ``benchmarks/out/workers.json``.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from _common import BENCH_POSTGRES_URL, OUT, REPO, best_of, data_dir, fresh_database, run_info, write_json
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from gtqa.domain import Dataset
from gtqa.formats import load_dataset
from gtqa.settings import Settings
from gtqa.spec import CompiledSpec, load_spec
from gtqa.storage import (
    JobStatus,
    create_review_job,
    ingest_batch,
    make_engine,
    make_session_factory,
    upgrade,
)
from gtqa.storage.models import ReviewJobRow

REDIS_DEFAULT = "redis://127.0.0.1:6379"
GTQA = [sys.executable, "-c", "from cli.main import main; main()"]
console = Console()


@dataclass
class Stack:
    name: str
    database_url: str
    broker_url: str
    home: Path

    def env(self, chunk_size: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GTQA_", "OPENAI_"))}
        env.update(
            GTQA_DATABASE_URL=self.database_url,
            GTQA_BROKER_URL=self.broker_url,
            GTQA_HOME=str(self.home),
            GTQA_CHUNK_SIZE=str(chunk_size),
            PYTHONUNBUFFERED="1",
        )
        return env

    def settings(self) -> Settings:
        return Settings(
            _env_file=None, database_url=self.database_url, broker_url=self.broker_url, home=self.home
        )


@contextmanager
def postgres_stack(folder: Path) -> Iterator[Stack]:
    broker, client = _claim_redis(os.environ.get("GTQA_BENCH_REDIS_URL", REDIS_DEFAULT))
    try:
        with fresh_database("postgresql", BENCH_POSTGRES_URL, prefix="gtqa_bench_workers") as url:
            upgrade(url)
            yield Stack("redis+postgresql", url, broker, folder / "home")
    finally:
        client.flushdb()


@contextmanager
def embedded_stack(folder: Path) -> Iterator[Stack]:
    home = folder / "home"
    url = f"sqlite:///{home / 'gtqa.sqlite'}"
    upgrade(url)
    yield Stack("filesystem+sqlite", url, "", home)


def _claim_redis(base: str) -> tuple[str, redis.Redis]:
    token = f"bench:{socket.gethostname()}:{os.getpid()}"
    for db in range(15, 0, -1):
        client = redis.Redis.from_url(f"{base.rstrip('/')}/{db}")
        if client.set("gtqa-test:claimed-by", token, nx=True, ex=3600) and client.dbsize() == 1:
            return f"{base.rstrip('/')}/{db}", client
        client.close()
    raise SystemExit(f"no empty Redis database number at {base}")


def copies(data: Dataset, n: int) -> Dataset:
    """``n`` copies of a dataset as one, each copy's frames, labels and sequences renamed ``c<k>/…``."""
    frames = []
    for k in range(n):
        for f in data.frames:
            fid = f"c{k}/{f.id}"
            labels = tuple(lab.model_copy(update={"id": f"c{k}/{lab.id}", "frame": fid}) for lab in f.labels)
            preds = tuple(p.model_copy(update={"frame": fid}) for p in f.predictions)
            sequence = f"c{k}/{f.sequence}" if f.sequence is not None else None
            frames.append(
                f.model_copy(update={"id": fid, "sequence": sequence, "labels": labels, "predictions": preds})
            )
    return data.model_copy(update={"frames": tuple(frames)})


def _ingest_job(stack: Stack, data: Dataset, spec: CompiledSpec, chunk_size: int) -> int:
    engine = make_engine(stack.database_url, pool_size=1)
    try:
        with make_session_factory(engine).begin() as session:
            batch = ingest_batch(session, data, spec)
            return create_review_job(session, batch.id, spec_hash=spec.hash, chunk_size=chunk_size).id
    finally:
        engine.dispose()


def _start_workers(stack: Stack, n: int, chunk_size: int, logs: Path) -> list[subprocess.Popen[bytes]]:
    procs = []
    for i in range(n):
        log = logs / f"{stack.name}-w{n}-{i}.log"
        argv = [*GTQA, "worker", "-c", "1", "--name", f"bench{i}@{socket.gethostname()}", "-l", "info"]
        with log.open("wb") as out:
            procs.append(
                subprocess.Popen(
                    argv, env=stack.env(chunk_size), cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while " ready." not in log.read_text(errors="replace"):
            if time.monotonic() > deadline or procs[-1].poll() is not None:
                raise SystemExit(f"worker did not start:\n{log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)
    return procs


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        with suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=30)


def queue_run(
    stack: Stack, data: Dataset, spec: CompiledSpec, args: argparse.Namespace, workers: int
) -> dict[str, Any]:
    from workers.app import create_app
    from workers.dispatch import enqueue_job

    job = _ingest_job(stack, data, spec, args.chunk_size)
    procs = _start_workers(stack, workers, args.chunk_size, Path(args.logs))
    engine = make_engine(stack.database_url, pool_size=1)
    sessions = make_session_factory(engine)
    load_before = os.getloadavg()[0]
    try:
        app = create_app(stack.settings())
        start = time.perf_counter()
        sent = enqueue_job(job, sessions=sessions, app=app)
        while True:
            with sessions() as session:
                status = session.scalar(select(ReviewJobRow.status).where(ReviewJobRow.id == job))
            if status in (JobStatus.done, JobStatus.failed):
                break
            if time.perf_counter() - start > args.timeout:
                raise SystemExit(f"{stack.name}: the job is not done after {args.timeout} s")
            time.sleep(0.05)
        seconds = time.perf_counter() - start
    finally:
        _stop(procs)
        engine.dispose()
    assert status == JobStatus.done, status
    frames = len(data.frames)
    return {
        "workers": workers,
        "chunks": sent,
        "frames": frames,
        "seconds": round(seconds, 3),
        "frames_per_s": round(frames / seconds, 1),
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }


def ingest_rate(stack: Stack, data: Dataset, spec: CompiledSpec, repeat: int) -> dict[str, Any]:
    engine = make_engine(stack.database_url, pool_size=1)
    sessions = make_session_factory(engine)

    def once() -> None:
        with sessions.begin() as session:
            ingest_batch(session, data, spec)

    try:
        seconds, _ = best_of(once, repeat)
    finally:
        engine.dispose()
    labels = sum(len(f.labels) for f in data.frames)
    predictions = sum(len(f.predictions) for f in data.frames)
    return {
        "frames": len(data.frames),
        "labels": labels,
        "predictions": predictions,
        "seconds": round(seconds, 3),
        "frames_per_s": round(len(data.frames) / seconds, 1),
        "labels_per_s": round(labels / seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack", nargs="+", default=["redis+postgresql", "filesystem+sqlite"])
    parser.add_argument("--copies", type=int, default=3, help="copies of the dataset in the job's batch")
    parser.add_argument("--chunk-size", type=int, default=64)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=3, help="ingest runs (the best is kept)")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--logs", default=str(OUT / "workers-logs"))
    args = parser.parse_args()
    Path(args.logs).mkdir(parents=True, exist_ok=True)
    tracking = data_dir() / "kitti_tracking"
    one = load_dataset(tracking, None, [tracking / "detections"])
    data = copies(one, args.copies)
    spec = load_spec(None)
    stacks = {"redis+postgresql": postgres_stack, "filesystem+sqlite": embedded_stack}
    results: dict[str, Any] = {}
    for name in args.stack:
        runs = []
        for n in args.workers:
            with tempfile.TemporaryDirectory() as folder, stacks[name](Path(folder)) as stack:
                runs.append(queue_run(stack, data, spec, args, n))
                console.print(f"{name}: {n} worker(s): {runs[-1]['frames_per_s']} frames/s")
        with tempfile.TemporaryDirectory() as folder, stacks[name](Path(folder)) as stack:
            ingest = ingest_rate(stack, one, spec, args.repeat)
        base = next((r["frames_per_s"] for r in runs if r["workers"] == 1), None)
        for r in runs:
            r["scaling"] = round(r["frames_per_s"] / base, 2) if base else None
        results[name] = {"queue": runs, "ingest": ingest}
    payload = {
        "run": run_info(),
        "cpus": os.cpu_count(),
        "dataset": {"name": one.name, "frames": len(one.frames), "copies": args.copies},
        "chunk_size": args.chunk_size,
        "judge": "off",
        "results": results,
    }
    _print(results)
    write_json(OUT / "workers.json", payload)


def _print(results: dict[str, Any]) -> None:
    table = Table(title="workers: throughput through the queue, and ingest")
    for column in ("stack", "workers", "frames", "seconds", "frames/s", "scaling"):
        table.add_column(column, justify="right")
    for name, r in results.items():
        for q in r["queue"]:
            table.add_row(
                name,
                str(q["workers"]),
                str(q["frames"]),
                f"{q['seconds']:.1f}",
                f"{q['frames_per_s']:.1f}",
                f"{q['scaling']}",
            )
        i = r["ingest"]
        table.add_row(
            name,
            "ingest",
            str(i["frames"]),
            f"{i['seconds']:.2f}",
            f"{i['frames_per_s']:.0f}",
            f"{i['labels_per_s']:.0f} labels/s",
        )
    console.print(table)


if __name__ == "__main__":
    main()
