from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import InternalError
from sqlalchemy.orm import Session, sessionmaker

from gtqa.settings import Settings
from gtqa.storage import engine_from_settings, make_engine, make_session_factory
from gtqa.storage.models import DatasetRow


def test_embedded_default_is_a_sqlite_file_under_the_gtqa_home(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    assert settings.database_url == f"sqlite:///{tmp_path / 'home' / 'gtqa.sqlite'}"
    engine = engine_from_settings(settings)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert (tmp_path / "home" / "gtqa.sqlite").is_file()  # the folder was made on demand
    finally:
        engine.dispose()


def test_database_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GTQA_DATABASE_URL", "postgresql://u:p@db.example/gtqa")
    assert Settings().database_url == "postgresql://u:p@db.example/gtqa"


def test_plain_postgresql_urls_use_psycopg_3() -> None:
    engine = make_engine("postgresql://u:p@db.example/gtqa")  # no connection is opened
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


def test_sqlite_runs_wal_with_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}", busy_timeout_s=7.5)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 7500
    finally:
        engine.dispose()


def test_rollback_and_savepoints_undo_writes(sessions: sessionmaker[Session]) -> None:
    # pysqlite's own transaction handling would let a released SAVEPOINT escape the outer ROLLBACK.
    with sessions() as session:
        with session.begin_nested():
            session.add(DatasetRow(name="inner"))
        session.rollback()
    with sessions.begin() as session:
        session.add(DatasetRow(name="kept"))
        with pytest.raises(RuntimeError), session.begin_nested():
            session.add(DatasetRow(name="undone"))
            session.flush()
            raise RuntimeError("boom")
    with sessions() as session:
        assert session.scalars(select(DatasetRow.name)).all() == ["kept"]
        assert session.scalar(select(func.count()).select_from(DatasetRow)) == 1


def test_read_only_sessions_neither_write_nor_hold_back_writers(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    """``sessions`` empties the database first."""
    quick = make_engine(engine.url, busy_timeout_s=1.0)  # a writer blocked by the reader fails fast
    try:
        reader, writer = make_session_factory(quick, read_only=True), make_session_factory(quick)
        with reader() as long_read:
            assert long_read.scalar(select(func.count()).select_from(DatasetRow)) == 0  # transaction open
            with writer.begin() as session:
                session.add(DatasetRow(name="written meanwhile"))
            if engine.dialect.name == "postgresql":
                long_read.add(DatasetRow(name="refused"))
                with pytest.raises(InternalError, match="read-only transaction"):
                    long_read.flush()
        with writer() as session:
            assert session.scalars(select(DatasetRow.name)).all() == ["written meanwhile"]
    finally:
        quick.dispose()
