"""Calibration versions in storage, on both backends: the version in use per (spec name, format), a
rollback that goes to the nearest promoted ancestor, the refit lease, and the decision counter."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from gtqa.storage import (
    CalibrationState,
    NotFoundError,
    acquire_refit_lease,
    calibration_model_json,
    calibration_versions,
    current_calibration,
    promote_calibration,
    record_calibration_version,
    release_refit_lease,
    roll_back_calibration,
)
from gtqa.storage.types import utcnow


def _version(session: Session, parent: int | None, model: str | None = '{"m": 1}') -> int:
    return record_calibration_version(
        session, spec_name="kitti", spec_hash="h" * 64, data_format="kitti", parent_id=parent,
        status=CalibrationState.candidate, reason="", n_audits=10, model_json=model,
    )  # fmt: skip


def _current(sessions: sessionmaker[Session]) -> int | None:
    with sessions() as session:
        head = current_calibration(session, "kitti", "kitti")
    return head.id if head is not None else None


def test_rollback_goes_to_the_nearest_promoted_ancestor(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        first = _version(session, None)
        promote_calibration(session, first)
        second = _version(session, first)  # fitted while the first was in use
    assert _current(sessions) == first
    with sessions.begin() as session:
        assert roll_back_calibration(session, "kitti", "kitti") == (first, None)  # ops roll the first back
        promote_calibration(session, second)  # the refit that was running finishes and passes its gate
    with sessions.begin() as session:
        assert roll_back_calibration(session, "kitti", "kitti") == (
            second,
            None,
        )  # its parent was rolled back
    assert _current(sessions) is None
    with sessions.begin() as session, pytest.raises(NotFoundError):
        roll_back_calibration(session, "kitti", "kitti")
    with sessions() as session:
        statuses = {v.id: v.status for v in calibration_versions(session)}
        assert calibration_model_json(session, first) == '{"m": 1}'
    assert statuses == {first: CalibrationState.rolled_back, second: CalibrationState.rolled_back}


def test_the_refit_lease_is_held_until_released_or_expired(sessions: sessionmaker[Session]) -> None:
    now = utcnow()
    with sessions.begin() as session:
        assert acquire_refit_lease(session, "kitti", "kitti", "w1", lease_s=60, now=now)
        assert not acquire_refit_lease(session, "kitti", "kitti", "w2", lease_s=60, now=now)
        assert acquire_refit_lease(session, "kitti", "coco", "w2", lease_s=60, now=now)  # another format
    later = now + timedelta(seconds=61)
    with sessions.begin() as session:
        assert acquire_refit_lease(session, "kitti", "kitti", "w2", lease_s=60, now=later)  # w1's expired
        release_refit_lease(session, "kitti", "kitti", "w1")  # not w1's any more: nothing happens
        assert not acquire_refit_lease(session, "kitti", "kitti", "w3", lease_s=60, now=later)
        release_refit_lease(session, "kitti", "kitti", "w2")
        assert acquire_refit_lease(session, "kitti", "kitti", "w3", lease_s=60, now=later)
