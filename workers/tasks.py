"""The Celery tasks, thin: each takes ids, hands the work to a Celery-free function, and decides only
whether to retry. Registered on an app by ``register(app)`` (``workers.app.create_app`` does it)."""

from __future__ import annotations

import dataclasses
import logging
import random
from typing import Any

from celery import Celery, Task

from gtqa.storage import current_calibration
from workers import runtime
from workers.broker import RECONCILE_TASK, REFIT_TASK, REPRIORITISE_TASK, REVIEW_TASK
from workers.errors import is_transient
from workers.learning import refit, reprioritise
from workers.reconcile import reconcile
from workers.review import review_chunk

log = logging.getLogger(__name__)

# Retries of transient errors: 2, 4, 8, 16, 32 s (+ jitter, at most 60 s). Each retry also claims the
# chunk again, so chunk_max_attempts bounds the retries of a chunk too; the chunk's last claim keeps the
# judge's rate-limited answers as needs_human (workers.review), so a rate-limited judge never fails it.
MAX_RETRIES = 5
RECONCILE_SOFT_LIMIT_S, RECONCILE_HARD_LIMIT_S = 120, 180
# A refit fits LightGBM on every audit of a spec and format, then re-prioritises the pending queue.
LEARNING_SOFT_LIMIT_S, LEARNING_HARD_LIMIT_S = 1500, 1700


def review_chunk_task(self: Task, chunk_id: int) -> dict[str, Any]:
    """Review one chunk (see ``workers.review``); idempotent, so a duplicate message is harmless."""
    owner = f"{self.request.hostname or 'local'}/{self.request.id}"
    final = self.request.retries >= MAX_RETRIES
    try:
        outcome = review_chunk(runtime.current(), chunk_id, owner, accept_rate_limited=final)
    except Exception as exc:
        if not is_transient(exc) or final:
            raise
        countdown = min(60.0, 2.0 ** (self.request.retries + 1)) + random.uniform(0, 1)
        log.warning("chunk %d: %s; retrying in %.0f s", chunk_id, exc, countdown)
        raise self.retry(exc=exc, countdown=countdown) from exc
    return dataclasses.asdict(outcome)


def reconcile_task(self: Task) -> dict[str, Any]:
    """The beat task: expire leases and claims, re-send chunks whose messages were lost."""
    return dataclasses.asdict(reconcile(runtime.current(), self.app))


def refit_task(self: Task, spec_name: str, data_format: str) -> dict[str, Any]:
    """Refit, gate and maybe promote the calibration of (spec name, format) (``workers.learning``); a
    second message while one refit runs finds the lease taken and does nothing."""
    owner = f"{self.request.hostname or 'local'}/{self.request.id}"
    return dataclasses.asdict(refit(runtime.current(), spec_name, data_format, owner=owner))


def reprioritise_task(self: Task, spec_name: str, data_format: str) -> dict[str, Any]:
    """Score the pending queue of (spec name, format) again with the version in use (after a rollback)."""
    rt = runtime.current()
    with rt.reads() as session:
        head = current_calibration(session, spec_name, data_format)
    return {"moved": reprioritise(rt, spec_name, data_format, head.id if head is not None else None)}


def register(app: Celery) -> None:
    """The tasks, by name; their queues come from task_routes (workers.app)."""
    app.task(
        name=REVIEW_TASK,
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        max_retries=MAX_RETRIES,
        # time limits: task_soft_time_limit / task_time_limit from the settings (workers.app)
    )(review_chunk_task)
    app.task(
        name=RECONCILE_TASK,
        bind=True,
        acks_late=True,
        max_retries=0,  # the next beat is the retry
        soft_time_limit=RECONCILE_SOFT_LIMIT_S,
        time_limit=RECONCILE_HARD_LIMIT_S,
    )(reconcile_task)
    for name, body in ((REFIT_TASK, refit_task), (REPRIORITISE_TASK, reprioritise_task)):
        app.task(
            name=name,
            bind=True,
            acks_late=True,
            max_retries=0,  # the next trigger (decisions, ops) is the retry
            soft_time_limit=LEARNING_SOFT_LIMIT_S,
            time_limit=LEARNING_HARD_LIMIT_S,
        )(body)
