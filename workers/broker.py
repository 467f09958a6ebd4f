"""What the senders, the tasks and the reconciler share about the broker, with no app built: the queue
and task names, which broker the settings name, where the embedded one keeps its messages, and sending
to (and counting) a queue on a given app.

Two queues: ``gtqa.review`` (one message per chunk) and ``gtqa.control`` (the reconciler), so a
reconcile never waits behind a long backlog of chunks when a worker consumes both.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from celery import Celery

from gtqa.settings import Settings

REVIEW_QUEUE = "gtqa.review"
CONTROL_QUEUE = "gtqa.control"
REVIEW_TASK = "gtqa.review_chunk"
RECONCILE_TASK = "gtqa.reconcile"
REFIT_TASK = "gtqa.refit_calibration"  # args: spec name, data format
REPRIORITISE_TASK = "gtqa.reprioritise"  # args: spec name, data format (after a rollback)
# Processed message files of the filesystem broker are kept this long (for inspection), then pruned.
PROCESSED_KEEP_S = 3600.0
# Message files that did not parse (moved to quarantine/ by workers.filebroker) are kept this long.
QUARANTINE_KEEP_S = 7 * 86400.0


def is_filesystem_broker(settings: Settings) -> bool:
    return not settings.broker_url or settings.broker_url.startswith("filesystem:")


def broker_folder(settings: Settings) -> Path:
    """Where the embedded broker keeps its messages (absolute: workers and senders share it)."""
    return (settings.home / "broker").resolve()


def enqueue_chunks(chunk_ids: Iterable[int], *, app: Celery) -> int:
    """Send one review message per chunk id, on one broker connection; how many were sent."""
    sent = 0
    with app.producer_or_acquire() as producer:
        for chunk_id in chunk_ids:
            app.send_task(REVIEW_TASK, args=[chunk_id], producer=producer)
            sent += 1
    return sent


def enqueue_learning(task: str, spec_name: str, data_format: str, *, app: Celery) -> None:
    """Send a refit or a re-prioritisation of (spec name, format) to the control queue."""
    app.send_task(task, args=[spec_name, data_format], queue=CONTROL_QUEUE)


def waiting_messages(app: Celery, queue: str = REVIEW_QUEUE) -> int:
    """Messages waiting in ``queue`` (not those a worker holds): Redis' list length, the filesystem
    broker's file count."""
    with app.connection_for_read() as conn:
        declared = conn.default_channel.queue_declare(queue=queue, passive=False, durable=True)
        return int(declared.message_count)
