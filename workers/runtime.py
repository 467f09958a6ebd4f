"""What a worker process holds: its database engine and sessions, the reviewer graph, an event loop and
the judge's HTTP client, the spec book and the job plans. Made in each child process when it starts
(Celery's ``worker_process_init``; never inherited across a fork, never built at import), or on first
use in a process without that signal (the solo pool, a benchmark, a test calling a task body).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from celery.signals import worker_process_init, worker_process_shutdown
from openai import AsyncOpenAI

from agents.context import TriagePolicy
from agents.graph import ReviewGraph, build_graph
from agents.judge import Judge, build_judge, endpoint_problem, make_async_client
from gtqa.settings import Settings, get_settings
from gtqa.storage import engine_from_settings, make_session_factory
from workers.plan import PlanCache, SpecBook
from workers.ratelimit import SqliteTokenBucket, TokenBucket, bucket_from_settings, rate_limited_http_client

log = logging.getLogger(__name__)
T = TypeVar("T")


class WorkerRuntime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # pre_ping: a database restart costs a round trip per transaction, not a failed chunk.
        self.engine = engine_from_settings(settings, pool_size=2, pre_ping=True)
        self.sessions = make_session_factory(self.engine)
        self.reads = make_session_factory(self.engine, read_only=True)
        self.specs = SpecBook(settings)
        self.plans = PlanCache(self.reads, self.specs, triage=TriagePolicy.from_settings(settings))
        self.graph: ReviewGraph = build_graph()
        self.judge_problem = endpoint_problem(settings)
        self._bucket: TokenBucket | None = None
        self._runner: asyncio.Runner | None = None
        self._judge_client: AsyncOpenAI | None = None

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on this process's event loop (kept across tasks: the judge's pooled
        connections belong to it)."""
        if self._runner is None:
            self._runner = asyncio.Runner()
        return self._runner.run(coro)

    def new_judge(self) -> Judge | None:
        """A judge for one chunk (its own budget) on this process's rate-limited client; None when no
        endpoint is configured."""
        if self.judge_problem is not None:
            return None
        if self._judge_client is None:
            self._judge_client = self._make_judge_client()
        return build_judge(self.settings, client=self._judge_client)

    def reset_loop(self) -> None:
        """Drop the event loop (cancelling whatever an interrupted task left on it) and the client
        whose connections belong to it."""
        runner, self._runner, client, self._judge_client = self._runner, None, self._judge_client, None
        if runner is None:
            return
        try:
            if client is not None:
                runner.run(client.close())
        finally:
            runner.close()

    def close(self) -> None:
        self.reset_loop()
        if isinstance(self._bucket, SqliteTokenBucket):
            self._bucket.close()
        self.engine.dispose()

    def _make_judge_client(self) -> AsyncOpenAI:
        client = make_async_client(self.settings)
        if self._bucket is None:
            self._bucket = bucket_from_settings(self.settings)
        if self._bucket is None:
            return client
        return client.copy(http_client=rate_limited_http_client(self._bucket))


_current: WorkerRuntime | None = None
_lock = threading.Lock()


def current() -> WorkerRuntime:
    """This process's runtime, made on first use when no worker signal made it."""
    global _current
    with _lock:
        if _current is None:
            _current = WorkerRuntime(get_settings())
        return _current


def start_process(**_: Any) -> None:
    """``worker_process_init``: a fresh runtime in every child (whatever a parent made is not used:
    its connections belong to the parent)."""
    global _current
    with _lock:
        _current = WorkerRuntime(get_settings())


def stop_process(**_: Any) -> None:
    global _current
    with _lock:
        runtime, _current = _current, None
    if runtime is not None:
        try:
            runtime.close()
        except Exception:
            log.exception("closing the worker runtime")


def connect_signals() -> None:
    worker_process_init.connect(start_process, dispatch_uid="gtqa.workers.start_process", weak=False)
    worker_process_shutdown.connect(stop_process, dispatch_uid="gtqa.workers.stop_process", weak=False)
