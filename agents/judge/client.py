"""The judge's OpenAI client, built from settings with our own timeout and retry count.

Retries are the openai client's own (verified in openai 2.54 ``_base_client``): 408, 409, 429 and 5xx
responses and connection errors and timeouts are retried up to ``max_retries`` times with exponential
backoff (0.5 s doubling to 8 s, with jitter; a ``Retry-After`` of up to 60 s is honoured); other errors
are not retried. Nothing here runs at import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from openai import AsyncOpenAI

from gtqa.settings import Settings

# Local OpenAI-compatible servers (vLLM, llama.cpp …) need a base URL but no key; the client requires one.
_PLACEHOLDER_KEY = "no-key"


def endpoint_problem(settings: Settings, environ: Mapping[str, str] | None = None) -> str | None:
    """Why the judge cannot run, or None when gtqa settings or OPENAI_* give a key or a base URL."""
    env = os.environ if environ is None else environ
    if settings.judge_api_key or settings.judge_base_url:
        return None
    if env.get("OPENAI_API_KEY") or env.get("OPENAI_BASE_URL"):
        return None
    return (
        "no judge endpoint configured: set GTQA_JUDGE_API_KEY / GTQA_JUDGE_BASE_URL "
        "(or OPENAI_API_KEY / OPENAI_BASE_URL)"
    )


def make_async_client(settings: Settings, environ: Mapping[str, str] | None = None) -> AsyncOpenAI:
    """An AsyncOpenAI client; gtqa settings first, then the client's own OPENAI_* environment."""
    env = os.environ if environ is None else environ
    key = settings.judge_api_key.get_secret_value() if settings.judge_api_key else env.get("OPENAI_API_KEY")
    base_url = settings.judge_base_url or env.get("OPENAI_BASE_URL") or None
    return AsyncOpenAI(
        api_key=key or _PLACEHOLDER_KEY,
        base_url=base_url,
        timeout=settings.judge_timeout_s,
        max_retries=settings.judge_max_retries,
    )
