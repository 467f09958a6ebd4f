"""Calibration versions with the queue's precision before and after each promotion, for the API, the
dashboard and the spec page."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.schemas.calibrations import CalibrationVersionOut, QueuePrecision
from gtqa.storage import CalibrationState, CalibrationVersion, calibration_versions, queue_precision

SHOWN = (CalibrationState.promoted, CalibrationState.rolled_back)


def versions_out(
    session: Session, *, spec_name: str | None = None, data_format: str | None = None
) -> list[CalibrationVersionOut]:
    """Versions newest first; a promoted (or rolled back) one with the precision of the decided flags its
    parent scored (before) and it scored (after)."""
    versions = calibration_versions(session, spec_name=spec_name, data_format=data_format)
    tallies: dict[tuple[str, str], dict[int | None, tuple[int, int]]] = {}
    out = []
    for v in versions:
        key = (v.spec_name, v.data_format)
        if key not in tallies:
            tallies[key] = queue_precision(session, *key)
        out.append(_out(v, tallies[key]))
    return out


def _out(v: CalibrationVersion, tally: dict[int | None, tuple[int, int]]) -> CalibrationVersionOut:
    base = CalibrationVersionOut(
        id=v.id, spec_name=v.spec_name, spec_hash=v.spec_hash, data_format=v.data_format,
        parent_id=v.parent_id, status=v.status, reason=v.reason, n_audits=v.n_audits,
        evaluation=v.evaluation, model_sha256=v.model_sha256, created_at=v.created_at,
        promoted_at=v.promoted_at, current=v.current,
    )  # fmt: skip
    if v.status not in SHOWN:
        return base
    return base.model_copy(
        update={
            "precision_before": _precision(tally, v.parent_id),
            "precision_after": _precision(tally, v.id),
        }
    )


def _precision(tally: dict[int | None, tuple[int, int]], version: int | None) -> QueuePrecision:
    decided, defects = tally.get(version, (0, 0))
    return QueuePrecision(decided=decided, defects=defects, precision=defects / decided if decided else None)
