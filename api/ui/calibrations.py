"""The rollback button of the calibration tables (dashboard, spec page): ops roll the version in use
back; a worker then re-prioritises the pending queue. A form POST, so it carries the session's CSRF
token as a field (or the ``X-CSRF-Token`` header, as the pages' scripts send it)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import DispatcherDep, SessionDep
from api.errors import ApiError
from api.ui.access import CSRF_HEADER, OpsPage, PageRoute, check_csrf, ui_secret
from gtqa.storage import calibration_version, roll_back_calibration

log = logging.getLogger(__name__)
router = APIRouter(route_class=PageRoute)


@router.post("/ui/calibrations/{version_id}/rollback", name="calibration_rollback")
def rollback(
    request: Request,
    version_id: int,
    viewer: OpsPage,
    session: SessionDep,
    dispatcher: DispatcherDep,
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    if viewer.session is not None:
        check_csrf(request, ui_secret(request), viewer.session, csrf or request.headers.get(CSRF_HEADER))
    with session.begin():
        version = calibration_version(session, version_id)
        if not version.current:
            raise ApiError(409, "conflict", f"calibration version {version_id} is not the one in use")
        roll_back_calibration(session, version.spec_name, version.data_format)
    try:
        dispatcher.enqueue_reprioritise(version.spec_name, version.data_format)
    except Exception:
        log.exception(
            "could not queue the re-prioritisation of %s/%s", version.spec_name, version.data_format
        )
    return RedirectResponse("/ui/dashboard#calibration-h", status_code=303)
