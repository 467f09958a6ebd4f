"""What the repositories hand back: small frozen records and the states of the storage-side workflows.

Domain data (frames, labels, findings, audits) comes back as gtqa domain models; these records carry
the bookkeeping around them (ids, statuses, leases, counts). Times are aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from gtqa.domain import Box2D, Finding, InputProblem, IssueType, Label


class Role(StrEnum):
    auditor = "auditor"
    spec_author = "spec_author"
    ops = "ops"
    admin = "admin"


class JobStatus(StrEnum):
    pending = "pending"  # no chunk claimed yet
    running = "running"
    done = "done"  # every chunk done
    failed = "failed"  # every chunk finished, at least one failed for good


class ChunkStatus(StrEnum):
    pending = "pending"
    running = "running"  # leased by a worker until lease_expires_at
    done = "done"
    failed = "failed"  # out of attempts


class ItemKind(StrEnum):
    flag = "flag"  # a finding of the reviewer
    spot_check = "spot_check"  # a random unflagged label, to estimate what the reviewer misses


class ItemPurpose(StrEnum):
    """Why an item is in the queue. Blind items (a second review, a gold item) look like any other to
    the auditor; their decisions measure the auditors and never change a label's outcome."""

    audit = "audit"  # a flag or a spot check, decided once
    second_review = "second_review"  # a decided item sent, blind, to a different auditor
    gold = "gold"  # a known-answer item seeded by ops


class CalibrationState(StrEnum):
    """A refit's outcome (``gtqa.storage.calibrations``)."""

    candidate = "candidate"  # fitted, not yet gated
    promoted = "promoted"  # the gate passed it; current unless rolled back or superseded
    refused = "refused"  # too few audits, or the gate found it not better (reason says which)
    rolled_back = "rolled_back"  # was current, an operator rolled it back
    failed = "failed"  # the fit or the evaluation raised; the current version stayed


class ItemStatus(StrEnum):
    pending = "pending"
    claimed = "claimed"  # by claimed_by until lease_expires_at
    decided = "decided"
    skipped = "skipped"


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    name: str
    role: Role
    active: bool


@dataclass(frozen=True, slots=True)
class BatchRecord:
    id: int
    dataset: str
    vendor: str
    team: str
    format: str
    spec_version: str
    spec_hash: str
    due_date: date | None
    source_path: str
    frame_count: int
    label_count: int
    problems: tuple[InputProblem, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class JobRecord:
    id: int
    batch_id: int
    spec_hash: str
    status: JobStatus
    chunk_size: int
    options: dict[str, object]
    chunks_total: int
    chunks_done: int
    chunks_failed: int
    frames_total: int
    frames_done: int
    findings_count: int
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class ChunkLease:
    """A chunk a worker holds: review ``frame_keys`` (gtqa frame ids) of ``batch_id`` under ``spec_hash``."""

    id: int
    job_id: int
    batch_id: int
    seq: int
    frame_keys: tuple[str, ...]
    spec_hash: str
    owner: str
    lease_expires_at: datetime
    attempts: int


@dataclass(frozen=True, slots=True)
class ChunkRecord:
    """A chunk of a job as ops see it: where it stands, how often it was claimed, its last error."""

    id: int
    job_id: int
    seq: int
    status: ChunkStatus
    frame_count: int
    attempts: int
    findings_count: int
    last_error: str | None
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class ExpiredLeases:
    requeued: tuple[int, ...]  # chunk ids back to pending: re-enqueue them
    failed: tuple[int, ...]  # chunk ids out of attempts


@dataclass(frozen=True, slots=True)
class ReviewItem:
    id: int
    job_id: int
    batch_id: int
    kind: ItemKind
    priority: float
    status: ItemStatus
    frame_key: str
    label_key: str | None
    finding_id: int | None
    claimed_by: str | None
    lease_expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class ItemContext:
    """What an auditor needs to decide an item: the flag (None for a spot check) and the label judged
    (None for a missing object)."""

    item: ReviewItem
    dataset: str
    spec_hash: str
    finding: Finding | None
    label: Label | None
    purpose: ItemPurpose = ItemPurpose.audit


@dataclass(frozen=True, slots=True)
class SecondReview:
    """A pair of blind answers on one item: the first auditor's and the second one's. An answer is the
    issue type of a defect, else the verdict (``not_defect``, ``unsure``); ``flag_type`` is the flag's
    issue type (None for a spot check)."""

    first_auditor: str
    first_answer: str
    second_auditor: str
    second_answer: str
    flag_type: str | None


@dataclass(frozen=True, slots=True)
class GoldResult:
    """An auditor's answer on a gold item, scored against the known answer."""

    auditor: str
    right: bool


@dataclass(frozen=True, slots=True)
class QueueBuild:
    flags: int  # items made from findings
    spot_checks: int  # items made from unflagged labels
    removed: int  # pending items dropped by the rebuild


@dataclass(frozen=True, slots=True)
class FrameEdit:
    """Another label of an item's frame the auditor corrected while deciding the item: ``label`` is its
    key (None for a missing object drawn), ``box`` its box as it was (the drawn box for a missing object),
    ``corrected`` the label as it should be (None: the label should be deleted)."""

    label: str | None
    issue_type: IssueType
    box: Box2D
    corrected: Label | None


@dataclass(frozen=True, slots=True)
class CalibrationVersion:
    """One refit of a spec's calibration on one data format (the model itself is read apart: it is large).

    ``evaluation``: the gate's figures (metric, delta, lo, hi, n, clusters); ``precision_before`` and
    ``precision_after``: the share of real defects among the decided flags scored by the version this
    one replaced, and by this one (filled as decisions come in, see ``queue_precision``)."""

    id: int
    spec_name: str
    spec_hash: str
    data_format: str
    parent_id: int | None
    status: CalibrationState
    reason: str
    n_audits: int
    evaluation: dict[str, Any] | None
    model_sha256: str | None
    created_at: datetime
    promoted_at: datetime | None
    current: bool = False
