"""Fakes for testing the eval harness and what reads its files: items and run files built by hand, with
no replay. Nothing here is used by the harness itself."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from evals.harness.metrics import run_metrics
from evals.harness.records import EvalItem
from evals.harness.runfile import AuditSetInfo, DatasetInfo, EvalRun, InfraErrors, Provenance
from gtqa.domain import IssueType


def flag(
    frame: str,
    label: str | None,
    score: float,
    outcome: int | None,
    *,
    type: str = "bad_box",
    cls: str = "Pedestrian",
    box: tuple[float, float, float, float] = (0, 0, 10, 20),
    vendor: str = "acme",
) -> EvalItem:
    issue = IssueType(type)
    key = f"{frame}|{label}|{type}" if label else f"{frame}|missing@{','.join(str(round(v)) for v in box)}"
    return EvalItem(
        key=key, frame=frame, sequence=frame.partition("/")[0], label=label, type=issue, cls=cls, check="c",
        box=box, score=score, outcome=outcome, vendor=vendor,
    )  # fmt: skip


def make_run(
    items: Sequence[EvalItem], *, run_id: str = "run", checksum: str = "a" * 64, **prov: object
) -> EvalRun:
    now = datetime(2026, 11, 26, tzinfo=UTC)
    values: dict[str, object] = {
        "git_sha": None, "git_dirty": None, "spec_name": "kitti", "spec_version": "1", "spec_hash": "s" * 64,
        "spec_path": "specs/kitti.md", "judge_model": "gpt-4o-mini", "judge_mode": "off",
        "calibration": "priors", "started_at": now, "finished_at": now,
        "audits": AuditSetInfo(name="t", checksum=checksum, audits=1, frames=1, exhaustive_frames=0),
        "dataset": DatasetInfo(name="t", root=".", format="kitti", frames=1, frames_replayed=1),
        **prov,
    }  # fmt: skip
    return EvalRun(
        id=run_id,
        provenance=Provenance.model_validate(values),
        metrics=run_metrics(items),
        infra=InfraErrors(),
        items=tuple(items),
    )
