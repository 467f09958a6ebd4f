"""What an eval run was configured with, and what differs between two runs' configurations.

``RunConfiguration`` is recorded in every run file (``Provenance.config``): the run's name, its command
line, the spec's rules (id, hash, parameters: for a rule-level difference), the judge's prompt files
(the version each prompt id resolves to, pinned or latest, with its file hash), the checks asked for and
excluded, the calibration file, and the judge's model and settings. ``config_diff`` lists what differs
between two runs, field by field, so a comparison says what the candidate changed. Run files written
before the configuration was recorded still diff on their provenance (spec, prompts, calibration,
judge, checks run).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from agents.judge.prompts import PromptError, available, load_prompt, prompt_ids
from evals.harness.runfile import PromptRef, Provenance, RuleRef, RunConfiguration
from gtqa.settings import REPO_ROOT
from gtqa.spec import CompiledSpec

__all__ = ["ConfigChange", "RunConfiguration", "config_diff", "prompt_files", "rule_refs", "shown_path"]

# Judge settings whose change changes the verdicts or their cost (the rest are plumbing).
_JUDGE_SETTINGS = (
    "judge_timeout_s", "judge_max_retries", "judge_max_calls", "judge_max_cost_usd",
    "judge_crop_margin", "judge_crop_max_px", "judge_prompt_pins",
)  # fmt: skip


class ConfigChange(BaseModel):
    """One field whose value differs between the base and the candidate run (``None``: not set)."""

    model_config = ConfigDict(frozen=True)

    field: str
    base: str | None
    candidate: str | None


def shown_path(path: Path | str) -> str:
    """A path relative to the repository when it lies inside it (the same on every machine)."""
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(REPO_ROOT))
    except ValueError:
        return str(resolved)


def rule_refs(spec: CompiledSpec) -> dict[str, RuleRef]:
    return {
        r.id: RuleRef(kind=r.kind, hash=r.hash, params=r.params.model_dump(mode="json"))
        for r in spec.rules.values()
    }


def prompt_files(root: Path, pins: Mapping[str, int]) -> tuple[PromptRef, ...]:
    """Every prompt id of the folder at the version a judge would use (its pin, else the latest)."""
    out = []
    for prompt_id in sorted(prompt_ids(root)):
        versions = available(prompt_id, root)
        version = pins.get(prompt_id, versions[-1] if versions else 0)
        try:
            prompt = load_prompt(prompt_id, version, root)
        except PromptError:
            out.append(PromptRef(id=prompt_id, version=version, sha256="", path="(unreadable)"))
            continue
        path = root / f"{prompt_id}.v{version}.md"
        out.append(
            PromptRef(id=prompt.id, version=prompt.version, sha256=prompt.sha256, path=shown_path(path))
        )
    return tuple(out)


def judge_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {k: settings[k] for k in _JUDGE_SETTINGS if k in settings}


def config_diff(base: Provenance, cand: Provenance) -> list[ConfigChange]:
    """The fields whose values differ, in a fixed order: spec and rules first, then prompts, checks,
    calibration, judge, decision settings and inputs."""
    a, b = _flat(base), _flat(cand)
    fields = list(dict.fromkeys([*a, *b]))
    changes = [
        ConfigChange(field=f, base=a.get(f), candidate=b.get(f)) for f in fields if a.get(f) != b.get(f)
    ]
    out = [_checks_run(base, cand) if c.field == "checks run" else c for c in changes]
    return [c for c in out if c.base != c.candidate]  # the same checks in another order are the same


def _checks_run(base: Provenance, cand: Provenance) -> ConfigChange:
    """The checks only one of the runs ran (the lists in full say little more and run long)."""
    only_base = [c for c in base.checks if c not in cand.checks]
    only_cand = [c for c in cand.checks if c not in base.checks]
    return ConfigChange(
        field="checks run by one run only",
        base=", ".join(only_base) or "none",
        candidate=", ".join(only_cand) or "none",
    )


def _flat(p: Provenance) -> dict[str, str]:
    c = p.config or RunConfiguration()
    out = {"spec": f"{p.spec_name} v{p.spec_version} @{p.spec_hash[:12]}", "spec file": p.spec_path}
    for rid, rule in sorted(c.rules.items()):
        out[f"rule {rid}"] = f"{rule.kind} {rule.hash[:12]}"
        out.update({f"rule {rid}: {k}": _text(v) for k, v in sorted(rule.params.items())})
    prompts = c.prompt_files or p.prompts
    out.update({f"prompt {r.id}": f"v{r.version} ({r.sha256[:12] or '?'})" for r in prompts})
    out["checks asked for"] = ", ".join(c.checks_requested) if c.checks_requested is not None else "all"
    out["checks excluded"] = ", ".join(c.checks_excluded) or "none"
    out["checks run"] = ", ".join(p.checks) or "none"
    out["calibration"] = p.calibration_path or p.calibration
    out["calibration file"] = p.calibration
    out["judge"] = p.judge_mode
    out["judge model"] = p.judge_model
    out.update({k.replace("_", " "): _text(v) for k, v in judge_settings(p.settings).items()})
    triage = p.settings.get("triage") or {}
    if isinstance(triage, dict) and triage:
        out["judge accuracy assumed (fusion)"] = _text(triage.get("judge_accuracy"))
        out["triage band"] = f"{_text(triage.get('low'))}-{_text(triage.get('high'))}"
    out["threshold"] = _text(p.settings.get("threshold"))
    out["budgets K"] = ", ".join(str(k) for k in c.budgets) if c.budgets else "?"
    out["predictions"] = ", ".join(p.dataset.predictions) or "none"
    out["dataset"] = f"{p.dataset.name} ({p.dataset.format})"
    return out


def _text(v: object) -> str:
    if v is None:
        return "?"
    return json.dumps(v, sort_keys=True, separators=(",", ":")) if isinstance(v, dict | list) else str(v)
