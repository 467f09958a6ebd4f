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
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from agents.context import FrameSource, ReviewContext, TriagePolicy
from agents.judge import Judge
from gtqa.checks.base import Check
from gtqa.checks.stats import DatasetStats
from gtqa.domain import Requirement
from gtqa.review import stream_plan
from gtqa.scoring.calibration import CalibratedScorer, CalibrationModel, default_scorer
from gtqa.scoring.pinning import mismatch_message
from gtqa.scoring.scorer import Scorer
from gtqa.settings import Settings
from gtqa.spec import CompiledSpec, SpecError, load_spec
from gtqa.spec.store import UnknownSpecError, spec_by_hash, spec_folder
from gtqa.storage import (
    batch_record,
    calibration_model_json,
    current_calibration,
    has_predictions,
    iter_frames,
    job_record,
)
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


def choose_scorer(spec: CompiledSpec, data_format: str, session: Session | None = None) -> Scorer:
    """The scorer of new flags: with a ``session``, the service's promoted refit for this spec name and
    format when it applies under ``spec`` (``scorer_and_version``); else the spec's default calibration
    when it was fitted on this format under this very spec, else the spec's priors
    (``gtqa.scoring.calibration.default_scorer``); a stale calibration is logged."""
    if session is not None:
        return scorer_and_version(session, spec, data_format)[0]
    choice = default_scorer(spec, data_format)
    if choice.stale:
        log.warning("%s", choice.note)
    return choice.scorer


def scorer_and_version(session: Session, spec: CompiledSpec, data_format: str) -> tuple[Scorer, int | None]:
    """The promoted refit in use for (spec name, format) and its version id, when the spec did not change
    what it depends on (``CalibrationModel.spec_changes``, as for the default calibration); else the
    default scorer and None."""
    refit = refitted_model(session, spec, data_format)
    if refit is not None:
        return CalibratedScorer(refit[1]), refit[0]
    return choose_scorer(spec, data_format), None


def refitted_model(
    session: Session, spec: CompiledSpec, data_format: str
) -> tuple[int, CalibrationModel] | None:
    """The current version's id and model when it applies under ``spec`` (None otherwise: logged)."""
    version = current_calibration(session, spec.name, data_format)
    if version is None:
        return None
    return version_model(session, version.id, spec)


def version_model(
    session: Session, version_id: int, spec: CompiledSpec
) -> tuple[int, CalibrationModel] | None:
    """A stored version's model, when the spec did not change what it depends on."""
    text = calibration_model_json(session, version_id)
    if text is None:
        return None
    model = _parsed(text)
    changes = model.spec_changes(spec)
    if changes:
        log.warning(
            "calibration version %d does not apply under spec %s %s (%s): the default scorer",
            version_id, spec.name, spec.hash[:12], mismatch_message(changes),
        )  # fmt: skip
        return None
    return version_id, model


@lru_cache(maxsize=8)
def _parsed(text: str) -> CalibrationModel:
    """Parsed once per process per model (its boosters are parsed on first use and kept with it)."""
    return CalibrationModel.model_validate_json(text)


@dataclass(frozen=True)
class JobPlan:
    """The part of a chunk's ``ReviewContext`` that is the same for every chunk of the job."""

    spec: CompiledSpec
    checks: Sequence[Check[Any]]
    stats: DatasetStats
    scorer: Scorer
    triage: TriagePolicy = field(default_factory=TriagePolicy)
    calibration_version: int | None = None  # the service's refit that scores its flags; None: default
    data_format: str = ""
    # The version in use when the scorer was chosen (it differs from calibration_version when that
    # version does not apply under the job's spec): the plan is re-chosen only when the head moves.
    head_version: int | None = None

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
        """The job's plan; its scorer follows promotions and rollbacks (one small read per call)."""
        with self._lock:
            plan = self._plans.get(job_id)
            if plan is not None:
                self._plans.move_to_end(job_id)
        if plan is not None:
            with self._reads() as session:
                head = current_calibration(session, plan.spec.name, plan.data_format)
                head_id = head.id if head is not None else None
                if head_id == plan.head_version:
                    return plan
                scorer, version = scorer_and_version(session, plan.spec, plan.data_format)
            plan = replace(plan, scorer=scorer, calibration_version=version, head_version=head_id)
        else:
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
            head = current_calibration(session, spec.name, batch.format)
            scorer, version = scorer_and_version(session, spec, batch.format)
            # Predictions are not read (26 a frame in KITTI tracking), only whether there are any.
            have = [Requirement.predictions] if has_predictions(session, job.batch_id) else []
            frames = iter_frames(session, job.batch_id)
            checks, stats = stream_plan(frames, spec, only, exclude or [], have=have)
        return JobPlan(
            spec=spec,
            checks=checks,
            stats=stats,
            scorer=scorer,
            triage=self._triage,
            calibration_version=version,
            data_format=batch.format,
            head_version=head.id if head is not None else None,
        )


def _ids(value: object) -> list[str] | None:
    """Check ids from a job's options (``{"checks": [...], "exclude": [...]}``)."""
    return [str(v) for v in value] if isinstance(value, list | tuple) else None
