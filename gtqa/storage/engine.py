"""Engines and sessions, made on request from a URL or the settings (never at import).

SQLite is the embedded default: one file, WAL journal (readers never block the writer), a busy timeout
instead of instant "database is locked" errors, and foreign keys enforced (SQLite leaves them off per
connection). pysqlite's own transaction handling is switched off and every transaction starts with
``BEGIN IMMEDIATE``: SQLite then serialises writers at BEGIN, so a read-then-write transaction (claim a
queue item, lease a chunk) can never fail half way on a snapshot that went stale, and SAVEPOINTs nest
properly. PostgreSQL is production: same code, another URL.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.orm import Session, sessionmaker

from gtqa.settings import Settings, get_settings

# Execution option naming the BEGIN a SQLite transaction uses (see make_session_factory(read_only=True)).
SQLITE_BEGIN = "gtqa_sqlite_begin"
_BEGIN_MODES = ("DEFERRED", "IMMEDIATE", "EXCLUSIVE")


def make_engine(
    url: str | URL,
    *,
    pool_size: int = 10,
    busy_timeout_s: float = 30.0,
    pre_ping: bool = False,
    echo: bool = False,
) -> Engine:
    """An engine for ``url``. ``postgresql://`` means psycopg 3; a SQLite file's folder is created.

    ``pre_ping`` tests every pooled connection before use: one more round trip per transaction, which
    the queue's hot path does without. Without it, a server restart fails one call per process (the
    pool is then discarded and reconnects); connections are recycled after 30 minutes either way.
    """
    url = _normalise(make_url(url))
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, pool_size=pool_size, busy_timeout_s=busy_timeout_s, echo=echo)
    return create_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=pre_ping, pool_recycle=1800, echo=echo
    )


def engine_from_settings(settings: Settings | None = None, **kwargs: Any) -> Engine:
    return make_engine((settings or get_settings()).database_url, **kwargs)


def make_session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (repositories return plain records anyway).

    ``read_only`` sessions are for long reads (exports, whole batches): on SQLite they begin DEFERRED,
    so they do not hold the write lock and claims go on meanwhile; PostgreSQL runs them READ ONLY.
    """
    if read_only:
        engine = engine.execution_options(**{SQLITE_BEGIN: "DEFERRED", "postgresql_readonly": True})
    return sessionmaker(engine, expire_on_commit=False)


def _normalise(url: URL) -> URL:
    if url.drivername in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    return url


def _sqlite_engine(url: URL, *, pool_size: int, busy_timeout_s: float, echo: bool) -> Engine:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": busy_timeout_s},
        pool_size=pool_size,
        max_overflow=pool_size,
        echo=echo,
    )
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see the module docstring)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable in WAL mode except on power loss
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
    if mode not in _BEGIN_MODES:
        raise ValueError(f"{SQLITE_BEGIN}={mode!r}; use one of {', '.join(_BEGIN_MODES)}")
    conn.exec_driver_sql(f"BEGIN {mode}")
