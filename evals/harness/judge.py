"""The judge of an eval run: the agent's own ``Judge``, recording every result, and able to run offline.

Verdicts come from the judge's on-disk cache whenever the inputs are unchanged (the cache key holds the
model, the prompt's id, version and file hash, the rules, the image crop and the label), so re-running
an eval after a prompt change pays only for the questions whose prompt changed. ``offline`` replays
from the cache alone: a miss ends in needs_human with failure ``offline`` and no HTTP request is made,
which makes a run reproducible anywhere from a recorded cache directory.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from openai import AsyncOpenAI

from agents.judge import (
    Judge,
    JudgeRequest,
    JudgeResult,
    Prices,
    RunBudget,
    VerdictCache,
    endpoint_problem,
    make_async_client,
)
from agents.judge.prompts import PROMPTS_DIR, Prompt
from gtqa.domain import JudgeFailure
from gtqa.settings import Settings

OFFLINE_REASON = "offline eval: the verdict is not in the judge cache"


class EvalJudge(Judge):
    """A ``Judge`` that keeps every result and the prompt it used (``results``, ``prompts``)."""

    def __init__(self, client: AsyncOpenAI | None, *, offline: bool = False, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        self.offline = offline
        self.cache: VerdictCache | None = kwargs.get("cache")
        self.results: list[JudgeResult] = []
        self.prompts: dict[tuple[str, int], Prompt] = {}

    async def ajudge(self, request: JudgeRequest) -> JudgeResult:
        prompt = self.prompt_for(request)
        self.prompts[(prompt.id, prompt.version)] = prompt
        if self.offline and not await self._in_cache(self.cache_key(request, prompt)):
            result = self._offline_miss(request, prompt)
        else:
            result = await super().ajudge(request)
        self.results.append(result)
        return result

    async def _in_cache(self, key: str) -> bool:
        if self.cache is None:
            return False
        return await asyncio.to_thread(self.cache.get, key) is not None

    def _offline_miss(self, request: JudgeRequest, prompt: Prompt) -> JudgeResult:
        self.budget.record(cached=False, needs_human=True)
        return JudgeResult(
            failure=JudgeFailure.offline, reason=OFFLINE_REASON, rule_ids=request.rule_ids,
            model=self.model, prompt_id=prompt.id, prompt_version=prompt.version,
            cache_key=self.cache_key(request, prompt),
        )  # fmt: skip


def _offline_client() -> AsyncOpenAI:
    # Never used: offline, a request reaches the parent Judge only when its verdict is cached.
    return AsyncOpenAI(api_key="offline", base_url="http://offline.invalid/v1", max_retries=0)


def build_eval_judge(
    settings: Settings,
    *,
    offline: bool = False,
    cache_dir: Path | None = None,
    prompts_dir: Path = PROMPTS_DIR,
    client: AsyncOpenAI | None = None,
) -> EvalJudge:
    """Like ``agents.judge.build_judge``, plus the recording and the offline mode. Offline needs no
    endpoint; otherwise without one the judge is disabled (it says why) and no question is asked."""
    problem = None if (client is not None or offline) else endpoint_problem(settings)
    owns = client is None and problem is None and not offline
    if offline:
        client = _offline_client()
    elif owns:
        client = make_async_client(settings)
    prices = Prices(
        input_per_mtok=settings.judge_price_input_per_mtok,
        output_per_mtok=settings.judge_price_output_per_mtok,
    )
    return EvalJudge(
        client, offline=offline, model=settings.judge_model,
        budget=RunBudget(max_calls=settings.judge_max_calls, max_cost_usd=settings.judge_max_cost_usd,
                         prices=prices),
        cache=VerdictCache(cache_dir or settings.judge_cache_dir) if problem is None else None,
        concurrency=settings.judge_concurrency, prompts_dir=prompts_dir,
        prompt_pins=settings.judge_prompt_pins, disabled_reason=problem, owns_client=owns or offline,
        crop_margin=settings.judge_crop_margin, crop_max_px=settings.judge_crop_max_px,
    )  # fmt: skip
