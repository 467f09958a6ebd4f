"""Running the reviewer graph over a whole dataset (the CLI's ``gtqa scan`` and the evals).

Chunks of frames go through the graph one after another; within a chunk the judge's questions fan out
concurrently (bounded by the judge's own concurrency). The result has the same contract as the
heuristics-only ``gtqa.review.review_dataset``: with no judge the two agree exactly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from agents.context import DatasetSource, ReviewContext, TriagePolicy
from agents.graph import ReviewGraph, build_graph, run_config
from agents.judge import Judge, JudgeSummary
from agents.state import ReviewInput, ReviewOutput
from gtqa.checks.base import Check
from gtqa.checks.scope import canonical_frames
from gtqa.domain import Dataset
from gtqa.review import Progress, ReviewResult, dataset_stats, plan_checks
from gtqa.scoring import review_order
from gtqa.scoring.scorer import PriorScorer, Scorer
from gtqa.spec import CompiledSpec

log = logging.getLogger(__name__)


@dataclass
class AgentResult(ReviewResult):
    """``review_dataset``'s result, and what the judge did."""

    judge_tasks: int = 0
    judge: JudgeSummary | None = None
    labels: int = 0


def build_context(
    dataset: Dataset,
    spec: CompiledSpec,
    checks: Sequence[Check[Any]],
    *,
    scorer: Scorer | None = None,
    judge: Judge | None = None,
    triage: TriagePolicy | None = None,
) -> ReviewContext:
    # Spelt as the spec spells classes once (as ``review_dataset`` does): the statistics and every
    # chunk the graph loads share these frames instead of copying them again.
    canonical = dataset.model_copy(update={"frames": canonical_frames(dataset.frames, spec)})
    return ReviewContext(
        source=DatasetSource(canonical),
        spec=spec,
        stats=dataset_stats(canonical, spec),
        checks=checks,
        scorer=scorer or PriorScorer(),
        judge=judge,
        triage=triage or TriagePolicy(),
    )


async def areview(
    dataset: Dataset,
    spec: CompiledSpec,
    *,
    judge: Judge | None = None,
    scorer: Scorer | None = None,
    checks: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    chunk_size: int = 64,
    triage: TriagePolicy | None = None,
    progress: Progress | None = None,
    graph: ReviewGraph | None = None,
) -> AgentResult:
    usable, skipped = plan_checks(dataset, checks, exclude)
    if judge is not None and not judge.enabled:
        log.warning("no LLM judge endpoint configured (%s): heuristics only", judge.disabled_reason)
    ctx = build_context(dataset, spec, usable, scorer=scorer, judge=judge, triage=triage)
    graph = graph or build_graph()
    result = AgentResult(
        findings=[],
        checks_run=[c.id for c in usable],
        checks_skipped=skipped,
        stats=ctx.stats,
        labels=sum(len(f.labels) for f in dataset.frames),
    )
    ids = [f.id for f in dataset.frames]
    for start in range(0, len(ids), chunk_size):
        chunk = ids[start : start + chunk_size]
        request: ReviewInput = {"frame_ids": chunk}
        out = cast(ReviewOutput, await graph.ainvoke(request, config=run_config(), context=ctx))
        result.findings.extend(out["findings"])
        result.errors.extend(out["errors"])
        result.judge_tasks += len(out["tasks"])
        if progress:
            progress(len(chunk))
    result.findings.sort(key=review_order)
    if judge is not None and judge.enabled:
        result.judge = judge.summary(result.labels)
    return result


def review(dataset: Dataset, spec: CompiledSpec, **kwargs: Any) -> AgentResult:
    """``areview`` for synchronous callers."""
    return asyncio.run(areview(dataset, spec, **kwargs))
