"""Findings as the API lists them: the findings-file contract plus where they are stored."""

from __future__ import annotations

from pydantic import Field

from gtqa.domain import Finding


class FindingOut(Finding):
    id: int
    batch_id: int
    job_id: int
    priority: float = Field(description="review order: probability x severity weight under the job's spec")
