"""Storage: the tables, their migrations and the repositories the service uses (api, workers, evals;
never the core). SQLite by default (``Settings.database_url`` empty), PostgreSQL in production.

It is the one door to the data: other packages call the functions named here and never build queries on
its tables (``models``, ``mapping`` and ``_sql`` stay inside; the import-linter contract in
pyproject.toml holds them to it). A new read the API or the workers need is a function here.

Every repository function takes a Session and never commits; the caller owns the transaction::

    engine = engine_from_settings()            # once per process (workers: per child process)
    upgrade(engine.url)                        # or at deploy time: python -m gtqa.storage.migrate
    sessions = make_session_factory(engine)
    with sessions.begin() as session:          # commits, or rolls back on an exception
        item = claim_next(session, "alice", lease_s=settings.review_lease_s)

Long reads (exports, whole batches) take ``make_session_factory(engine, read_only=True)`` sessions, which
on SQLite do not hold the write lock.
"""

from gtqa.storage.activity import (
    AuditorFacts,
    BatchFacts,
    SampleTally,
    Series,
    Tally,
    activity,
    auditor_facts,
    batch_facts,
    defects_by_type,
    vendor_spot_days,
    waiting_probabilities,
)
from gtqa.storage.auditors import audited_by, auditor_batches, decision_seconds, held_item
from gtqa.storage.audits import count_audits, export_audits, import_audits, list_audits
from gtqa.storage.engine import engine_from_settings, make_engine, make_session_factory
from gtqa.storage.errors import (
    ClaimCapError,
    DecisionError,
    IngestError,
    LeaseError,
    NotFoundError,
    StorageError,
)
from gtqa.storage.findings import (
    FindingFilter,
    StoredFinding,
    findings_of_frame,
    findings_page,
    stream_findings,
)
from gtqa.storage.ingest import (
    batch_by_idempotency_key,
    batch_record,
    frame_keys_near,
    ingest_batch,
    list_batches,
    load_dataset,
    load_frames,
)
from gtqa.storage.jobs import (
    batch_jobs,
    chunk_findings,
    chunk_ids,
    claim_chunk,
    create_review_job,
    expire_leases,
    fail_chunk,
    finish_chunk,
    job_chunks,
    job_record,
    list_jobs,
    renew_chunk_lease,
    requeue_chunk,
    requeue_failed_chunks,
)
from gtqa.storage.limits import unstorable_audit, unstorable_records
from gtqa.storage.migrate import current_revision, engine_revision, head_revision, upgrade
from gtqa.storage.queue import (
    claim_next,
    decide,
    expire_claims,
    extend_claim,
    held_by,
    item_context,
    queue_counts,
    release,
    return_skipped,
    review_item,
    skip,
    top_pending,
)
from gtqa.storage.queue_build import UNFLAGGED, build_review_items
from gtqa.storage.records import (
    BatchRecord,
    ChunkLease,
    ChunkRecord,
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
from gtqa.storage.stats import (
    FlagDecisions,
    JudgeSpend,
    audits_by_verdict,
    chunk_seconds,
    flag_decisions,
    jobs_by_status,
    judge_spend,
    pending_items,
)
from gtqa.storage.sweep import jobs_of_chunks, stale_pending_chunks
from gtqa.storage.uploads import mark_finished, mark_unfinished, sweep_unfinished
from gtqa.storage.users import (
    create_user,
    list_users,
    rotate_token,
    set_active,
    user_by_fingerprint,
    user_by_id,
    user_by_name,
    user_by_token,
)

__all__ = [
    "UNFLAGGED",
    "AuditorFacts",
    "BatchFacts",
    "BatchRecord",
    "ChunkLease",
    "ChunkRecord",
    "ChunkStatus",
    "ClaimCapError",
    "DecisionError",
    "ExpiredLeases",
    "FindingFilter",
    "FlagDecisions",
    "IngestError",
    "ItemContext",
    "ItemKind",
    "ItemStatus",
    "JobRecord",
    "JobStatus",
    "JudgeSpend",
    "LeaseError",
    "NotFoundError",
    "QueueBuild",
    "ReviewItem",
    "Role",
    "SampleTally",
    "Series",
    "StorageError",
    "StoredFinding",
    "Tally",
    "UserRecord",
    "activity",
    "audited_by",
    "auditor_batches",
    "auditor_facts",
    "audits_by_verdict",
    "batch_by_idempotency_key",
    "batch_facts",
    "batch_jobs",
    "batch_record",
    "build_review_items",
    "chunk_findings",
    "chunk_ids",
    "chunk_seconds",
    "claim_chunk",
    "claim_next",
    "count_audits",
    "create_review_job",
    "create_user",
    "current_revision",
    "decide",
    "decision_seconds",
    "defects_by_type",
    "engine_from_settings",
    "engine_revision",
    "expire_claims",
    "expire_leases",
    "export_audits",
    "extend_claim",
    "fail_chunk",
    "findings_of_frame",
    "findings_page",
    "finish_chunk",
    "flag_decisions",
    "frame_keys_near",
    "head_revision",
    "held_by",
    "held_item",
    "import_audits",
    "ingest_batch",
    "item_context",
    "job_chunks",
    "job_record",
    "jobs_by_status",
    "jobs_of_chunks",
    "judge_spend",
    "list_audits",
    "list_batches",
    "list_jobs",
    "list_users",
    "load_dataset",
    "load_frames",
    "make_engine",
    "make_session_factory",
    "mark_finished",
    "mark_unfinished",
    "pending_items",
    "queue_counts",
    "release",
    "renew_chunk_lease",
    "requeue_chunk",
    "requeue_failed_chunks",
    "return_skipped",
    "review_item",
    "rotate_token",
    "set_active",
    "skip",
    "stale_pending_chunks",
    "stream_findings",
    "sweep_unfinished",
    "top_pending",
    "unstorable_audit",
    "unstorable_records",
    "upgrade",
    "user_by_fingerprint",
    "user_by_id",
    "user_by_name",
    "user_by_token",
    "vendor_spot_days",
    "waiting_probabilities",
]
