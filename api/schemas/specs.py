"""Specs as the API lists and shows them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from gtqa.spec import CompiledSpec


class SpecSummary(BaseModel):
    name: str
    version: str
    title: str
    hash: str
    rule_count: int
    default: bool = Field(description="what a batch is reviewed under when it names no spec")

    @classmethod
    def of(cls, spec: CompiledSpec, default_hash: str) -> SpecSummary:
        return cls(
            name=spec.name,
            version=spec.version,
            title=spec.title,
            hash=spec.hash,
            rule_count=len(spec.rules),
            default=spec.hash == default_hash,
        )


class RuleOut(BaseModel):
    id: str
    kind: str
    section: str
    line: int
    prose: str
    hash: str
    params: dict[str, Any]


class SpecOut(SpecSummary):
    rules: list[RuleOut] = Field(description="in the order the spec writes them")

    @classmethod
    def full(cls, spec: CompiledSpec, default_hash: str) -> SpecOut:
        rules = [
            RuleOut(
                id=r.id,
                kind=r.kind,
                section=r.section,
                line=r.line,
                prose=r.prose,
                hash=r.hash,
                params=r.params.model_dump(mode="json"),
            )
            for r in spec.rules.values()
        ]
        summary = SpecSummary.of(spec, default_hash).model_dump()
        return cls(**summary, rules=rules)
