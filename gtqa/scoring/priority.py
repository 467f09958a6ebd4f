"""Review priority: the order auditors see flags in, probability x severity weight (from the spec)."""

from __future__ import annotations

from gtqa.domain import Finding
from gtqa.spec import CompiledSpec


def priority(finding: Finding, spec: CompiledSpec, cls: str | None = None) -> float:
    return finding.score * spec.severity(finding.type, cls).weight
