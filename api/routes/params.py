"""Path and query parameter types shared by the routers, and the findings filter (the list and the
exports take the same one)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query

from api.schemas.common import MAX_ID, NO_NUL
from gtqa.domain import IssueType
from gtqa.storage import FindingFilter

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="matches to skip")]

Text = Annotated[str | None, Query(max_length=200, pattern=NO_NUL)]


def finding_filter(
    batch_id: IdQuery = None,
    job_id: IdQuery = None,
    vendor: Text = None,
    type: Annotated[IssueType | None, Query(description="issue type")] = None,
    min_score: Annotated[float | None, Query(ge=0.0, le=1.0)] = None,
    check: Text = None,
    frame: Text = None,
) -> FindingFilter:
    return FindingFilter(
        batch_id=batch_id,
        job_id=job_id,
        vendor=vendor,
        type=type,
        min_score=min_score,
        check=check,
        frame=frame,
    )


FilterDep = Annotated[FindingFilter, Depends(finding_filter)]
