"""The reviewer graph's schemas: what goes in (frame ids), what flows between nodes, what comes out.

Reducers (``operator.add``) let the judge fan-out write its answers concurrently.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Annotated, TypedDict

from gtqa.domain import Finding, Frame, JudgeOpinion, Label
from gtqa.spec import Rule


class ReviewInput(TypedDict):
    frame_ids: list[str]


@dataclass(frozen=True)
class JudgeTask:
    """One question for the judge: a label, the rules to judge it against, and the flag (if any)."""

    key: str
    frame: Frame
    label: Label
    rules: tuple[Rule, ...]
    finding: Finding | None


class JudgeTaskInput(TypedDict):
    task: JudgeTask


class ReviewState(TypedDict, total=False):
    frame_ids: list[str]
    frames: list[Frame]
    context: list[Frame]
    raw: list[Finding]
    findings: list[Finding]
    tasks: list[JudgeTask]
    opinions: Annotated[list[tuple[str, JudgeOpinion]], operator.add]
    errors: Annotated[list[str], operator.add]


class ReviewOutput(TypedDict):
    findings: list[Finding]
    errors: list[str]
    tasks: list[JudgeTask]
