"""Deciding what the judge looks at (pure functions of the scored flags, the frames and the spec).

Uncertain flags (calibrated probability between the policy's bounds) go to the judge with the rules
their checks enforce; with ``one_question_per_label``, only a label's highest flag, when it is
uncertain. Prose rules the heuristics cannot express (``kind: judge`` in the spec) go to the judge for
the labels of the classes they concern: only flagged ones by default (``ask_when: flagged``; with
``prose_needs_issue``, flagged uncertainly for the rule's own issue type), or every such label
(``ask_when: always``). See ``TriagePolicy`` for why.
"""

from __future__ import annotations

from collections.abc import Sequence

from agents.context import TriagePolicy
from agents.state import JudgeTask
from gtqa.domain import Finding, Frame, IssueType, Label
from gtqa.spec import CompiledSpec, Rule
from gtqa.spec.rules import JudgeRule


def plan_tasks(
    findings: Sequence[Finding], frames: Sequence[Frame], spec: CompiledSpec, policy: TriagePolicy
) -> list[JudgeTask]:
    labels = {lab.id: (frame, lab) for frame in frames for lab in frame.labels}
    asked = _top_flags(findings) if policy.one_question_per_label else findings
    tasks = [t for f in asked if (t := _flag_task(f, labels, spec, policy)) is not None]
    tasks.extend(_prose_tasks(frames, spec, _prose_flagged(findings, policy)))
    return tasks


def _top_flags(findings: Sequence[Finding]) -> list[Finding]:
    """Each label's highest flag (the first of equals), in the order of the findings."""
    top: dict[str, Finding] = {}
    for f in findings:
        if f.label is not None and (f.label not in top or f.score > top[f.label].score):
            top[f.label] = f
    return [f for f in findings if f.label is not None and top[f.label] is f]


def _prose_flagged(findings: Sequence[Finding], policy: TriagePolicy) -> dict[str, set[IssueType] | None]:
    """Flagged label ids, each with the issue types it is uncertainly flagged for (None: any rule)."""
    flagged: dict[str, set[IssueType] | None] = {}
    for f in findings:
        if f.label is None:
            continue
        if not policy.prose_needs_issue:
            flagged[f.label] = None
            continue
        types = flagged.setdefault(f.label, set())
        if types is not None and policy.uncertain(f.score):
            types.add(f.type)
    return flagged


def _flag_task(
    finding: Finding, labels: dict[str, tuple[Frame, Label]], spec: CompiledSpec, policy: TriagePolicy
) -> JudgeTask | None:
    # A missing object has no label to show the judge as data: it goes to the auditors as it is.
    if finding.label is None or finding.label not in labels or not policy.uncertain(finding.score):
        return None
    frame, label = labels[finding.label]
    rules = _rules_for(finding, spec)
    return JudgeTask(key=flag_key(finding), frame=frame, label=label, rules=rules, finding=finding)


def _rules_for(finding: Finding, spec: CompiledSpec) -> tuple[Rule, ...]:
    rules = tuple(spec.rules[r] for r in finding.rule_ids if r in spec.rules)
    if rules:
        return rules
    # Checks that enforce no single rule are judged against the spec's general conventions.
    fallback = [r for r in ("taxonomy", "box-size") if r in spec.rules]
    return tuple(spec.rules[r] for r in fallback) or tuple(spec.rules.values())[:1]


def _prose_tasks(
    frames: Sequence[Frame], spec: CompiledSpec, flagged: dict[str, set[IssueType] | None]
) -> list[JudgeTask]:
    tasks = []
    for rule in spec.judge_rules:
        params = rule.params
        assert isinstance(params, JudgeRule)
        for frame in frames:
            for label in frame.labels:
                if label.cls in params.applies_to and _asks(params, flagged, label.id):
                    tasks.append(
                        JudgeTask(
                            key=f"{label.id}|{rule.id}", frame=frame, label=label, rules=(rule,), finding=None
                        )
                    )
    return tasks


def _asks(params: JudgeRule, flagged: dict[str, set[IssueType] | None], label_id: str) -> bool:
    if params.ask_when == "always":
        return True
    if label_id not in flagged:
        return False
    types = flagged[label_id]
    return types is None or params.issue_type in types


def flag_key(finding: Finding) -> str:
    return f"{finding.frame}|{finding.label}|{finding.type.value}"
