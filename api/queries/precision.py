"""Flag precision, per check or issue type, from the auditors' queue decisions that ``gtqa.storage``
counts (the metrics summary and the ops dashboard)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy.orm import Session

from api.schemas.metrics import TypePrecision
from gtqa.domain import IssueType, Verdict
from gtqa.storage import FlagDecisions, flag_decisions


@dataclass(frozen=True)
class PrecisionRow:
    key: str
    defect: int
    not_defect: int
    unsure: int

    @property
    def precision(self) -> float | None:
        decided = self.defect + self.not_defect
        return self.defect / decided if decided else None


def flag_precision(decisions: list[FlagDecisions], by: str) -> list[PrecisionRow]:
    """Per the flag's ``check`` or issue ``type``, most decided first."""
    counts: dict[str, dict[Verdict, int]] = defaultdict(lambda: defaultdict(int))
    for d in decisions:
        counts[d.check if by == "check" else d.type.value][d.verdict] += d.count
    rows = [
        PrecisionRow(key, c[Verdict.defect], c[Verdict.not_defect], c[Verdict.unsure])
        for key, c in counts.items()
    ]
    return sorted(rows, key=lambda r: (-(r.defect + r.not_defect + r.unsure), r.key))


def precision_by_type(session: Session) -> list[TypePrecision]:
    """Of the flags auditors decided in the queue: how many were real defects, per issue type (every
    type listed)."""
    found = {r.key: r for r in flag_precision(flag_decisions(session), "type")}
    return [_typed(found.get(issue.value, PrecisionRow(issue.value, 0, 0, 0))) for issue in IssueType]


def _typed(row: PrecisionRow) -> TypePrecision:
    return TypePrecision(
        type=row.key, defect=row.defect, not_defect=row.not_defect, unsure=row.unsure, precision=row.precision
    )
