"""Calibration versions: the refits of a spec's calibration on the service's audits (issue 19)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from api.schemas.common import NO_NUL
from gtqa.storage import CalibrationState


class QueuePrecision(BaseModel):
    """Real defects among the flags auditors decided (defect or not) that a calibration scored."""

    decided: int
    defects: int
    precision: float | None


class CalibrationVersionOut(BaseModel):
    id: int
    spec_name: str
    spec_hash: str
    data_format: str
    parent_id: int | None = Field(description="the version it would replace; None: shipped default or priors")
    status: CalibrationState
    reason: str
    n_audits: int = Field(description="decided flags with a known outcome it learned and was gated on")
    evaluation: dict[str, Any] | None = Field(
        description="the gate: metric, delta (candidate - current on held-out audits), lo, hi (95 % "
        "paired cluster bootstrap), n flags, clusters (frames)"
    )
    model_sha256: str | None
    created_at: datetime
    promoted_at: datetime | None
    current: bool
    precision_before: QueuePrecision | None = Field(
        default=None, description="the decided flags scored by the version it replaced (promoted ones)"
    )
    precision_after: QueuePrecision | None = Field(
        default=None, description="the decided flags scored by this version (promoted ones)"
    )


class RefitIn(BaseModel):
    spec_name: str = Field(min_length=1, max_length=120, pattern=NO_NUL)
    data_format: str = Field(min_length=1, max_length=40, pattern=NO_NUL)


class RefitQueued(BaseModel):
    spec_name: str
    data_format: str
    queued: bool
    error: str | None = None


class RolledBack(BaseModel):
    rolled_back: int
    current: int | None = Field(description="the version in use now; None: shipped default or priors")
    reprioritise_queued: bool
    error: str | None = None
