"""Running checks over scopes: chunking a dataset with sequence context, isolating check failures."""

from __future__ import annotations

import traceback
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import groupby
from typing import Any

from gtqa.checks.base import Check
from gtqa.checks.scope import CONTEXT_FRAMES, ImageLoader, ReviewScope
from gtqa.checks.stats import DatasetStats
from gtqa.domain import Finding, Frame
from gtqa.formats.images import caching_loader
from gtqa.spec import CompiledSpec


@dataclass
class CheckRun:
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # infrastructure errors: a check that crashed


def run_checks(scope: ReviewScope, checks: Sequence[Check[Any]]) -> CheckRun:
    """Run every check on a scope. A check that raises is reported and the others still run, so one
    odd frame never sinks a batch. Consecutive frame-local checks run frame by frame together, so they
    share each frame's decoded image (the loader caches a few); the findings keep the order of a
    check-by-check run."""
    result = CheckRun()
    for local, group in groupby(checks, key=lambda c: c.frame_local):
        if local:
            _frame_by_frame(scope, list(group), result)
        else:
            for check in group:
                result.findings.extend(_run(check, scope, check.params_for(scope.spec), result.errors))
    return result


def _frame_by_frame(scope: ReviewScope, checks: list[Check[Any]], result: CheckRun) -> None:
    params = [check.params_for(scope.spec) for check in checks]
    found: list[list[Finding]] = [[] for _ in checks]
    for frame in scope.frames:
        one = replace(scope, frames=(frame,))
        for check, p, out in zip(checks, params, found, strict=True):
            out.extend(_run(check, one, p, result.errors))
    for out in found:
        result.findings.extend(out)


def _run(check: Check[Any], scope: ReviewScope, params: Any, errors: list[str]) -> list[Finding]:
    try:
        return check.fn(scope, params)
    except Exception as exc:  # noqa: BLE001 - reported, never swallowed silently
        frames = f"{scope.frames[0].id}..{scope.frames[-1].id}" if scope.frames else "-"
        tail = traceback.format_exception_only(exc)[-1].strip()
        errors.append(f"check {check.id} failed on frames {frames}: {tail}")
        return []


class SequenceIndex:
    """Frames grouped by sequence, to hand a chunk the neighbouring frames it needs as context."""

    def __init__(self, frames: Iterable[Frame]) -> None:
        self._by_seq: dict[str, list[Frame]] = {}
        for frame in frames:
            if frame.sequence is not None:
                self._by_seq.setdefault(frame.sequence, []).append(frame)

    def context(self, chunk: Sequence[Frame], window: int) -> tuple[Frame, ...]:
        """Frames of the chunk's sequences within ``window`` frames of it, the chunk itself excluded."""
        ids = {f.id for f in chunk}
        spans: dict[str, tuple[int, int]] = {}
        for f in chunk:
            if f.sequence is not None:
                lo, hi = spans.get(f.sequence, (f.index, f.index))
                spans[f.sequence] = (min(lo, f.index), max(hi, f.index))
        return tuple(
            f for seq, (lo, hi) in spans.items() for f in self._by_seq.get(seq, [])
            if lo - window <= f.index <= hi + window and f.id not in ids
        )  # fmt: skip


def chunk_scopes(
    frames: Sequence[Frame],
    spec: CompiledSpec,
    stats: DatasetStats,
    *,
    chunk_size: int = 64,
    context_frames: int = CONTEXT_FRAMES,
    load_image: ImageLoader | None = None,
) -> Iterator[ReviewScope]:
    """Consecutive chunks of frames, each with the frames of its sequences within ``context_frames``
    of the chunk as read-only context."""
    index = SequenceIndex(frames)
    loader = load_image or caching_loader()
    for start in range(0, len(frames), chunk_size):
        chunk = tuple(frames[start : start + chunk_size])
        yield ReviewScope(
            frames=chunk,
            spec=spec,
            stats=stats,
            load_image=loader,
            context=index.context(chunk, context_frames),
        )
