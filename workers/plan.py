"""What a job needs before any of its chunks can be reviewed, worked out once per worker process.

A job's **plan** is the spec it was submitted under, the checks that apply to its data (a check needing
predictions is skipped when the batch has none), the dataset statistics the checks compare against
(per-class box sizes over the *whole* batch, so a chunk is judged like the whole dataset), and the scorer
(the spec's default calibration when it was fitted on this data format under this spec, else the
spec's priors). The statistics are computed from the batch once per worker process per job and kept in
a small LRU cache (``PlanCache``): each process reads the batch's frames and labels once per job, a
page of 1,000 frames at a time (``storage.iter_frames``), so its memory is one page plus 16 bytes a
label for the medians, whatever the batch's size. Nothing has to be kept in step with a stored copy
(statistics stored at ingest would also depend on the job's spec: its class aliases and reviewed
classes), and every process computes the same plan from the same rows.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from agents.context import FrameSource, ReviewContext, TriagePolicy
from agents.judge import Judge
from gtqa.checks.base import Check
from gtqa.checks.stats import DatasetStats
from gtqa.domain import Requirement
from gtqa.review import stream_plan
from gtqa.scoring.calibration import default_scorer
from gtqa.scoring.scorer import Scorer
from gtqa.settings import Settings
from gtqa.spec import CompiledSpec, SpecError, load_spec
from gtqa.spec.store import UnknownSpecError, spec_by_hash, spec_folder
from gtqa.storage import batch_record, has_predictions, iter_frames, job_record
from workers.errors import SpecNotAvailableError

log = logging.getLogger(__name__)


class SpecBook:
    """The specs a worker can review under, found by content hash: the service's spec store
    (``<home>/specs``, where every batch's spec is pinned at ingest), ``GTQA_SPEC_PATH``, the shipped
    specs, and the other ``*.md`` specs beside ``GTQA_SPEC_PATH`` (compiled on first need)."""

    def __init__(self, settings: Settings) -> None:
        self._folder = spec_folder(settings.home)
        self._configured = str(settings.spec_path) if settings.spec_path else None
        self._by_hash: dict[str, CompiledSpec] = {}
        self._lock = threading.Lock()

    def get(self, spec_hash: str) -> CompiledSpec:
        with self._lock:
            if spec_hash not in self._by_hash:
                self._by_hash[spec_hash] = self._find(spec_hash)
            return self._by_hash[spec_hash]

    def _find(self, spec_hash: str) -> CompiledSpec:
        configured = self._compiled(self._configured) if self._configured else None
        try:
            return spec_by_hash(spec_hash, self._folder, extra=[configured] if configured else [])
        except UnknownSpecError:
            pass
        if self._configured:
            for path in sorted(Path(self._configured).parent.glob("*.md")):
                spec = self._compiled(str(path))
                if spec is not None and spec.hash == spec_hash:
                    return spec
        raise SpecNotAvailableError(
            f"the job's spec {spec_hash[:12]} is not in {self._folder}, GTQA_SPEC_PATH or the shipped "
            "specs; give the worker the service's home folder (GTQA_HOME) or GTQA_SPEC_PATH set to the "
            "spec the batch was submitted under"
        )

    @staticmethod
    def _compiled(path: str) -> CompiledSpec | None:
        try:
            return load_spec(path)
        except (SpecError, OSError, ValueError):
            return None  # a README or a draft next to the specs


def choose_scorer(spec: CompiledSpec, data_format: str) -> Scorer:
    """The spec's default calibration when it was fitted on this format under this very spec, else the
    spec's priors (``gtqa.scoring.calibration.default_scorer``); a stale calibration is logged."""
    choice = default_scorer(spec, data_format)
    if choice.stale:
        log.warning("%s", choice.note)
    return choice.scorer


@dataclass(frozen=True)
class JobPlan:
    """The part of a chunk's ``ReviewContext`` that is the same for every chunk of the job."""

    spec: CompiledSpec
    checks: Sequence[Check[Any]]
    stats: DatasetStats
    scorer: Scorer
    triage: TriagePolicy = field(default_factory=TriagePolicy)

    def context(self, source: FrameSource, judge: Judge | None) -> ReviewContext:
        return ReviewContext(
            source=source,
            spec=self.spec,
            stats=self.stats,
            checks=self.checks,
            scorer=self.scorer,
            judge=judge,
            triage=self.triage,
        )


class PlanCache:
    """Plans of the most recent jobs this process worked on."""

    def __init__(
        self,
        reads: sessionmaker[Session],
        specs: SpecBook,
        *,
        size: int = 4,
        triage: TriagePolicy | None = None,
    ) -> None:
        self._reads, self._specs, self._size = reads, specs, size
        self._triage = triage or TriagePolicy()
        self._plans: OrderedDict[int, JobPlan] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, job_id: int) -> JobPlan:
        with self._lock:
            if job_id in self._plans:
                self._plans.move_to_end(job_id)
                return self._plans[job_id]
        plan = self._make(job_id)
        with self._lock:
            self._plans[job_id] = plan
            while len(self._plans) > self._size:
                self._plans.popitem(last=False)
        return plan

    def _make(self, job_id: int) -> JobPlan:
        with self._reads() as session:
            job = job_record(session, job_id)
            spec = self._specs.get(job.spec_hash)
            only, exclude = _ids(job.options.get("checks")), _ids(job.options.get("exclude"))
            batch = batch_record(session, job.batch_id)
            # Predictions are not read (26 a frame in KITTI tracking), only whether there are any.
            have = [Requirement.predictions] if has_predictions(session, job.batch_id) else []
            frames = iter_frames(session, job.batch_id)
            checks, stats = stream_plan(frames, spec, only, exclude or [], have=have)
        return JobPlan(
            spec=spec,
            checks=checks,
            stats=stats,
            scorer=choose_scorer(spec, batch.format),
            triage=self._triage,
        )


def _ids(value: object) -> list[str] | None:
    """Check ids from a job's options (``{"checks": [...], "exclude": [...]}``)."""
    return [str(v) for v in value] if isinstance(value, list | tuple) else None
