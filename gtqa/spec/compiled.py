"""The compiled spec: validated rules, their prose, and content hashes."""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from gtqa.domain import IssueType, Severity
from gtqa.spec.rules import (
    Dimensions3D,
    DontCare,
    JudgeRule,
    Occlusion,
    Priors,
    RequiredAttributes,
    RuleParams,
    Severities,
    SizeLimits,
    Taxonomy,
    Thresholds,
    Truncation,
)

K = TypeVar("K", bound=BaseModel)


class Rule(BaseModel):
    """One rule: its stable id, parameters, the prose around it, and where it was written."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: str
    params: RuleParams
    prose: str
    section: str
    line: int
    hash: str


class CompiledSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    version: str
    title: str
    path: str
    hash: str
    rules: dict[str, Rule]

    def rule(self, rule_id: str) -> Rule:
        try:
            return self.rules[rule_id]
        except KeyError:
            raise KeyError(f"no rule {rule_id!r}; rules: {', '.join(sorted(self.rules))}") from None

    def of_kind(self, model: type[K]) -> K | None:
        kind = model.model_fields["kind"].default
        for rule in self.rules.values():
            if rule.kind == kind:
                return rule.params  # type: ignore[return-value]
        return None

    def rule_id_of(self, model: type[BaseModel]) -> str | None:
        kind = model.model_fields["kind"].default
        return next((r.id for r in self.rules.values() if r.kind == kind), None)

    # Typed accessors; a spec without a rule of that kind gets its documented defaults.
    @property
    def taxonomy(self) -> Taxonomy:
        return self.of_kind(Taxonomy) or Taxonomy(classes={})

    @property
    def size_limits(self) -> SizeLimits:
        return self.of_kind(SizeLimits) or SizeLimits()

    @property
    def dimensions_3d(self) -> Dimensions3D:
        return self.of_kind(Dimensions3D) or Dimensions3D(classes={})

    @property
    def required_attributes(self) -> RequiredAttributes:
        return self.of_kind(RequiredAttributes) or RequiredAttributes()

    @property
    def dontcare(self) -> DontCare:
        return self.of_kind(DontCare) or DontCare()

    @property
    def truncation(self) -> Truncation:
        return self.of_kind(Truncation) or Truncation()

    @property
    def occlusion(self) -> Occlusion:
        return self.of_kind(Occlusion) or Occlusion(visible={0: (0.8, 1.0), 1: (0.3, 0.95), 2: (0.0, 0.6)})

    @property
    def thresholds(self) -> Thresholds:
        return self.of_kind(Thresholds) or Thresholds()

    @property
    def priors(self) -> Priors:
        return self.of_kind(Priors) or Priors()

    @property
    def judge_rules(self) -> list[Rule]:
        return [r for r in self.rules.values() if isinstance(r.params, JudgeRule)]

    def severity(self, issue: IssueType, cls: str | None = None) -> Severity:
        """Severity of a defect type, raised to the class's severity when that is higher."""
        severities = self.of_kind(Severities)
        base = severities.types.get(issue, Severity.medium) if severities else Severity.medium
        class_def = self.taxonomy.classes.get(cls or "")
        if class_def and class_def.severity.weight > base.weight:
            return class_def.severity
        return base

    @cached_property
    def aliases(self) -> dict[str, str]:
        """Alias -> the taxonomy class it spells (empty for a spec without aliases)."""
        return {a: name for name, d in self.taxonomy.classes.items() for a in d.aliases}

    def canonical(self, cls: str) -> str:
        """The taxonomy's name for a class as a label file spells it (itself when not an alias)."""
        return self.aliases.get(cls, cls)

    def is_dontcare(self, cls: str) -> bool:
        return self.canonical(cls) == self.taxonomy.dontcare

    def is_reviewed(self, cls: str) -> bool:
        """Whether labels of this class are objects to review (not DontCare or another region class)."""
        if self.is_dontcare(cls):
            return False
        class_def = self.taxonomy.classes.get(self.canonical(cls))
        return class_def.reviewed if class_def else True


def content_hash(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
