"""Asking the configured judge about a stratified sample of audited flags (``gtqa evals judge-accuracy``).

The reviewer runs without a judge on the audited frames (``agents.run.areview``, the scan's scorer);
every flag on a label whose audit outcome is known can be asked about (a proposed missing object has
no label to show the model, so it is left out, as the scan's triage leaves it out). Up to ``per_type``
flags of each issue type are drawn (seeded), interleaved across types so that a call or cost cap that
stops the run early still leaves every type asked about, and each is put to the judge as the scan puts
it (``agents.nodes.judge_request``: the flag, its rules, the image crop). The judge's budget caps the
calls and the cost; verdicts already in the judge's cache are reused (same model, prompt and input).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from openai import AsyncOpenAI
from pydantic import BaseModel, ConfigDict

from agents.context import TriagePolicy
from agents.judge import JudgeResult
from agents.judge.prompts import PROMPTS_DIR
from agents.nodes import judge_request
from agents.run import areview, build_context
from agents.triage import flag_key, plan_tasks
from evals.harness import collect
from evals.harness.dataset import EvalDataset, audited_frames
from evals.harness.judge import EvalJudge, build_eval_judge
from evals.judge_accuracy.measure import (
    BREAK_EVEN_ACCURACY,
    Accuracy,
    Answer,
    BreakEven,
    CalibrationBin,
    accuracy_of,
    break_even,
    by_type,
    calibration,
    fit_fusion_accuracy,
    weighted_accuracy,
)
from gtqa.checks.scope import canonical_frames
from gtqa.domain import Dataset, Finding
from gtqa.scoring.scorer import Scorer
from gtqa.settings import Settings
from gtqa.spec import CompiledSpec

_ASK_ALL = TriagePolicy(low=-1.0, high=2.0, one_question_per_label=False)


@dataclass(frozen=True)
class AccuracyConfig:
    dataset: Dataset
    evals: EvalDataset
    spec: CompiledSpec
    scorer: Scorer
    per_type: int = 30
    max_calls: int = 200
    max_cost_usd: float = 1.0
    seed: int = 0
    level: float = 0.95
    prompts_dir: Path = PROMPTS_DIR
    cache_dir: Path | None = None
    triage: TriagePolicy | None = None  # the scan's triage, for the cost; None: the configured one


class JudgeAccuracy(BaseModel):
    """The measurement, as ``gtqa evals judge-accuracy --out`` writes it."""

    model_config = ConfigDict(frozen=True)

    kind: str = "gtqa-judge-accuracy"
    model: str
    judge_mode: str  # "live", or "disabled: <why>"
    prompts: dict[str, int]
    audits: str
    level: float
    population: dict[str, int]  # askable audited flags per issue type
    per_type: list[Accuracy]
    pooled: Accuracy
    accuracy: float | None  # weighted by the population's types
    lo: float | None
    hi: float | None
    calibration: list[CalibrationBin]
    ece: float | None
    calls: int
    cache_hits: int
    cost_usd: float
    cost_per_question_usd: float | None
    questions_per_label: float  # what the scan's triage asks on these frames
    cost_per_1000_labels_usd: float | None
    failures: dict[str, int]
    break_even: float
    verdict: BreakEven
    sentence: str
    fusion_accuracy: float | None  # the accuracy the fusion should assume (only when it clears)
    triage_band: tuple[float, float] | None


def measure_judge(
    config: AccuracyConfig, settings: Settings, *, client: AsyncOpenAI | None = None
) -> JudgeAccuracy:
    return asyncio.run(ameasure_judge(config, settings, client=client))


async def ameasure_judge(
    config: AccuracyConfig, settings: Settings, *, client: AsyncOpenAI | None = None
) -> JudgeAccuracy:
    subset = audited_frames(config.dataset, config.evals)
    review = await areview(subset, config.spec, scorer=config.scorer, chunk_size=settings.chunk_size)
    askable = _askable(review.findings, config.evals)
    chosen = stratified(askable, config.per_type, config.seed)
    capped = settings.model_copy(
        update={"judge_max_calls": config.max_calls, "judge_max_cost_usd": config.max_cost_usd}
    )
    judge = build_eval_judge(
        capped, cache_dir=config.cache_dir, prompts_dir=config.prompts_dir, client=client
    )
    try:
        results = await _ask(judge, subset, config.spec, [f for f, _ in chosen])
    finally:
        await judge.aclose()
    # What the scan's triage would ask here, under the configured judge accuracy (GTQA_JUDGE_ACCURACY),
    # as scan, evals run and the workers triage: the cost per 1,000 labels is that of this setting.
    triage = config.triage or TriagePolicy.from_settings(settings)
    asked_per_label = len(plan_tasks(review.findings, subset.frames, config.spec, triage))
    labels = sum(len(f.labels) for f in subset.frames)
    return _assemble(config, judge, askable, chosen, results, asked_per_label / max(labels, 1))


def _askable(findings: Sequence[Finding], evals: EvalDataset) -> list[tuple[Finding, int]]:
    items = collect.eval_items(findings, evals)
    return [
        (f, i.outcome)
        for f, i in zip(findings, items, strict=True)
        if f.label is not None and i.outcome is not None
    ]


def stratified(flags: Sequence[tuple[Finding, int]], per_type: int, seed: int) -> list[tuple[Finding, int]]:
    """Up to ``per_type`` flags of each issue type, drawn without replacement, interleaved by type."""
    rng = np.random.default_rng(seed)
    groups: dict[str, list[tuple[Finding, int]]] = {}
    for flag in flags:
        groups.setdefault(flag[0].type.value, []).append(flag)
    drawn = []
    for kind in sorted(groups):
        pick = rng.permutation(len(groups[kind]))[:per_type]
        drawn.append([groups[kind][i] for i in pick])
    return [g[n] for n in range(max((len(g) for g in drawn), default=0)) for g in drawn if n < len(g)]


async def _ask(
    judge: EvalJudge, subset: Dataset, spec: CompiledSpec, flags: list[Finding]
) -> list[JudgeResult | None]:
    if not judge.enabled:
        return [None] * len(flags)
    ctx = build_context(subset, spec, [], judge=judge)
    # Spelt as the graph's questions are (its frames are canonical: ``agents.nodes.load_frames``), so the
    # judge is measured on the question it is asked in review, the spec's class name and not an alias.
    frames = canonical_frames(subset.frames, spec)
    tasks = {t.key: t for t in plan_tasks(flags, frames, spec, _ASK_ALL) if t.finding is not None}
    keys = list(tasks)
    results = await judge.ajudge_many([judge_request(tasks[k], ctx) for k in keys])
    by_key = dict(zip(keys, results, strict=True))
    return [by_key.get(flag_key(f)) for f in flags]


def _answer(flag: Finding, outcome: int, result: JudgeResult | None) -> Answer:
    if result is None:
        return Answer(type=flag.type.value, outcome=outcome, verdict=None, failure="not asked")
    v = result.verdict
    return Answer(
        type=flag.type.value, outcome=outcome, verdict=v.verdict.value if v else None,
        confidence=v.confidence if v else None, failure=result.failure.value if result.failure else None,
        cost_usd=result.cost_usd, cached=result.cached,
    )  # fmt: skip


def _assemble(
    config: AccuracyConfig,
    judge: EvalJudge,
    askable: list[tuple[Finding, int]],
    chosen: list[tuple[Finding, int]],
    results: list[JudgeResult | None],
    questions_per_label: float,
) -> JudgeAccuracy:
    answers = [_answer(f, y, r) for (f, y), r in zip(chosen, results, strict=True)]
    population = dict(sorted(Counter(f.type.value for f, _ in askable).items()))
    per_type = by_type(answers, config.level)
    acc, lo, hi = weighted_accuracy(per_type, population, config.level)
    bins, ece = calibration(answers)
    live = [r.cost_usd for r in results if r is not None and not r.cached and r.attempts > 0]
    per_question = round(float(np.mean(live)), 8) if live else None
    verdict = break_even(lo, hi)
    fitted = fit_fusion_accuracy(answers) if verdict == BreakEven.clears else None
    band = TriagePolicy.for_accuracy(fitted) if fitted is not None else None
    summary = judge.summary(0)
    return JudgeAccuracy(
        model=judge.model, judge_mode="live" if judge.enabled else f"disabled: {judge.disabled_reason}",
        prompts={pid: v for pid, v in sorted(judge.prompts)}, audits=config.evals.name, level=config.level,
        population=population, per_type=per_type, pooled=accuracy_of("all", answers, config.level),
        accuracy=acc, lo=lo, hi=hi, calibration=bins, ece=ece, calls=summary.calls,
        cache_hits=summary.cache_hits, cost_usd=round(summary.cost_usd, 6),
        cost_per_question_usd=per_question,
        questions_per_label=round(questions_per_label, 6),
        cost_per_1000_labels_usd=_per_1000(per_question, questions_per_label),
        failures=dict(sorted(Counter(a.failure for a in answers if a.failure).items())),
        break_even=BREAK_EVEN_ACCURACY, verdict=verdict, sentence=sentence(verdict, acc, lo, hi, fitted),
        fusion_accuracy=fitted, triage_band=(band.low, band.high) if band else None,
    )  # fmt: skip


def _per_1000(per_question: float | None, questions_per_label: float) -> float | None:
    return None if per_question is None else round(per_question * questions_per_label * 1000, 6)


def sentence(
    verdict: BreakEven, acc: float | None, lo: float | None, hi: float | None, fitted: float | None
) -> str:
    line = BREAK_EVEN_ACCURACY
    if acc is None or lo is None or hi is None:
        return "The judge gave no verdict on an audited flag, so its accuracy is unknown; leave it off."
    said = f"Its accuracy {acc:.2f} (interval [{lo:.2f}, {hi:.2f}])"
    if verdict == BreakEven.clears:
        help_ = f"turning it on should help; the fusion should assume {fitted:g}"
        return f"{said} clears the break-even {line:g}: {help_}."
    if verdict == BreakEven.below:
        return (
            f"{said} is below the break-even {line:g}: such a judge costs AP in the benchmark; leave it off."
        )
    more = "these answers cannot tell; ask more (--per-type, --max-calls)"
    return f"{said} straddles the break-even {line:g}: {more}."
