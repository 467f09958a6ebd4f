"""The learning queue's calibration versions (issue 19): list them with their evaluation and the queue's
precision before and after each promotion; ask for a refit; roll the version in use back (ops). The
refit and the re-prioritisation run on the workers (``workers.learning``)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import DispatcherDep, Operator, Reader, ReadSessionDep, SessionDep
from api.errors import ApiError, errors
from api.queries.calibrations import versions_out
from api.routes.params import IdPath
from api.routing import api_router
from api.schemas.calibrations import CalibrationVersionOut, RefitIn, RefitQueued, RolledBack
from api.schemas.common import NO_NUL
from gtqa.storage import calibration_keys, calibration_version, roll_back_calibration

log = logging.getLogger(__name__)
router: APIRouter = api_router("calibrations")


@router.get(
    "/calibrations",
    summary="Calibration versions, newest first, with their evaluation",
    response_model=list[CalibrationVersionOut],
)
def calibrations(
    _: Reader,
    session: ReadSessionDep,
    spec_name: Annotated[str | None, Query(max_length=120, pattern=NO_NUL)] = None,
    data_format: Annotated[str | None, Query(max_length=40, pattern=NO_NUL)] = None,
) -> list[CalibrationVersionOut]:
    return versions_out(session, spec_name=spec_name, data_format=data_format)


@router.post(
    "/calibrations/refit",
    summary="Queue a refit of a spec's calibration on one data format",
    status_code=202,
    response_model=RefitQueued,
    responses=errors(404),
)
def refit(body: RefitIn, _: Operator, session: ReadSessionDep, dispatcher: DispatcherDep) -> RefitQueued:
    """A worker refits on the service's audits, gates the candidate and promotes it only if it is better
    (the outcome is a new version, listed by ``GET /calibrations``)."""
    if (body.spec_name, body.data_format) not in calibration_keys(session):
        raise ApiError(404, "not_found", f"no batch of spec {body.spec_name} on {body.data_format} data")
    try:
        dispatcher.enqueue_refit(body.spec_name, body.data_format)
    except Exception as exc:
        log.exception("could not queue the refit of %s/%s", body.spec_name, body.data_format)
        return RefitQueued(**body.model_dump(), queued=False, error=f"{type(exc).__name__}: {exc}")
    return RefitQueued(**body.model_dump(), queued=True)


@router.post(
    "/calibrations/{version_id}/rollback",
    summary="Roll the calibration version in use back",
    response_model=RolledBack,
    responses=errors(404, 409),
)
def rollback(version_id: IdPath, _: Operator, session: SessionDep, dispatcher: DispatcherDep) -> RolledBack:
    """Only the version in use can be rolled back: its nearest promoted ancestor (or the shipped default,
    or the priors) scores new flags at once, and a worker re-prioritises the pending queue with it."""
    with session.begin():
        version = calibration_version(session, version_id)
        if not version.current:
            raise ApiError(409, "conflict", f"calibration version {version_id} is not the one in use")
        rolled, now = roll_back_calibration(session, version.spec_name, version.data_format)
    try:
        dispatcher.enqueue_reprioritise(version.spec_name, version.data_format)
    except Exception as exc:
        log.exception(
            "could not queue the re-prioritisation of %s/%s", version.spec_name, version.data_format
        )
        return RolledBack(rolled_back=rolled, current=now, reprioritise_queued=False, error=str(exc))
    return RolledBack(rolled_back=rolled, current=now, reprioritise_queued=True)
