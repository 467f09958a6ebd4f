"""The queue learns from its auditors (issue 19): refit the calibration on the service's own audits,
gate the candidate against the scorer in use, promote it, re-prioritise the pending queue; roll back.

**What a refit learns from.** Every flag of a (spec name, data format) whose review item was decided,
with its target from the audits (``gtqa.scoring.targets``, per batch: frame keys are unique per batch),
and every other flag of those frames with an unknown target (a flag's context features depend on its
frame's other flags). The flags are rebuilt as the calibration's input (``as_fused_prior``: the stored
prior, before any calibration or judge).

**Selection bias and its correction.** Most decided flags were picked by the queue's own order: the top
of the queue, where scores are high, so a model fitted and gated on them as they are learns only the top
and is judged there, while what it must rank is the rest. The spot-check sample
(``gtqa.storage.queue_build``) draws flags at random from the low-probability bands with a known
inclusion probability pi; a decided flag of that sample stands for 1 / pi flags of its band (a
Horvitz-Thompson weight, capped at ``refit_max_weight``), a flag the queue's order reached stands for
itself (weight 1: everything above the queue's cursor is audited, inclusion probability 1). The weights
enter the fit (booster and probability map) and the gate's weighted AP. What neither covers is the band
between the cursor and the sampled bands: no audit speaks for it, and the gate cannot see it; the
correction is partial, and said so.

**Held-out split.** Each audited frame is, once and for all, either fit or held out (a hash of its
batch and key against ``refit_holdout``), so no candidate, nor a promoted earlier one, has seen the flags
it is judged on. The gate (``gtqa.scoring.gate``) compares candidate and current on the held-out decided
flags, both scored from the same fused priors.

**Not the shipped calibration's data.** The shipped calibration file carries its boosters and a hash of
its training data, not the data: the service cannot reach it honestly. A candidate is fitted on the
service's audits only, and the gate keeps the shipped (or current) calibration unless the candidate
beats it on the service's own held-out audits.

**Safety.** Fewer decided flags with a known outcome than ``refit_min_audits``: refused without fitting.
A fit or evaluation that raises: recorded as failed, the current version kept. One refit at a time per
(spec name, format): a lease row (``acquire_refit_lease``). A version whose spec dependencies changed
(``CalibrationModel.spec_changes``) scores nothing: the default scorer does, as ``default_scorer`` does.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from gtqa.domain import Audit, Finding
from gtqa.scoring.calibration import (
    CalibratedScorer,
    CalibrationModel,
    as_fused_prior,
    fit_calibration,
    rescored,
)
from gtqa.scoring.gate import GateRule, gate
from gtqa.scoring.priority import priority
from gtqa.scoring.targets import audit_targets
from gtqa.settings import Settings
from gtqa.spec import CompiledSpec
from gtqa.storage import (
    CalibrationState,
    ItemStatus,
    LearningFlag,
    Rescored,
    acquire_refit_lease,
    current_calibration,
    decided_frames,
    frames_audits,
    frames_flags,
    latest_spec_hash,
    pending_frames,
    promote_calibration,
    record_calibration_version,
    release_refit_lease,
    rescore_pending,
    roll_back_calibration,
)
from workers.plan import choose_scorer, version_model

log = logging.getLogger(__name__)

# (flags, targets, groups, spec, weights) -> a fitted calibration; tests pass a quicker or a failing one.
Fitter = Callable[
    [Sequence[Finding], Sequence[float | None], Sequence[str], CompiledSpec, Sequence[float]],
    CalibrationModel,
]


class Specs(Protocol):
    def get(self, spec_hash: str) -> CompiledSpec: ...


class LearningContext(Protocol):
    """What the learning loop needs of a process (a ``WorkerRuntime``, or the CLI's own)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def sessions(self) -> sessionmaker[Session]: ...
    @property
    def reads(self) -> sessionmaker[Session]: ...
    @property
    def specs(self) -> Specs: ...


@dataclass(frozen=True)
class RefitOutcome:
    status: str  # a CalibrationState value, or "busy" (another worker holds the lease)
    reason: str
    version_id: int | None = None
    moved: int = 0  # pending items re-prioritised after a promotion


def default_fitter(
    flags: Sequence[Finding],
    targets: Sequence[float | None],
    groups: Sequence[str],
    spec: CompiledSpec,
    weights: Sequence[float],
) -> CalibrationModel:
    return fit_calibration(flags, targets, groups, spec, weights=weights)


def refit(
    ctx: LearningContext, spec_name: str, data_format: str, *, owner: str, fitter: Fitter = default_fitter
) -> RefitOutcome:
    """One refit of (spec name, format) under the lease; the version recorded (see the module docstring)."""
    with ctx.sessions.begin() as session:
        taken = acquire_refit_lease(
            session, spec_name, data_format, owner, lease_s=ctx.settings.refit_lease_s
        )
    if not taken:
        return RefitOutcome("busy", f"another worker is refitting {spec_name} on {data_format} data")
    try:
        outcome = _refit(ctx, spec_name, data_format, fitter)
    finally:
        with ctx.sessions.begin() as session:
            release_refit_lease(session, spec_name, data_format, owner)
    log.info("refit %s/%s: %s (%s)", spec_name, data_format, outcome.status, outcome.reason)
    return outcome


@dataclass(frozen=True)
class Audited:
    flags: list[Finding]  # every flag of the audited frames, as the calibration's input
    targets: list[float | None]  # known for decided flags only
    groups: list[str]  # batch:frame
    weights: np.ndarray
    held: np.ndarray  # the flag's frame is held out of fits

    @property
    def known(self) -> np.ndarray:
        return np.array([t is not None for t in self.targets], dtype=bool)


def _refit(ctx: LearningContext, spec_name: str, data_format: str, fitter: Fitter) -> RefitOutcome:
    with ctx.reads() as session:
        spec_hash = latest_spec_hash(session, spec_name, data_format)
        current = current_calibration(session, spec_name, data_format)
        frames = decided_frames(session, spec_name, data_format)
        stored, audits = frames_flags(session, frames), frames_audits(session, frames)
    if spec_hash is None:
        return RefitOutcome("refused", f"no batch of spec {spec_name} on {data_format} data")
    spec = ctx.specs.get(spec_hash)
    parent = current.id if current is not None else None
    data = audited(stored, audits, ctx.settings)
    record = _Recorder(ctx, spec, data_format, parent, int(data.known.sum()))
    refusal = _too_little(data, ctx.settings)
    if refusal is not None:
        return record(CalibrationState.refused, refusal)
    try:
        candidate = _fit(data, spec, fitter)
        base = _scores(data.flags, _current_model(ctx, spec, data_format, parent))
        mine = _scores(data.flags, candidate)
        test = data.known & data.held
        y = np.array([t for t, keep in zip(data.targets, test, strict=True) if keep], dtype=np.float64)
        rule = GateRule(margin=ctx.settings.refit_margin)
        groups = [g for g, keep in zip(data.groups, test, strict=True) if keep]
        result = gate(base[test], mine[test], y, data.weights[test], groups, rule)
    except Exception as exc:  # a fit or evaluation that fails keeps the current version
        log.exception("refit %s/%s failed", spec_name, data_format)
        return record(CalibrationState.failed, f"fit failed, current kept: {type(exc).__name__}: {exc}")
    state = CalibrationState.promoted if result.promoted else CalibrationState.refused
    outcome = record(state, result.reason, result.evaluation(), candidate.model_dump_json())
    if not result.promoted or outcome.version_id is None:
        return outcome
    moved = reprioritise(ctx, spec_name, data_format, outcome.version_id)
    return RefitOutcome(outcome.status, outcome.reason, outcome.version_id, moved)


class _Recorder:
    """Stores a refit's outcome as a version (promoting it when the gate passed it)."""

    def __init__(
        self, ctx: LearningContext, spec: CompiledSpec, data_format: str, parent: int | None, n: int
    ):
        self.ctx, self.spec, self.data_format, self.parent, self.n = ctx, spec, data_format, parent, n

    def __call__(
        self,
        state: CalibrationState,
        reason: str,
        evaluation: dict[str, float | str] | None = None,
        model_json: str | None = None,
    ) -> RefitOutcome:
        with self.ctx.sessions.begin() as session:
            version = record_calibration_version(
                session,
                spec_name=self.spec.name,
                spec_hash=self.spec.hash,
                data_format=self.data_format,
                parent_id=self.parent,
                status=CalibrationState.candidate if state == CalibrationState.promoted else state,
                reason=reason,
                n_audits=self.n,
                evaluation=evaluation,
                model_json=model_json,
            )
            if state == CalibrationState.promoted:
                promote_calibration(session, version)
        return RefitOutcome(state.value, reason, version)


def audited(stored: Sequence[LearningFlag], audits: dict[int, list[Audit]], settings: Settings) -> Audited:
    """The flags as the calibration's input, their targets (decided items only), frames, HT weights and
    held-out marks (see the module docstring)."""
    by_batch: dict[int, list[int]] = {}
    for i, s in enumerate(stored):
        by_batch.setdefault(s.batch_id, []).append(i)
    targets: list[float | None] = [None] * len(stored)
    for batch_id, idx in by_batch.items():
        found = audit_targets([stored[i].finding for i in idx], audits.get(batch_id, []))
        for i, t in zip(idx, found, strict=True):
            targets[i] = t if stored[i].item_status == ItemStatus.decided else None
    groups = [f"{s.batch_id}:{s.finding.frame}" for s in stored]
    pi = [s.inclusion_probability for s in stored]
    weights = np.array([min(1.0 / p, settings.refit_max_weight) if p else 1.0 for p in pi], dtype=np.float64)
    held = np.array([_held_out(g, settings.refit_holdout) for g in groups], dtype=bool)
    flags = [as_fused_prior(s.finding) for s in stored]
    return Audited(flags, targets, groups, weights, held)


def _held_out(group: str, share: float) -> bool:
    """Stable across refits: a frame held out once is held out for good."""
    digest = int.from_bytes(hashlib.sha256(group.encode()).digest()[:8], "big")
    return (digest % 10_000) < share * 10_000


def _too_little(data: Audited, settings: Settings) -> str | None:
    known = data.known
    fit, test = known & ~data.held, known & data.held
    n = int(known.sum())
    if n < settings.refit_min_audits:
        return (
            f"too few audits: {n} decided flags with a known outcome, fewer than {settings.refit_min_audits}"
        )
    y_fit = [data.targets[i] for i in np.flatnonzero(fit)]
    if len(set(y_fit)) < 2:
        return "the decided flags of the fit frames are all of one outcome"
    if not any(data.targets[i] == 1.0 for i in np.flatnonzero(test)):
        return "no held-out decided flag is a real defect to gate on"
    return None


def _fit(data: Audited, spec: CompiledSpec, fitter: Fitter) -> CalibrationModel:
    """Fit on the fit frames' flags (all of them: context), targets of the decided ones."""
    idx = np.flatnonzero(~data.held)
    return fitter(
        [data.flags[i] for i in idx],
        [data.targets[i] for i in idx],
        [data.groups[i] for i in idx],
        spec,
        [float(data.weights[i]) for i in idx],
    )


def _current_model(
    ctx: LearningContext, spec: CompiledSpec, data_format: str, version_id: int | None
) -> CalibrationModel | None:
    """The model in use: the current refit when it applies under ``spec``, else the default (or priors)."""
    if version_id is not None:
        with ctx.reads() as session:
            found = version_model(session, version_id, spec)
        if found is not None:
            return found[1]
    scorer = choose_scorer(spec, data_format)
    return scorer.model if isinstance(scorer, CalibratedScorer) else None


def _scores(flags: Sequence[Finding], model: CalibrationModel | None) -> np.ndarray:
    """Each flag's score under ``model`` from its fused prior (a type the model never saw keeps it)."""
    return np.array([f.score for f in rescored(flags, model)], dtype=np.float64)


def reprioritise(ctx: LearningContext, spec_name: str, data_format: str, version_id: int | None) -> int:
    """Score the pending flags of (spec name, format) again with ``version_id`` (None: the default scorer),
    a few frames at a time (about ``reprioritise_chunk`` items per transaction, whole frames), and move
    their items; claimed and decided items are not touched. How many items moved. Each chunk is read and
    scored in a read-only session and written in a short transaction of its own."""
    moved, after = 0, 0
    models: dict[str, tuple[CalibrationModel | None, int | None]] = {}
    while True:
        # Scored outside the write transaction: on SQLite a writer holds the database's one write lock,
        # and the auditors' claims wait for it (rescore_pending re-checks what is still pending).
        with ctx.reads() as session:
            frames = pending_frames(
                session, spec_name, data_format, after_frame=after, max_items=ctx.settings.reprioritise_chunk
            )
            if not frames:
                return moved
            flags = frames_flags(session, frames)
            new = _rescore(ctx, session, flags, data_format, version_id, models)
        with ctx.sessions.begin() as session:
            moved += rescore_pending(session, new)
        after = frames[-1]


def _rescore(
    ctx: LearningContext,
    session: Session,
    flags: Sequence[LearningFlag],
    data_format: str,
    version_id: int | None,
    models: dict[str, tuple[CalibrationModel | None, int | None]],
) -> list[Rescored]:
    by_spec: dict[str, list[LearningFlag]] = {}
    for f in flags:
        by_spec.setdefault(f.job_spec_hash, []).append(f)
    out: list[Rescored] = []
    for spec_hash, group in by_spec.items():
        spec = ctx.specs.get(spec_hash)
        if spec_hash not in models:
            models[spec_hash] = _model_for(session, spec, data_format, version_id)
        model, applied = models[spec_hash]
        new = rescored([f.finding for f in group], model)
        out.extend(
            Rescored(f.id, n.score, priority(n, spec), n.follows, dict(n.features), applied)
            for f, n in zip(group, new, strict=True)
        )
    return out


def _model_for(
    session: Session, spec: CompiledSpec, data_format: str, version_id: int | None
) -> tuple[CalibrationModel | None, int | None]:
    if version_id is not None:
        found = version_model(session, version_id, spec)
        if found is not None:
            return found[1], version_id
    scorer = choose_scorer(spec, data_format)
    return (scorer.model if isinstance(scorer, CalibratedScorer) else None), None


def roll_back(ctx: LearningContext, spec_name: str, data_format: str) -> tuple[int, int | None, int]:
    """Roll the current version back (its nearest promoted ancestor, or the default, is current again)
    and re-prioritise the pending queue with it: (rolled back id, current id, items moved)."""
    with ctx.sessions.begin() as session:
        rolled, now = roll_back_calibration(session, spec_name, data_format)
    return rolled, now, reprioritise(ctx, spec_name, data_format, now)
