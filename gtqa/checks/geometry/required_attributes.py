"""A label without a free attribute the spec requires for its class (rule ``required-attributes``).

Only free attribute keys (``Label.attributes``, e.g. BDD's ``occluded`` / ``truncated``) can be required.
Label *fields* (truncation, occlusion, alpha, cuboid, track_id) are never checked here: None in a field
means the format marks it unknown, and an unknown value is not a defect. DontCare labels are not
reviewed. A missing key is a fact, not an estimate, so the evidence is full strength.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from gtqa.checks.base import Check, CheckParams
from gtqa.checks.scope import ReviewScope
from gtqa.domain import CheckFamily, Finding, IssueType
from gtqa.spec import CompiledSpec


class Params(CheckParams):
    default: tuple[str, ...] = ()  # keys required of classes not listed in ``classes``
    classes: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    def for_class(self, cls: str) -> tuple[str, ...]:
        return self.classes.get(cls, self.default)


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    if not params.default and not any(params.classes.values()):
        return []
    out: list[Finding] = []
    for frame in scope.frames:
        for _, label in scope.reviewed(frame):
            required = params.for_class(label.cls)
            missing = [key for key in required if key not in label.attributes]
            if not missing:
                continue
            out.append(
                CHECK.flag(
                    label,
                    1.0,
                    f"{label.cls} label lacks required attribute(s) {', '.join(missing)} "
                    f"(the spec requires {', '.join(required)})",
                    params,
                    features={"n_missing": float(len(missing)), "n_required": float(len(required))},
                )
            )
    return out


def _spec_defaults(spec: CompiledSpec) -> Mapping[str, Any]:
    rule = spec.required_attributes
    return {"default": tuple(rule.default), "classes": {k: tuple(v) for k, v in rule.classes.items()}}


CHECK = Check(
    id="required_attributes",
    fn=check,
    params=Params,
    issue_types=(IssueType.attribute,),
    family=CheckFamily.geometry,
    description="labels missing a free attribute the spec requires for their class",
    spec_defaults=_spec_defaults,
    rule_ids=("required-attributes",),
)
