"""An on-disk cache of judge verdicts, so re-runs and evals cost nothing.

SQLite in write-ahead-log mode with a busy timeout, one short-lived connection per operation: several
processes (workers, an eval next to a review) can read and write the same file at once. Only verdicts
are stored; a failure (timeout, refusal, budget …) is retried on the next run.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path

from pydantic import ValidationError

from agents.judge.models import JudgeResult

_SCHEMA = """
CREATE TABLE IF NOT EXISTS verdicts (
    key TEXT PRIMARY KEY,
    result TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt TEXT NOT NULL,
    created_at REAL NOT NULL
)
"""


class VerdictCache:
    def __init__(self, directory: Path, *, busy_timeout_s: float = 30.0) -> None:
        self.path = directory / "verdicts.sqlite3"
        self._busy_timeout_s = busy_timeout_s
        directory.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as conn, conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SCHEMA)

    def get(self, key: str) -> JudgeResult | None:
        with closing(self._connect()) as conn:
            row = conn.execute("SELECT result FROM verdicts WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return JudgeResult.model_validate_json(row[0])
        except ValidationError:
            return None  # written by an older JudgeResult: a miss, overwritten by the next put

    def put(self, key: str, result: JudgeResult) -> None:
        if result.verdict is None:
            return
        prompt = f"{result.prompt_id}.v{result.prompt_version}"
        with closing(self._connect()) as conn, conn:
            conn.execute(
                "INSERT OR REPLACE INTO verdicts (key, result, model, prompt, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (key, result.model_dump_json(), result.model, prompt, time.time()),
            )

    def __len__(self) -> int:
        with closing(self._connect()) as conn:
            return int(conn.execute("SELECT count(*) FROM verdicts").fetchone()[0])

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self._busy_timeout_s)
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
        return conn
