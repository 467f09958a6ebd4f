"""The Celery app, built on request from the settings (never at import).

``get_app()`` builds it once per process; ``celery -A workers.app worker`` finds it through the module's
``app`` attribute, which is computed on first access. The queue and task names live in
``workers.broker``, which the tasks and the reconciler import without building an app.

Delivery is at least once and the database decides what a message means: a task takes a chunk id,
re-reads the chunk, and does nothing when the chunk is done or leased to someone else. Hence
``acks_late`` (a message is acknowledged after its task ran, so a worker that dies mid-chunk does not
take the message with it on brokers that redeliver), ``task_reject_on_worker_lost`` (a killed child's
message goes back to the queue), ``worker_prefetch_multiplier=1`` (a busy worker holds no messages it
is not running, so other workers get them, and the reconciler's count of waiting messages is true) and
no result backend (results are findings in the database).

The broker: ``GTQA_BROKER_URL`` (``redis://…`` in production); empty means kombu's filesystem transport
under ``<home>/broker`` for one machine, with atomic writes and quarantining reads
(``workers.filebroker``: a torn message file never stops a worker). That transport deletes a message
when a worker takes it (there is no acknowledgement), so a chunk whose worker died is found again only
by its lease expiring: the reconciler (``workers.reconcile``) does that, on every broker.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from celery import Celery
from kombu.entity import Exchange, Queue

from gtqa.settings import Settings, get_settings
from workers import runtime, tasks
from workers.broker import (
    CONTROL_QUEUE,
    RECONCILE_TASK,
    REFIT_TASK,
    REPRIORITISE_TASK,
    REVIEW_QUEUE,
    REVIEW_TASK,
    broker_folder,
    is_filesystem_broker,
)

FILE_TRANSPORT = "workers.filebroker:Transport"


def create_app(settings: Settings | None = None) -> Celery:
    """A configured app with the gtqa tasks registered; nothing connects until a worker starts or a
    message is sent."""
    settings = settings or get_settings()
    app = Celery("gtqa", set_as_current=False)
    app.conf.update(celery_config(settings))
    tasks.register(app)
    runtime.connect_signals()
    return app


@lru_cache(maxsize=1)
def get_app() -> Celery:
    """This process's app, from ``get_settings()``."""
    return create_app()


def __getattr__(name: str) -> Any:
    # ``celery -A workers.app`` looks up ``workers.app.app``: build it only then.
    if name == "app":
        return get_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def celery_config(settings: Settings) -> dict[str, Any]:
    filesystem = is_filesystem_broker(settings)
    return {
        "broker_url": "filesystem://localhost//" if filesystem else settings.broker_url,
        # The embedded broker: kombu's filesystem transport with atomic writes and quarantining reads.
        "broker_transport": FILE_TRANSPORT if filesystem else None,
        "broker_transport_options": _transport_options(settings, filesystem),
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,  # a worker outlives a broker restart
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_backend": None,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": settings.task_soft_time_limit_s,
        "task_time_limit": max(settings.task_time_limit_s, settings.task_soft_time_limit_s + 1.0),
        "task_queues": (_queue(REVIEW_QUEUE), _queue(CONTROL_QUEUE)),
        "task_default_queue": CONTROL_QUEUE,
        "task_create_missing_queues": False,
        # Queue names only: messages then go through the default exchange straight to the queue, so
        # sending works even after a flushed Redis lost the exchange bindings.
        "task_routes": {
            REVIEW_TASK: {"queue": REVIEW_QUEUE},
            RECONCILE_TASK: {"queue": CONTROL_QUEUE},
            REFIT_TASK: {"queue": CONTROL_QUEUE},
            REPRIORITISE_TASK: {"queue": CONTROL_QUEUE},
        },
        "task_publish_retry_policy": {"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5},
        "beat_schedule": {
            "reconcile": {
                "task": RECONCILE_TASK,
                "schedule": settings.reconcile_interval_s,
                # A sweep nobody ran in time is replaced by the next one, not queued behind it.
                "options": {"queue": CONTROL_QUEUE, "expires": settings.reconcile_interval_s},
            }
        },
        "worker_cancel_long_running_tasks_on_connection_loss": False,  # the lease protects the chunk
        "worker_send_task_events": not filesystem,  # for flower
        "task_send_sent_event": not filesystem,
        # Remote control needs broadcast; the one-machine filesystem broker does without it.
        "worker_enable_remote_control": not filesystem,
    }


def _queue(name: str) -> Queue:
    return Queue(name, Exchange(name, type="direct"), routing_key=name)  # type: ignore[no-untyped-call]


def _transport_options(settings: Settings, filesystem: bool) -> dict[str, Any]:
    if not filesystem:
        # Redis redelivers a message unacknowledged for this long; longer than any task may run.
        return {"visibility_timeout": max(3600.0, 2 * settings.task_time_limit_s)}
    folder = broker_folder(settings)
    queue, control, processed = folder / "queue", folder / "control", folder / "processed"
    tmp, quarantine = folder / "tmp", folder / "quarantine"
    for path in (queue, control, processed, tmp, quarantine):
        path.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "control_folder": str(control),
        # A taken message is moved (an atomic rename on one file system, so two workers never both
        # take it) to processed/, which the reconciler prunes.
        "store_processed": True,
        "processed_folder": str(processed),
        # A message is written here, then renamed into queue/: a reader never sees a partial file.
        "tmp_folder": str(tmp),
        # A message file that does not parse is moved here (and logged) instead of stopping the worker.
        "quarantine_folder": str(quarantine),
        "polling_interval": 0.2,
    }
