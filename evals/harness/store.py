"""An append-only store of eval runs, so trends over spec and prompt versions can be shown.

Layout under ``<settings.home>/evals/``: ``runs/<run id>.json`` (the whole run file, written once, never
replaced) and ``index.jsonl`` (one ``RunSummary`` per line, appended under an exclusive lock). A run is
keyed by its spec hash and prompt versions (``RunSummary.version_key``) and its eval dataset by the
audit checksum. ``list_runs()`` is what a page calls to list runs and their headline metrics.
"""

from __future__ import annotations

import fcntl
import logging
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from evals.harness.runfile import EvalRun
from gtqa.settings import get_settings

log = logging.getLogger(__name__)


class RunSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    started_at: datetime
    dataset: str
    audits: str  # the eval dataset's name
    audit_checksum: str
    spec_name: str
    spec_hash: str
    prompts: dict[str, int]
    calibration: str
    judge_mode: str
    judge_model: str
    git_sha: str | None
    headline: dict[str, float | None]
    infra_errors: int
    path: str
    name: str | None = None
    as_written: bool | None = None  # every check, none excluded (None: not recorded, an older run)
    checks_note: str = ""  # what the run asked for when not the spec as written

    @property
    def version_key(self) -> str:
        prompts = ",".join(f"{k}.v{v}" for k, v in sorted(self.prompts.items()))
        return f"{self.spec_name}@{self.spec_hash[:12]}|{prompts or 'no-judge'}|{self.calibration[:19]}"


def store_dir(home: Path | None = None) -> Path:
    return (home or get_settings().home) / "evals"


def summary_of(run: EvalRun, path: Path) -> RunSummary:
    p, m = run.provenance, run.metrics.overall
    headline = {"precision": m.precision, "recall": m.recall, "f1": m.f1, "ap": m.ap, "ece": m.ece}
    headline.update({f"precision_at_{k}": v for k, v in m.precision_at.items()})
    headline["judge_cost_usd"] = run.judge.cost_usd if run.judge else None
    return RunSummary(
        id=run.id, started_at=p.started_at, dataset=p.dataset.name, audits=p.audits.name,
        audit_checksum=p.audits.checksum, spec_name=p.spec_name, spec_hash=p.spec_hash,
        prompts=p.prompt_versions, calibration=p.calibration, judge_mode=p.judge_mode,
        judge_model=p.judge_model, git_sha=p.git_sha, headline=headline, infra_errors=run.infra.total,
        path=str(path), name=p.name, as_written=p.as_written if p.config else None,
        checks_note=_checks_note(run),
    )  # fmt: skip


def _checks_note(run: EvalRun) -> str:
    c = run.provenance.config
    if c is None or c.as_written:
        return ""
    parts = [f"only {', '.join(c.checks_requested)}"] if c.checks_requested is not None else []
    parts += [f"excluded {', '.join(c.checks_excluded)}"] if c.checks_excluded else []
    return "; ".join(parts)


def save_run(run: EvalRun, home: Path | None = None) -> RunSummary:
    """Store a run (its file is never overwritten: the same id twice is an error) and index it."""
    root = store_dir(home)
    path = root / "runs" / f"{run.id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as fh:
        fh.write(run.model_dump_json(indent=1) + "\n")
    summary = summary_of(run, path)
    with (root / "index.jsonl").open("a", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.write(summary.model_dump_json() + "\n")
        fh.flush()
    return summary


def list_runs(
    home: Path | None = None, *, spec_hash: str | None = None, audit_checksum: str | None = None
) -> list[RunSummary]:
    """Stored runs, oldest first, optionally of one spec hash or one eval dataset (audit checksum)."""
    index = store_dir(home) / "index.jsonl"
    if not index.is_file():
        return []
    runs = []
    for number, line in enumerate(index.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            runs.append(RunSummary.model_validate_json(line))
        except ValidationError:
            log.warning("%s:%d: not a run summary, skipped", index, number)
    runs = [
        r for r in runs if spec_hash in (None, r.spec_hash) and audit_checksum in (None, r.audit_checksum)
    ]
    return sorted(runs, key=lambda r: r.started_at)


def load_run(run_id: str, home: Path | None = None) -> EvalRun:
    return EvalRun.load(store_dir(home) / "runs" / f"{run_id}.json")


def trends(home: Path | None = None, *, audit_checksum: str | None = None) -> dict[str, list[RunSummary]]:
    """Runs grouped by spec and prompt versions (``RunSummary.version_key``), each group oldest first."""
    groups: dict[str, list[RunSummary]] = {}
    for run in list_runs(home, audit_checksum=audit_checksum):
        groups.setdefault(run.version_key, []).append(run)
    return groups
