"""The eval run file (``gtqa evals run --out run.json``): items, metrics and provenance of one run.

Infrastructure errors are counted apart from wrong answers: a check that crashed, and judge questions
that ended without an answer for a reason outside the model (``INFRA_FAILURES``: budget, timeout,
connection, rate limit, 5xx, other HTTP errors, offline cache miss, no endpoint). Answers the model got
wrong are the metrics' business; answers it failed to give (invalid output, refusal, content filter,
truncation) are counted as ``judge_unanswered``, neither infrastructure nor wrong.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from evals.harness.metrics import RunMetrics
from evals.harness.records import EvalItem
from gtqa.domain import JudgeFailure

RUN_KIND: Literal["gtqa-eval-run"] = "gtqa-eval-run"
RUN_VERSION = 1
INFRA_FAILURES = frozenset(
    {
        JudgeFailure.disabled, JudgeFailure.budget, JudgeFailure.timeout, JudgeFailure.connection,
        JudgeFailure.rate_limited, JudgeFailure.server_error, JudgeFailure.api_error, JudgeFailure.offline,
    }
)  # fmt: skip


class PromptRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    version: int
    sha256: str = ""
    path: str = ""  # the prompt file, relative to the repository when inside it


class RuleRef(BaseModel):
    """One rule of the spec a run used: its content hash and its parameters (for a rule-level diff)."""

    model_config = ConfigDict(frozen=True)

    kind: str
    hash: str
    params: dict[str, Any] = {}


class RunConfiguration(BaseModel):
    """How a run was asked for (``evals.harness.config``): name, command line, rules, prompt files,
    checks asked for (``None``: all) and excluded, decision settings. Defaults describe a run file
    written before the configuration was recorded."""

    model_config = ConfigDict(frozen=True)

    name: str | None = None
    command: str | None = None
    rules: dict[str, RuleRef] = {}
    prompts_dir: str | None = None
    prompt_files: tuple[PromptRef, ...] = ()
    checks_requested: tuple[str, ...] | None = None
    checks_excluded: tuple[str, ...] = ()
    default_calibration: bool = False
    budgets: tuple[int, ...] = ()

    @property
    def as_written(self) -> bool:
        """Whether the run reviewed with the spec as written: every check, none excluded."""
        return self.checks_requested is None and not self.checks_excluded


class AuditSetInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    checksum: str
    audits: int
    frames: int
    exhaustive_frames: int
    sources: tuple[str, ...] = ()
    frames_not_in_dataset: int = 0


class DatasetInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    root: str
    format: str
    predictions: tuple[str, ...] = ()
    frames: int
    frames_replayed: int


class Provenance(BaseModel):
    """Everything needed to tell two runs apart and to reproduce one."""

    model_config = ConfigDict(frozen=True)

    git_sha: str | None
    git_dirty: bool | None
    spec_name: str
    spec_version: str
    spec_hash: str
    spec_path: str
    prompts: tuple[PromptRef, ...] = ()
    judge_model: str
    judge_mode: str  # "off", "live", "offline" or "disabled: <why>"
    calibration: str  # "priors", or "sha256:<hex>" of the calibration file
    calibration_path: str | None = None
    checks: tuple[str, ...] = ()
    checks_skipped: dict[str, str] = {}
    settings: dict[str, Any] = {}
    audits: AuditSetInfo
    dataset: DatasetInfo
    started_at: datetime
    finished_at: datetime
    config: RunConfiguration | None = None

    @property
    def name(self) -> str | None:
        return self.config.name if self.config else None

    @property
    def as_written(self) -> bool:
        """The spec as written: every check (runs recorded before the configuration: none excluded)."""
        if self.config is not None:
            return self.config.as_written
        return not self.settings.get("exclude")

    @property
    def prompt_versions(self) -> dict[str, int]:
        return {p.id: p.version for p in self.prompts}


class JudgeStats(BaseModel):
    """What judging cost and how often it was right on audited flags. Latency: live calls only."""

    model_config = ConfigDict(frozen=True)

    questions: int
    calls: int
    cache_hits: int
    needs_human: int
    cost_usd: float
    prompt_tokens: int
    completion_tokens: int
    latency_mean_s: float | None
    latency_p50_s: float | None
    latency_p95_s: float | None
    answered_known: int  # verdicts defect / not_defect on flags with a known outcome
    correct: int
    wrong: int
    unsure: int


class InfraErrors(BaseModel):
    model_config = ConfigDict(frozen=True)

    check_errors: int = 0
    check_messages: tuple[str, ...] = ()
    judge: dict[str, int] = {}
    judge_unanswered: dict[str, int] = {}

    @property
    def total(self) -> int:
        return self.check_errors + sum(self.judge.values())

    @classmethod
    def of(cls, check_errors: list[str], failures: list[str]) -> InfraErrors:
        counts = Counter(failures)
        return cls(
            check_errors=len(check_errors),
            check_messages=tuple(check_errors[:50]),
            judge={k: v for k, v in sorted(counts.items()) if k in INFRA_FAILURES},
            judge_unanswered={k: v for k, v in sorted(counts.items()) if k not in INFRA_FAILURES},
        )


class EvalRun(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["gtqa-eval-run"] = RUN_KIND
    version: int = RUN_VERSION
    id: str
    provenance: Provenance
    metrics: RunMetrics
    infra: InfraErrors
    judge: JudgeStats | None = None
    items: tuple[EvalItem, ...]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> EvalRun:
        return cls.model_validate_json(path.read_text(encoding="utf-8"))
