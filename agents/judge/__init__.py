"""The LLM judge: asks a model whether a label follows the spec's rules, with a structured verdict.

The graph calls ``build_judge(settings)`` once per run, builds a ``JudgeRequest`` per question
(``RuleText.from_rule``, ``LabelData.from_label``, ``Evidence.from_finding``, ``crop_label``) and awaits
``judge.ajudge(request)`` (or ``ajudge_many``); ``judge.summary(labels_reviewed)`` reports the cost.
"""

from agents.judge.budget import JudgeSummary, Prices, RunBudget
from agents.judge.cache import VerdictCache
from agents.judge.client import endpoint_problem, make_async_client
from agents.judge.crop import crop_label
from agents.judge.judge import Judge, build_judge
from agents.judge.models import (
    Evidence,
    ImageCrop,
    JudgeRequest,
    JudgeResult,
    JudgeVerdict,
    LabelData,
    Neighbour,
    RuleText,
    TokenUsage,
)
from agents.judge.prompts import Prompt, PromptError, load_prompt
from gtqa.domain import JudgeFailure

__all__ = [
    "Evidence",
    "ImageCrop",
    "Judge",
    "JudgeFailure",
    "JudgeRequest",
    "JudgeResult",
    "JudgeSummary",
    "JudgeVerdict",
    "LabelData",
    "Neighbour",
    "Prices",
    "Prompt",
    "PromptError",
    "RuleText",
    "RunBudget",
    "TokenUsage",
    "VerdictCache",
    "build_judge",
    "crop_label",
    "endpoint_problem",
    "load_prompt",
    "make_async_client",
]
