"""Helpers shared by the benchmark scripts: where data and results live, timing, JSON output."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gtqa.settings import get_settings

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"  # git-ignored

T = TypeVar("T")

# The PostgreSQL server the service benchmarks create their databases on (GTQA_BENCH_POSTGRES_URL).
BENCH_POSTGRES_URL = os.environ.get(
    "GTQA_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def data_dir() -> Path:
    """The shared KITTI data (GTQA_DATA_DIR, default ../shared/data); never copied into the repo."""
    return get_settings().data_dir


def best_of(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    """The fastest of ``repeat`` runs in seconds (the least disturbed by the machine), and the last result."""
    best, result = float("inf"), None
    for _ in range(max(repeat, 1)):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result  # type: ignore[return-value]


def run_info() -> dict[str, Any]:
    """Enough to tell two result files apart: when, where, which commit (and whether it was dirty)."""
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}",
        "commit": _git("rev-parse", "--short", "HEAD"),
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return ""
    return done.stdout.strip()


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"wrote {path}")


@contextmanager
def fresh_database(
    backend: str, admin_url: str, keep: bool = False, prefix: str = "gtqa_bench"
) -> Iterator[str]:
    """The URL of a new, empty database: a SQLite file in a temporary folder, or a PostgreSQL database
    created on ``admin_url``'s server and dropped at the end unless ``keep``."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'bench.sqlite'}"
        return
    admin = create_engine(
        make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
