"""Turning the agent's output into eval data: items with audit outcomes, judge statistics, provenance
pieces (git, file hashes, the settings that matter). Pure except ``git_state`` and ``file_sha256``."""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agents.context import TriagePolicy
from agents.judge import JudgeResult, JudgeSummary
from agents.judge.prompts import Prompt
from evals.harness.dataset import EvalDataset
from evals.harness.records import EvalItem, make_item
from evals.harness.runfile import JudgeStats, PromptRef
from gtqa.domain import Finding, Verdict
from gtqa.scoring.targets import audit_targets
from gtqa.settings import REPO_ROOT, Settings

# Settings that change what a run measures or costs (never secrets, never paths of this machine).
_SETTINGS = (
    "chunk_size", "judge_model", "judge_timeout_s", "judge_max_retries", "judge_concurrency",
    "judge_max_calls", "judge_max_cost_usd", "judge_price_input_per_mtok", "judge_price_output_per_mtok",
    "judge_crop_margin", "judge_crop_max_px", "judge_prompt_pins",
)  # fmt: skip


def eval_items(findings: Sequence[Finding], evals: EvalDataset) -> list[EvalItem]:
    """One item per flag, with its audit outcome; duplicate keys get a ``#n`` suffix."""
    targets = audit_targets(findings, evals.audits, exhaustive_frames=evals.exhaustive)
    vendors = evals.vendors()
    items: list[EvalItem] = []
    seen: dict[str, int] = {}
    for f, target in zip(findings, targets, strict=True):
        item = make_item(f, target, vendors.get(f.frame, ""))
        seen[item.key] = seen.get(item.key, 0) + 1
        if seen[item.key] > 1:
            item = item.model_copy(update={"key": f"{item.key}#{seen[item.key]}"})
        items.append(item)
    return items


def judge_stats(
    items: Sequence[EvalItem], results: Sequence[JudgeResult], summary: JudgeSummary | None
) -> JudgeStats:
    live = [r.latency_s for r in results if not r.cached and r.attempts > 0]
    judged = [i for i in items if i.judge is not None and i.outcome is not None]
    answered = [i for i in judged if i.judge and i.judge.verdict in (Verdict.defect, Verdict.not_defect)]
    correct = sum((i.judge.verdict == Verdict.defect) == (i.outcome == 1) for i in answered if i.judge)
    s = summary
    return JudgeStats(
        questions=len(results), calls=s.calls if s else 0, cache_hits=s.cache_hits if s else 0,
        needs_human=s.needs_human if s else 0, cost_usd=round(s.cost_usd, 6) if s else 0.0,
        prompt_tokens=s.prompt_tokens if s else 0, completion_tokens=s.completion_tokens if s else 0,
        latency_mean_s=_round(np.mean(live)) if live else None,
        latency_p50_s=_round(np.percentile(live, 50)) if live else None,
        latency_p95_s=_round(np.percentile(live, 95)) if live else None,
        answered_known=len(answered), correct=correct, wrong=len(answered) - correct,
        unsure=sum(1 for i in judged if i.judge and i.judge.verdict == Verdict.unsure),
    )  # fmt: skip


def _round(x: Any) -> float:
    return round(float(x), 4)


def failures(results: Sequence[JudgeResult]) -> list[str]:
    return [r.failure.value for r in results if r.failure is not None]


def prompt_refs(prompts: dict[tuple[str, int], Prompt]) -> tuple[PromptRef, ...]:
    return tuple(PromptRef(id=p.id, version=p.version, sha256=p.sha256) for _, p in sorted(prompts.items()))


def settings_snapshot(settings: Settings, triage: TriagePolicy) -> dict[str, Any]:
    values = {name: getattr(settings, name) for name in _SETTINGS}
    return {**values, "triage": dataclasses.asdict(triage)}


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def git_state(root: Path = REPO_ROOT) -> tuple[str | None, bool | None]:
    """The checkout's commit and whether tracked files differ from it (None, None outside git)."""
    sha = _git(root, "rev-parse", "HEAD")
    if not sha:
        return None, None
    return sha, bool(_git(root, "status", "--porcelain", "--untracked-files=no"))


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""
