"""The spec author's pages: the specs with their rules and prose, each version (by hash) with its stored
eval runs (``evals.harness.store``) and whether its default calibration still applies (else which rule
changed), and the judge's prompt files with their versions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse

from agents.judge.prompts import PROMPTS_DIR, Prompt, PromptError, available, load_prompt, prompt_ids
from api.deps import ReadSessionDep, SettingsDep
from api.queries.calibrations import versions_out
from api.schemas.common import NO_NUL
from api.spec_lookup import default_spec, known_specs, lookup_spec
from api.ui.access import OPS_ROLES, PageRoute, ReaderPage
from api.ui.templates import render
from evals.harness.store import RunSummary, list_runs
from gtqa.scoring.calibration import default_calibration_status
from gtqa.settings import Settings
from gtqa.spec import CompiledSpec

router = APIRouter(route_class=PageRoute)

SpecRef = Annotated[str, PathParam(min_length=1, max_length=200, pattern=NO_NUL)]
HEADLINE = ("precision", "recall", "ap", "ece", "judge_cost_usd")


@dataclass(frozen=True)
class Version:
    spec: CompiledSpec
    default: bool
    runs: list[RunSummary]


@router.get("/ui/specs", response_class=HTMLResponse, name="specs")
def specs_page(request: Request, viewer: ReaderPage, settings: SettingsDep) -> HTMLResponse:
    context = {"viewer": viewer, "families": _families(settings), "headline": HEADLINE}
    return render(request, "specs.html", context)


@router.get("/ui/specs/{ref}", response_class=HTMLResponse, name="spec")
def spec_page(
    request: Request, ref: SpecRef, viewer: ReaderPage, settings: SettingsDep, session: ReadSessionDep
) -> HTMLResponse:
    spec = lookup_spec(settings, ref)
    versions = _families(settings).get(spec.name, [])
    rules = [(r, json.dumps(r.params.model_dump(mode="json"), indent=1)) for r in spec.rules.values()]
    context = {
        "viewer": viewer, "spec": spec, "rules": rules, "versions": versions, "headline": HEADLINE,
        "calibration": default_calibration_status(spec),
        "refits": versions_out(session, spec_name=spec.name), "can_roll_back": viewer.user.role in OPS_ROLES,
    }  # fmt: skip
    return render(request, "spec.html", context)


@router.get("/ui/prompts", response_class=HTMLResponse, name="prompts")
def prompts_page(request: Request, viewer: ReaderPage, settings: SettingsDep) -> HTMLResponse:
    runs = list_runs(settings.home)
    prompts = {pid: _versions(pid, PROMPTS_DIR, runs) for pid in sorted(prompt_ids(PROMPTS_DIR))}
    context = {"viewer": viewer, "prompts": prompts, "folder": "prompts/judge", "headline": HEADLINE}
    return render(request, "prompts.html", context)


def _families(settings: Settings) -> dict[str, list[Version]]:
    """Specs by name, each name's versions (hashes) in the order they were shipped or uploaded."""
    default = default_spec(settings).hash
    runs = list_runs(settings.home)
    out: dict[str, list[Version]] = {}
    for spec in known_specs(settings):
        mine = [r for r in runs if r.spec_hash == spec.hash]
        out.setdefault(spec.name, []).append(Version(spec, spec.hash == default, mine))
    return out


@dataclass(frozen=True)
class PromptVersion:
    version: int
    prompt: Prompt | None
    error: str | None
    runs: list[RunSummary]


def _versions(prompt_id: str, root: Path, runs: list[RunSummary]) -> list[PromptVersion]:
    out = []
    for version in reversed(available(prompt_id, root)):
        used = [r for r in runs if r.prompts.get(prompt_id) == version]
        try:
            out.append(PromptVersion(version, load_prompt(prompt_id, version, root), None, used))
        except PromptError as exc:
            out.append(PromptVersion(version, None, str(exc), used))
    return out
