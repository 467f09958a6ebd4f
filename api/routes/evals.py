"""Stored eval runs (``gtqa evals run``), for spec authors comparing spec and prompt versions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Reader, SettingsDep
from api.routing import api_router
from api.schemas.common import NO_NUL
from api.schemas.evals import EvalRunOut
from evals.harness.store import list_runs

router: APIRouter = api_router("evals")


@router.get("/evals/runs", summary="Stored eval runs, oldest first", response_model=list[EvalRunOut])
def runs(
    _: Reader,
    settings: SettingsDep,
    spec_hash: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
) -> list[EvalRunOut]:
    found = list_runs(settings.home, spec_hash=spec_hash)
    return [EvalRunOut.model_validate(r.model_dump()) for r in found]
