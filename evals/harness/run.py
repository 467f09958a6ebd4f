"""Replaying the reviewer agent on the audited frames of an eval dataset (``gtqa evals run``).

The agent (``agents.run.areview``) runs on the sequences that hold an audited frame, with the given
spec, scorer (priors, or a calibration file) and, optionally, the LLM judge (live, or offline from its
cache). Every flag becomes an item with its audit outcome; the run records its provenance and counts
infrastructure errors apart from wrong answers (``evals.harness.runfile``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from openai import AsyncOpenAI

from agents.context import TriagePolicy
from agents.judge.prompts import PROMPTS_DIR
from agents.run import AgentResult, areview
from evals.harness import collect
from evals.harness.config import prompt_files, rule_refs, shown_path
from evals.harness.dataset import EvalDataset, audited_frames
from evals.harness.judge import EvalJudge, build_eval_judge
from evals.harness.metrics import DEFAULT_BUDGETS, DEFAULT_THRESHOLD, run_metrics
from evals.harness.runfile import (
    AuditSetInfo,
    DatasetInfo,
    EvalRun,
    InfraErrors,
    Provenance,
    RunConfiguration,
)
from gtqa.domain import Dataset
from gtqa.scoring.calibration import (
    CalibratedScorer,
    CalibrationModel,
    default_calibration_path,
    default_scorer,
)
from gtqa.scoring.scorer import PriorScorer, Scorer
from gtqa.settings import Settings
from gtqa.spec import CompiledSpec, content_hash


@dataclass(frozen=True)
class RunConfig:
    """What to replay. ``dataset`` is read already (with its predictions, listed in ``predictions``).

    Without ``calibration`` a run scores with the spec's priors unless ``default_calibration`` asks for
    the spec's shipped calibration where ``gtqa scan`` would use it (``gtqa evals run`` sets it: *as
    shipped* there means as the scan and the service score). ``name`` and ``command`` are recorded."""

    dataset: Dataset
    evals: EvalDataset
    spec: CompiledSpec
    predictions: tuple[str, ...] = ()
    calibration: Path | None = None
    judge: bool = False
    offline: bool = False
    cache_dir: Path | None = None
    prompts_dir: Path = PROMPTS_DIR
    checks: Sequence[str] | None = None
    exclude: Sequence[str] = ()
    triage: TriagePolicy = field(default_factory=TriagePolicy)
    threshold: float = DEFAULT_THRESHOLD
    budgets: tuple[int, ...] = DEFAULT_BUDGETS
    name: str | None = None
    command: str | None = None
    default_calibration: bool = False  # without ``calibration``: the spec's shipped one, as ``gtqa scan``


def run_eval(config: RunConfig, settings: Settings, *, client: AsyncOpenAI | None = None) -> EvalRun:
    """``arun_eval`` for synchronous callers."""
    return asyncio.run(arun_eval(config, settings, client=client))


async def arun_eval(config: RunConfig, settings: Settings, *, client: AsyncOpenAI | None = None) -> EvalRun:
    started = datetime.now(UTC)
    subset = audited_frames(config.dataset, config.evals)
    path, scorer = run_scorer(config)
    config = replace(config, calibration=path)
    judge = _judge(config, settings, client)
    try:
        result = await areview(
            subset, config.spec, judge=judge, scorer=scorer, checks=config.checks,
            exclude=config.exclude, chunk_size=settings.chunk_size, triage=config.triage,
        )  # fmt: skip
    finally:
        if judge is not None:
            await judge.aclose()
    return _assemble(config, _provenance(config, settings, subset, result, judge, started), result, judge)


def _judge(config: RunConfig, settings: Settings, client: AsyncOpenAI | None) -> EvalJudge | None:
    if not (config.judge or config.offline):
        return None
    return build_eval_judge(
        settings, offline=config.offline, cache_dir=config.cache_dir, prompts_dir=config.prompts_dir,
        client=client,
    )  # fmt: skip


def run_scorer(config: RunConfig) -> tuple[Path | None, Scorer]:
    """The calibration file a run scores with and its scorer, the file read once: the one given, else
    (``default_calibration``) the spec's shipped one when ``gtqa scan`` would use it for this data
    (the scorer ``default_scorer`` chose with it), else none (the spec's priors)."""
    if config.calibration is not None:
        return config.calibration, CalibratedScorer(CalibrationModel.load(config.calibration))
    if not config.default_calibration:
        return None, PriorScorer()
    choice = default_scorer(config.spec, config.dataset.format)
    if isinstance(choice.scorer, CalibratedScorer):
        return default_calibration_path(config.spec), choice.scorer
    return None, PriorScorer()


def _assemble(
    config: RunConfig, provenance: Provenance, result: AgentResult, judge: EvalJudge | None
) -> EvalRun:
    items = collect.eval_items(result.findings, config.evals)
    results = judge.results if judge is not None else []
    run_hash = content_hash([provenance.model_dump(mode="json"), [i.model_dump(mode="json") for i in items]])
    return EvalRun(
        id=f"{provenance.started_at:%Y%m%dT%H%M%S}-{run_hash[:8]}",
        provenance=provenance,
        metrics=run_metrics(items, threshold=config.threshold, budgets=config.budgets),
        infra=InfraErrors.of(result.errors, collect.failures(results)),
        judge=collect.judge_stats(items, results, result.judge) if judge is not None else None,
        items=tuple(items),
    )


def _provenance(
    config: RunConfig,
    settings: Settings,
    subset: Dataset,
    result: AgentResult,
    judge: EvalJudge | None,
    started: datetime,
) -> Provenance:
    sha, dirty = collect.git_state()
    spec = config.spec
    run_settings = {"offline": config.offline, "exclude": list(config.exclude), "threshold": config.threshold}
    return Provenance(
        git_sha=sha, git_dirty=dirty, spec_name=spec.name, spec_version=spec.version, spec_hash=spec.hash,
        spec_path=spec.path, prompts=collect.prompt_refs(judge.prompts) if judge else (),
        judge_model=settings.judge_model, judge_mode=_judge_mode(judge),
        calibration=_calibration(config.calibration),
        calibration_path=shown_path(config.calibration) if config.calibration else None,
        checks=tuple(result.checks_run), checks_skipped=result.checks_skipped,
        settings={**collect.settings_snapshot(settings, config.triage), **run_settings},
        audits=_audit_info(config), dataset=_dataset_info(config, subset),
        started_at=started, finished_at=datetime.now(UTC), config=_configuration(config, settings),
    )  # fmt: skip


def _configuration(config: RunConfig, settings: Settings) -> RunConfiguration:
    return RunConfiguration(
        name=config.name, command=config.command, rules=rule_refs(config.spec),
        prompts_dir=shown_path(config.prompts_dir),
        prompt_files=prompt_files(config.prompts_dir, settings.judge_prompt_pins),
        checks_requested=None if config.checks is None else tuple(config.checks),
        checks_excluded=tuple(config.exclude), default_calibration=config.default_calibration,
        budgets=config.budgets,
    )  # fmt: skip


def _audit_info(config: RunConfig) -> AuditSetInfo:
    evals, known = config.evals, {f.id for f in config.dataset.frames}
    return AuditSetInfo(
        name=evals.name, checksum=evals.checksum, audits=len(evals.audits), frames=len(evals.frames),
        exhaustive_frames=len(evals.exhaustive), sources=evals.sources,
        frames_not_in_dataset=len(evals.frames - known),
    )  # fmt: skip


def _dataset_info(config: RunConfig, subset: Dataset) -> DatasetInfo:
    data = config.dataset
    return DatasetInfo(
        name=data.name, root=data.root, format=data.format, predictions=config.predictions,
        frames=len(data.frames), frames_replayed=len(subset.frames),
    )  # fmt: skip


def _judge_mode(judge: EvalJudge | None) -> str:
    if judge is None:
        return "off"
    if not judge.enabled:
        return f"disabled: {judge.disabled_reason}"
    return "offline" if judge.offline else "live"


def _calibration(path: Path | None) -> str:
    return "priors" if path is None else f"sha256:{collect.file_sha256(path)}"
