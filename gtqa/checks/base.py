"""The contract every check follows.

A check is a pure function ``fn(scope, params) -> list[Finding]``: deterministic, no I/O, every finding
carrying a raw evidence strength in [0, 1]. Turning raw strength into a probability, fusing checks and
ordering the queue happen later (``gtqa.scoring``). Parameters are a pydantic model whose defaults come
from the compiled spec; the parameters used are stored on every finding.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from gtqa.checks.scope import ReviewScope
from gtqa.domain import CheckFamily, Finding, IssueType, Label, Requirement
from gtqa.domain.geometry import FloatArray
from gtqa.spec import CompiledSpec, SpecError
from gtqa.spec.rules import Thresholds


class CheckParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


P = TypeVar("P", bound=CheckParams)


@dataclass(frozen=True)
class Check(Generic[P]):
    """A registered check. ``spec_defaults`` maps the compiled spec to parameter values (e.g. the size
    limits), and the spec's ``thresholds`` rule may override any parameter by name."""

    id: str
    fn: Callable[[ReviewScope, P], list[Finding]]
    params: type[P]
    issue_types: tuple[IssueType, ...]
    family: CheckFamily
    description: str
    requires: frozenset[Requirement] = frozenset()
    spec_defaults: Callable[[CompiledSpec], Mapping[str, Any]] | None = None
    rule_ids: tuple[str, ...] = field(default=())
    # Reports on each frame from that frame alone (its pixels): the runner then runs it frame by frame
    # beside the other frame-local checks, so they share the frame's decoded image.
    frame_local: bool = False

    def params_for(self, spec: CompiledSpec) -> P:
        values = dict(self.spec_defaults(spec)) if self.spec_defaults else {}
        values.update(spec.thresholds.checks.get(self.id, {}))
        try:
            return self.params.model_validate(values)
        except ValidationError as exc:
            rule = spec.rule_id_of(Thresholds)
            line = spec.rules[rule].line if rule else 0
            raise SpecError(
                [
                    f"{spec.path}:{line}: thresholds for check {self.id!r}: "
                    f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                    for e in exc.errors()
                ]
            ) from None

    def run(self, scope: ReviewScope, params: P | None = None) -> list[Finding]:
        used = params if params is not None else self.params_for(scope.spec)
        return self.fn(scope, used)

    def flag(
        self,
        label: Label,
        raw: float,
        message: str,
        params: P,
        *,
        issue: IssueType | None = None,
        features: Mapping[str, float] | None = None,
        rule_ids: tuple[str, ...] | None = None,
        proposed_box: tuple[float, float, float, float] | None = None,
    ) -> Finding:
        """This check's finding about ``label`` (``label_finding`` with the check's id): of the check's
        issue type unless ``issue`` says which of its types, citing the check's rules unless
        ``rule_ids`` says otherwise."""
        if issue is None:
            if len(self.issue_types) != 1:
                raise ValueError(f"check {self.id!r} reports {len(self.issue_types)} issue types: say which")
            issue = self.issue_types[0]
        return label_finding(
            label, issue, raw, self.id, message, params, features=features,
            rule_ids=self.rule_ids if rule_ids is None else rule_ids, proposed_box=proposed_box,
        )  # fmt: skip


@overload
def ramp(x: float, lo: float, hi: float) -> float: ...


@overload
def ramp(x: FloatArray, lo: float, hi: float) -> FloatArray: ...


def ramp(x: float | FloatArray, lo: float, hi: float) -> float | FloatArray:
    """Evidence that ramps linearly: 0 at or below ``lo``, 1 at or above ``hi`` (``hi < lo`` ramps
    downwards), in the units of ``x``; a step at ``lo`` when ``hi == lo``. Elementwise over an array
    (the LiDAR checks score whole frames at once), with the same edges as for a number."""
    if isinstance(x, int | float):  # one value, as most checks score: no numpy cost per call
        if hi == lo:
            return 1.0 if x > lo else 0.0
        return float(min(max((float(x) - lo) / (hi - lo), 0.0), 1.0))
    v = np.asarray(x, dtype=np.float64)
    out = np.where(v > lo, 1.0, 0.0) if hi == lo else np.clip((v - lo) / (hi - lo), 0.0, 1.0)
    return np.asarray(out, dtype=np.float64)


def label_finding(
    label: Label,
    issue: IssueType,
    raw: float,
    check: str,
    message: str,
    params: CheckParams,
    *,
    features: Mapping[str, float] | None = None,
    rule_ids: tuple[str, ...] = (),
    proposed_box: tuple[float, float, float, float] | None = None,
) -> Finding:
    """A finding about an existing label; ``score`` starts as ``raw`` until priors are applied.
    ``proposed_box`` is where the check thinks the object really is, when it has an opinion."""
    raw = float(min(max(raw, 0.0), 1.0))
    return Finding(
        frame=label.frame,
        label=label.id,
        cls=label.cls,
        proposed_box=proposed_box,
        type=issue,
        score=raw,
        raw=raw,
        box=(label.box.x1, label.box.y1, label.box.x2, label.box.y2),
        check=check,
        message=message,
        features={k: float(v) for k, v in (features or {}).items()},
        rule_ids=rule_ids,
        params=params.model_dump(mode="json"),
        evidence=(check,),
    )


def missing_finding(
    frame: str,
    box: tuple[float, float, float, float],
    raw: float,
    check: str,
    message: str,
    params: CheckParams,
    *,
    features: Mapping[str, float] | None = None,
    rule_ids: tuple[str, ...] = (),
    cls: str | None = None,
    track: int | None = None,
) -> Finding:
    """A proposed missing object: no label, the proposed box (and the class proposed, when known; the
    track whose object it is, when a track's gap proposed it)."""
    raw = float(min(max(raw, 0.0), 1.0))
    return Finding(
        frame=frame,
        label=None,
        cls=cls,
        type=IssueType.missing_object,
        score=raw,
        raw=raw,
        box=tuple(float(v) for v in box),
        check=check,
        message=message,
        features={k: float(v) for k, v in (features or {}).items()},
        rule_ids=rule_ids,
        params=params.model_dump(mode="json"),
        evidence=(check,),
        track=track,
    )
