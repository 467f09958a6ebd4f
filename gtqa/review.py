"""The heuristic review of a dataset, as one pure function: checks -> priors or calibration -> fusion.

The LangGraph agent (``agents/``) runs the same steps node by node and adds the LLM judge; this is the
reference path it must agree with, and what benchmarks call when they measure the checks alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from gtqa.checks.base import Check
from gtqa.checks.registry import applicable, data_features, select
from gtqa.checks.runner import chunk_scopes, run_checks
from gtqa.checks.scope import canonical_frames, iter_canonical
from gtqa.checks.stats import DatasetStats, compute_stats
from gtqa.domain import Dataset, Finding, Frame, Requirement
from gtqa.scoring.scorer import PriorScorer, Scorer
from gtqa.spec import CompiledSpec

Progress = Callable[[int], None]  # called with the number of frames just reviewed


@dataclass
class ReviewResult:
    findings: list[Finding]
    checks_run: list[str]
    checks_skipped: dict[str, str]
    errors: list[str] = field(default_factory=list)
    stats: DatasetStats | None = None


def dataset_stats(dataset: Dataset, spec: CompiledSpec) -> DatasetStats:
    return compute_stats(canonical_frames(dataset.frames, spec), spec.is_reviewed)


def stream_plan(
    frames: Iterable[Frame],
    spec: CompiledSpec,
    ids: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    *,
    have: Iterable[Requirement] = (),
) -> tuple[list[Check[Any]], DatasetStats]:
    """``plan_checks`` and ``dataset_stats`` in one pass over frames that are never held together (a
    batch read page by page from storage), with the same results. ``have`` adds what the data offers
    but the frames do not show (predictions a caller did not load, knowing they exist)."""
    features: set[Requirement] = set(have)

    def noted(frames: Iterable[Frame]) -> Iterator[Frame]:
        for frame in frames:
            features.update(data_features((frame,)))
            yield frame

    stats = compute_stats(iter_canonical(noted(frames), spec), spec.is_reviewed)
    return [c for c in select(ids, exclude=exclude) if c.requires <= features], stats


def plan_checks(
    dataset: Dataset, ids: Sequence[str] | None = None, exclude: Sequence[str] = ()
) -> tuple[list[Check[Any]], dict[str, str]]:
    """The checks to run on this data, and why the others are skipped (missing predictions, images…)."""
    chosen = select(ids, exclude=exclude)
    usable = applicable(chosen, dataset)
    skipped = {c.id: f"needs {', '.join(sorted(c.requires))}" for c in chosen if c not in usable}
    return usable, skipped


def review_dataset(
    dataset: Dataset,
    spec: CompiledSpec,
    *,
    checks: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    chunk_size: int = 64,
    progress: Progress | None = None,
    scorer: Scorer | None = None,
) -> ReviewResult:
    usable, skipped = plan_checks(dataset, checks, exclude)
    stats = dataset_stats(dataset, spec)
    raw: list[Finding] = []
    errors: list[str] = []
    for scope in chunk_scopes(dataset.frames, spec, stats, chunk_size=chunk_size):
        run = run_checks(scope, usable)
        raw.extend(run.findings)
        errors.extend(run.errors)
        if progress:
            progress(len(scope.frames))
    findings = (scorer or PriorScorer()).score(raw, spec)
    return ReviewResult(
        findings=findings,
        checks_run=[c.id for c in usable],
        checks_skipped=skipped,
        errors=errors,
        stats=stats,
    )
