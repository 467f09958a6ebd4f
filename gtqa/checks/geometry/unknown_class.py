"""A label whose class is not in the spec's taxonomy (rule ``taxonomy``): a typo, a class from another
ontology, or a class the spec forgot. Skipped when the taxonomy lists no classes.

Every label is checked, DontCare too: a misspelt region class (``dontcare``) would otherwise be reviewed as
an object. A class that matches a known one except for case or separators gets the known spelling in the
message (``features['near_match']`` = 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gtqa.checks.base import Check, CheckParams
from gtqa.checks.scope import ReviewScope
from gtqa.domain import CheckFamily, Finding, IssueType
from gtqa.spec import CompiledSpec


class Params(CheckParams):
    known_classes: tuple[str, ...] = ()  # empty: no taxonomy, nothing to check


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    if not params.known_classes:
        return []
    known = frozenset(params.known_classes)
    folded = {_fold(c): c for c in params.known_classes}
    listing = ", ".join(params.known_classes)
    out: list[Finding] = []
    for frame in scope.frames:
        for label in frame.labels:
            if label.cls in known:
                continue
            near = folded.get(_fold(label.cls))
            hint = f" (did you mean {near!r}?)" if near else ""
            out.append(
                CHECK.flag(
                    label,
                    1.0,
                    f"class {label.cls!r} is not in the spec's taxonomy{hint}; known classes: {listing}",
                    params,
                    features={"near_match": float(near is not None)},
                )
            )
    return out


def _fold(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def _spec_defaults(spec: CompiledSpec) -> Mapping[str, Any]:
    return {"known_classes": tuple(spec.taxonomy.classes)}


CHECK = Check(
    id="unknown_class",
    fn=check,
    params=Params,
    issue_types=(IssueType.spec_violation,),
    family=CheckFamily.geometry,
    description="labels whose class is not in the spec's taxonomy",
    spec_defaults=_spec_defaults,
    rule_ids=("taxonomy",),
)
