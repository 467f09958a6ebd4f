"""The operational summary: queue, jobs, audits and flag precision."""

from __future__ import annotations

from pydantic import BaseModel, Field


class TypePrecision(BaseModel):
    type: str
    defect: int
    not_defect: int
    unsure: int
    precision: float | None = Field(description="defect / (defect + not_defect); None before any audit")


class MetricsSummary(BaseModel):
    queue: dict[str, int] = Field(description="review items by status")
    jobs: dict[str, int] = Field(description="review jobs by status")
    audits: dict[str, int] = Field(description="audits by verdict, and the total")
    precision: list[TypePrecision] = Field(description="of flags decided in the queue, per issue type")
