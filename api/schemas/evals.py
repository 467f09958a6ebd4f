"""Stored eval runs."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class EvalRunOut(BaseModel):
    id: str
    started_at: datetime
    dataset: str
    audits: str
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
