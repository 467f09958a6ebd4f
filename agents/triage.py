"""Deciding what the judge looks at (pure functions of the scored flags, the frames and the spec).

Uncertain flags (calibrated probability between the policy's bounds) go to the judge with the rules
their checks enforce. Prose rules the heuristics cannot express (``kind: judge`` in the spec) go to the
judge for the labels of the classes they concern: only flagged ones by default (``ask_when: flagged``),
or every such label (``ask_when: always``).
"""

from __future__ import annotations

from collections.abc import Sequence

from agents.context import TriagePolicy
from agents.state import JudgeTask
from gtqa.domain import Finding, Frame, Label
from gtqa.spec import CompiledSpec, Rule
from gtqa.spec.rules import JudgeRule


def plan_tasks(
    findings: Sequence[Finding], frames: Sequence[Frame], spec: CompiledSpec, policy: TriagePolicy
) -> list[JudgeTask]:
    labels = {lab.id: (frame, lab) for frame in frames for lab in frame.labels}
    tasks = [t for f in findings if (t := _flag_task(f, labels, spec, policy)) is not None]
    flagged = {f.label for f in findings if f.label is not None}
    tasks.extend(_prose_tasks(frames, spec, flagged))
    return tasks


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


def _prose_tasks(frames: Sequence[Frame], spec: CompiledSpec, flagged: set[str]) -> list[JudgeTask]:
    tasks = []
    for rule in spec.judge_rules:
        params = rule.params
        assert isinstance(params, JudgeRule)
        for frame in frames:
            for label in frame.labels:
                if label.cls in params.applies_to and (params.ask_when == "always" or label.id in flagged):
                    tasks.append(
                        JudgeTask(
                            key=f"{label.id}|{rule.id}", frame=frame, label=label, rules=(rule,), finding=None
                        )
                    )
    return tasks


def flag_key(finding: Finding) -> str:
    return f"{finding.frame}|{finding.label}|{finding.type.value}"
