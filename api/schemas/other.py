"""Audits, specs, metrics, eval runs, users and health."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Name
from gtqa.spec import CompiledSpec
from gtqa.storage import Role, UserRecord


class ImportResult(BaseModel):
    read: int = Field(description="audits in the file")
    stored: int = Field(description="new ones (ids already stored are left alone)")


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


class TypePrecision(BaseModel):
    type: str
    defect: int
    not_defect: int
    unsure: int
    precision: float | None = Field(description="defect / (defect + not_defect); None before any audit")


class MetricsSummary(BaseModel):
    queue: dict[str, int] = Field(description="review items by status")
    jobs: dict[str, int] = Field(description="review jobs by status")
    audits: dict[str, int] = Field(description="audits by verdict, and the total")
    precision: list[TypePrecision] = Field(description="of flags decided in the queue, per issue type")


class UserOut(BaseModel):
    id: int
    name: str
    role: Role
    active: bool

    @classmethod
    def of(cls, user: UserRecord) -> UserOut:
        return cls(id=user.id, name=user.name, role=user.role, active=user.active)


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    role: Role


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active: bool


class TokenOut(BaseModel):
    user: UserOut
    token: str = Field(description="the API token; shown once, only its hash is kept")


class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    status: Literal["ready"]
    database: str
    revision: str | None


class EvalRunOut(BaseModel):
    id: str
    started_at: datetime
    dataset: str
    audits: str
    audit_checksum: str
    spec_name: str
    spec_hash: str
    prompts: dict[str, int]
    calibration: str
    judge_mode: str
    judge_model: str
    git_sha: str | None
    headline: dict[str, float | None]
    infra_errors: int
