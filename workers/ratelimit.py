"""One judge request rate shared by every worker process: a token bucket that every HTTP request to the
judge endpoint (the openai client's retries included) takes a token from before it is sent.

The bucket holds at most ``burst`` tokens and refills at ``rate`` per second. It lives where the
workers already meet: in Redis when the broker is Redis (one Lua script, atomic, timed by the Redis
server's clock, so the machines' clocks do not matter), else in a SQLite file under ``<home>`` (one
``BEGIN IMMEDIATE`` transaction per take; one machine, one clock). The judge's budget (calls and
dollars) is a separate, per-run limit kept by the judge itself.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Protocol

import httpx
import redis
from openai import DefaultAsyncHttpxClient

from gtqa.settings import Settings
from workers.broker import is_filesystem_broker

BUCKET_KEY = "gtqa:judge-bucket"


class TokenBucket(Protocol):
    def take(self) -> float:
        """Take one token: 0.0 when taken, else the seconds to wait before asking again."""
        ...


_TAKE_LUA = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return tostring(wait)
"""


class RedisTokenBucket:
    def __init__(self, client: redis.Redis, *, rate: float, burst: int, key: str = BUCKET_KEY) -> None:
        _check(rate, burst)
        self._script = client.register_script(_TAKE_LUA)
        self._key, self._rate, self._burst = key, rate, burst

    def take(self) -> float:
        return float(self._script(keys=[self._key], args=[self._rate, self._burst]))


class SqliteTokenBucket:
    """A bucket in a SQLite file, for the processes of one machine."""

    def __init__(self, path: Path, *, rate: float, burst: int, name: str = "judge") -> None:
        _check(rate, burst)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._name, self._rate, self._burst = name, rate, burst
        self._lock = threading.Lock()  # take() runs on worker threads (asyncio.to_thread)
        self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS bucket (name TEXT PRIMARY KEY, tokens REAL, at REAL)")

    def take(self) -> float:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                wait = self._take(time.time())
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return wait

    def close(self) -> None:
        self._db.close()

    def _take(self, now: float) -> float:
        row = self._db.execute("SELECT tokens, at FROM bucket WHERE name = ?", (self._name,)).fetchone()
        tokens, at = (float(self._burst), now) if row is None else (float(row[0]), float(row[1]))
        tokens = min(float(self._burst), tokens + max(0.0, now - at) * self._rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self._rate
        self._db.execute(
            "INSERT INTO bucket (name, tokens, at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET tokens = excluded.tokens, at = excluded.at",
            (self._name, tokens, now),
        )
        return wait


def bucket_from_settings(settings: Settings) -> TokenBucket | None:
    """The shared judge bucket for this deployment; None when ``judge_rate_per_s`` is 0 (no limit)."""
    if settings.judge_rate_per_s <= 0:
        return None
    rate, burst = settings.judge_rate_per_s, settings.judge_rate_burst
    if is_filesystem_broker(settings):
        return SqliteTokenBucket(settings.home.resolve() / "judge-rate.sqlite", rate=rate, burst=burst)
    client = redis.Redis.from_url(settings.broker_url, socket_connect_timeout=5, socket_timeout=10)
    return RedisTokenBucket(client, rate=rate, burst=burst)


async def wait_for_token(bucket: TokenBucket) -> None:
    while (wait := await asyncio.to_thread(bucket.take)) > 0:
        await asyncio.sleep(wait)


def rate_limited_http_client(bucket: TokenBucket, **kwargs: Any) -> httpx.AsyncClient:
    """The openai client's default HTTP client, taking a token before every request it sends."""

    async def take_token(_request: httpx.Request) -> None:
        await wait_for_token(bucket)

    return DefaultAsyncHttpxClient(event_hooks={"request": [take_token]}, **kwargs)


def _check(rate: float, burst: int) -> None:
    if rate <= 0 or burst < 1:
        raise ValueError(f"a token bucket needs rate > 0 and burst >= 1, not {rate} and {burst}")
