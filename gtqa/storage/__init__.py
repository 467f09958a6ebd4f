"""Storage: the tables, their migrations and the repositories the service uses (api, workers, evals;
never the core). SQLite by default (``Settings.database_url`` empty), PostgreSQL in production.

Every repository function takes a Session and never commits; the caller owns the transaction::

    engine = engine_from_settings()            # once per process (workers: per child process)
    upgrade(engine.url)                        # or at deploy time: python -m gtqa.storage.migrate
    sessions = make_session_factory(engine)
    with sessions.begin() as session:          # commits, or rolls back on an exception
        item = claim_next(session, "alice", lease_s=settings.review_lease_s)

Long reads (exports, whole batches) take ``make_session_factory(engine, read_only=True)`` sessions, which
on SQLite do not hold the write lock.
"""

from gtqa.storage.audits import export_audits, import_audits, list_audits
from gtqa.storage.engine import engine_from_settings, make_engine, make_session_factory
from gtqa.storage.errors import DecisionError, IngestError, LeaseError, NotFoundError, StorageError
from gtqa.storage.ingest import batch_record, ingest_batch, list_batches, load_dataset, load_frames
from gtqa.storage.jobs import (
    batch_jobs,
    chunk_findings,
    chunk_ids,
    claim_chunk,
    create_review_job,
    expire_leases,
    fail_chunk,
    finish_chunk,
    job_record,
    renew_chunk_lease,
    requeue_chunk,
)
from gtqa.storage.migrate import current_revision, head_revision, upgrade
from gtqa.storage.queue import (
    claim_next,
    decide,
    expire_claims,
    extend_claim,
    item_context,
    queue_counts,
    release,
    review_item,
    skip,
    top_pending,
)
from gtqa.storage.queue_build import build_review_items
from gtqa.storage.records import (
    BatchRecord,
    ChunkLease,
    ChunkStatus,
    ExpiredLeases,
    ItemContext,
    ItemKind,
    ItemStatus,
    JobRecord,
    JobStatus,
    QueueBuild,
    ReviewItem,
    Role,
    UserRecord,
)
from gtqa.storage.users import create_user, rotate_token, set_active, user_by_name, user_by_token

__all__ = [
    "BatchRecord",
    "ChunkLease",
    "ChunkStatus",
    "DecisionError",
    "ExpiredLeases",
    "IngestError",
    "ItemContext",
    "ItemKind",
    "ItemStatus",
    "JobRecord",
    "JobStatus",
    "LeaseError",
    "NotFoundError",
    "QueueBuild",
    "ReviewItem",
    "Role",
    "StorageError",
    "UserRecord",
    "batch_jobs",
    "batch_record",
    "build_review_items",
    "chunk_findings",
    "chunk_ids",
    "claim_chunk",
    "claim_next",
    "create_review_job",
    "create_user",
    "current_revision",
    "decide",
    "engine_from_settings",
    "expire_claims",
    "expire_leases",
    "export_audits",
    "extend_claim",
    "fail_chunk",
    "finish_chunk",
    "head_revision",
    "import_audits",
    "ingest_batch",
    "item_context",
    "job_record",
    "list_audits",
    "list_batches",
    "load_dataset",
    "load_frames",
    "make_engine",
    "make_session_factory",
    "queue_counts",
    "release",
    "renew_chunk_lease",
    "requeue_chunk",
    "review_item",
    "rotate_token",
    "set_active",
    "skip",
    "top_pending",
    "upgrade",
    "user_by_name",
    "user_by_token",
]
