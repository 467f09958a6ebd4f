"""The Celery app's configuration (built from settings, on request) and the retry policy of the chunk
task: transient errors are retried, anything else fails at once. The task runs through ``apply`` here
only to count its retries; what it does to chunks is tested with real workers (test_recovery)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError, OperationalError

import workers.runtime
import workers.tasks
from workers.app import create_app
from workers.broker import CONTROL_QUEUE, RECONCILE_TASK, REVIEW_QUEUE, REVIEW_TASK
from workers.errors import JudgeRateLimitedError, SpecNotAvailableError, is_transient
from workers.review import ChunkOutcome


def test_the_embedded_app_keeps_its_queue_under_home(embedded_stack):
    settings = embedded_stack.settings(task_soft_time_limit_s=100, task_time_limit_s=130)
    conf = create_app(settings).conf
    assert conf.broker_url.startswith("filesystem://")
    folders = conf.broker_transport_options
    assert (
        folders["data_folder_in"]
        == folders["data_folder_out"]
        == str(settings.home.resolve() / "broker/queue")
    )
    assert (settings.home / "broker" / "processed").is_dir()
    assert (conf.task_acks_late, conf.task_reject_on_worker_lost, conf.worker_prefetch_multiplier) == (
        True,
        True,
        1,
    )
    assert (conf.task_soft_time_limit, conf.task_time_limit) == (100, 130)
    assert conf.task_ignore_result and conf.result_backend is None
    assert conf.task_routes[REVIEW_TASK] == {"queue": REVIEW_QUEUE}
    assert conf.task_routes[RECONCILE_TASK] == {"queue": CONTROL_QUEUE}
    assert conf.beat_schedule["reconcile"]["schedule"] == settings.reconcile_interval_s


def test_a_redis_app_outlasts_its_tasks_before_redelivering(embedded_stack):
    settings = embedded_stack.settings(broker_url="redis://redis:6379/0", task_time_limit_s=3000)
    conf = create_app(settings).conf
    assert conf.broker_url == "redis://redis:6379/0"
    assert conf.broker_transport_options["visibility_timeout"] >= 6000
    assert conf.worker_send_task_events  # for flower


def test_the_tasks_are_registered_by_name(embedded_stack):
    app = create_app(embedded_stack.settings())
    review, reconcile = app.tasks[REVIEW_TASK], app.tasks[RECONCILE_TASK]
    assert (review.acks_late, review.reject_on_worker_lost, review.max_retries) == (True, True, 5)
    assert (reconcile.soft_time_limit, reconcile.time_limit, reconcile.max_retries) == (120, 180, 0)


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (OperationalError("SELECT 1", {}, Exception("server closed the connection")), True),
        (DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True), True),
        (DBAPIError("SELECT 1", {}, Exception("syntax"), connection_invalidated=False), False),
        (JudgeRateLimitedError("429"), True),
        (ConnectionResetError("reset"), True),
        (SpecNotAvailableError("unknown spec"), False),
        (ValueError("a bug"), False),
    ],
)
def test_which_errors_are_transient(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient


@pytest.mark.parametrize(("error", "runs"), [(JudgeRateLimitedError("429"), 6), (ValueError("a bug"), 1)])
def test_the_chunk_task_retries_only_transient_errors(embedded_stack, monkeypatch, error, runs):
    calls: list[bool] = []

    def review(_rt, chunk_id, _owner, *, accept_rate_limited):
        calls.append(accept_rate_limited)
        raise error

    monkeypatch.setattr(workers.runtime, "current", lambda: None)
    monkeypatch.setattr(workers.tasks, "review_chunk", review)
    task = create_app(embedded_stack.settings()).tasks[REVIEW_TASK]
    result = task.apply(args=[7])  # apply() runs each retry at once, ignoring the countdown
    assert result.failed() and isinstance(result.result, type(error))
    assert len(calls) == runs
    assert calls[-1] is (runs > 1), "the last retry accepts rate-limited verdicts"


def test_the_chunk_task_returns_the_outcome(embedded_stack, monkeypatch):
    monkeypatch.setattr(workers.runtime, "current", lambda: None)
    outcome = ChunkOutcome(7, "done", 12, 1, True)
    monkeypatch.setattr(workers.tasks, "review_chunk", lambda *_a, **_k: outcome)
    task = create_app(embedded_stack.settings()).tasks[REVIEW_TASK]
    assert task.apply(args=[7]).get() == {
        "chunk_id": 7, "status": "done", "findings": 12, "job_id": 1, "job_complete": True
    }  # fmt: skip
