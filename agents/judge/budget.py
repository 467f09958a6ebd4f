"""A run's judge budget (calls and US dollars) and its accounting, shared by concurrent calls.

Every critical section is a few arithmetic operations under a ``threading.Lock`` with no ``await`` in it,
so the budget is safe for asyncio tasks and for threads alike. A call is reserved before its HTTP request
and settled after it. The cost cap is checked against what is spent plus, for each call in flight, the
mean cost of the calls settled so far: with ``c`` concurrent calls the run can overshoot the cap by at
most about ``c`` calls' cost (and by the first ``c`` calls, before any cost is known).
"""

from __future__ import annotations

import threading

from pydantic import BaseModel, ConfigDict, Field

from agents.judge.models import TokenUsage


class Prices(BaseModel):
    """US dollars per million tokens."""

    model_config = ConfigDict(frozen=True)

    input_per_mtok: float = Field(ge=0.0)
    output_per_mtok: float = Field(ge=0.0)

    def cost(self, usage: TokenUsage) -> float:
        return (
            usage.prompt_tokens * self.input_per_mtok + usage.completion_tokens * self.output_per_mtok
        ) / 1e6


class JudgeSummary(BaseModel):
    """What a run's judging cost. ``calls`` are requests sent to the API (each with its retries)."""

    model_config = ConfigDict(frozen=True)

    calls: int
    cache_hits: int
    needs_human: int
    budget_refusals: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    labels_reviewed: int
    cost_per_1000_labels_usd: float | None


class RunBudget:
    def __init__(self, *, max_calls: int, max_cost_usd: float, prices: Prices) -> None:
        self.max_calls = max_calls
        self.max_cost_usd = max_cost_usd
        self.prices = prices
        self._lock = threading.Lock()
        self._calls = self._in_flight = self._settled = 0
        self._cache_hits = self._needs_human = self._refusals = 0
        self._prompt_tokens = self._completion_tokens = 0
        self._cost = 0.0

    def try_reserve(self) -> bool:
        """Take one call from the budget; False (and nothing taken) when the budget is exhausted."""
        with self._lock:
            mean = self._cost / self._settled if self._settled else 0.0
            if self._calls >= self.max_calls or self._cost + self._in_flight * mean >= self.max_cost_usd:
                self._refusals += 1
                return False
            self._calls += 1
            self._in_flight += 1
            return True

    def settle(self, usage: TokenUsage) -> float:
        """Record a reserved call's tokens (zero when no response came back); returns its cost."""
        cost = self.prices.cost(usage)
        with self._lock:
            self._in_flight -= 1
            self._settled += 1
            self._prompt_tokens += usage.prompt_tokens
            self._completion_tokens += usage.completion_tokens
            self._cost += cost
        return cost

    def record(self, *, cached: bool, needs_human: bool) -> None:
        with self._lock:
            self._cache_hits += cached
            self._needs_human += needs_human

    def summary(self, labels_reviewed: int) -> JudgeSummary:
        """``labels_reviewed``: labels the run reviewed (judged or not), the denominator of the unit cost."""
        with self._lock:
            per_1000 = self._cost / labels_reviewed * 1000 if labels_reviewed > 0 else None
            return JudgeSummary(
                calls=self._calls,
                cache_hits=self._cache_hits,
                needs_human=self._needs_human,
                budget_refusals=self._refusals,
                prompt_tokens=self._prompt_tokens,
                completion_tokens=self._completion_tokens,
                cost_usd=self._cost,
                labels_reviewed=labels_reviewed,
                cost_per_1000_labels_usd=per_1000,
            )
