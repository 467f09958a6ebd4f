"""Shared fixtures. Real data is read from ../shared/data (never copied); the network is closed except
loopback, so no test can reach a real model endpoint (the OpenAI API is mocked with respx).

Also shared: a database of its own for a test (``new_database``: a SQLite file, or a PostgreSQL
database created on the local server and dropped afterwards; without a reachable server it skips on a
developer machine and fails under CI) and Debian's Chromium for the ``browser`` tests (``chromium``:
missing, it skips, or fails under CI)."""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from evals.harness.browser import CHROMIUM

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GTQA_DATA_DIR", REPO.parent / "shared" / "data"))

PG_ENV = "GTQA_TEST_POSTGRES_URL"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: object) -> None:
    host = address[0] if isinstance(address, tuple) else None
    if isinstance(host, str) and not _is_local(host):
        raise RuntimeError(f"tests may not reach the network ({host}); mock it with respx")
    _real_connect(self, address)  # type: ignore[arg-type]


def _is_local(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    yield


@pytest.fixture
def calibration_reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The calibration files parsed while the test runs (``CalibrationModel.load`` counted), in order."""
    from gtqa.scoring.calibration import CalibrationModel

    reads: list[Path] = []
    real_load = CalibrationModel.load

    def counted(path: Path) -> CalibrationModel:
        reads.append(path)
        return real_load(path)

    monkeypatch.setattr(CalibrationModel, "load", counted)
    return reads


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared KITTI data not found at {SHARED_DATA} (set GTQA_DATA_DIR)")
    return SHARED_DATA


def unavailable(reason: str) -> None:
    """A service a test needs is missing: skip on a developer machine, fail under CI (``CI`` set)."""
    if os.environ.get("CI"):
        pytest.fail(f"CI needs this: {reason}")
    pytest.skip(reason)


def postgres_admin() -> Engine:
    """An AUTOCOMMIT engine on the test server (``GTQA_TEST_POSTGRES_URL``), checked to answer."""
    url = make_url(os.environ.get(PG_ENV, PG_DEFAULT)).set(drivername="postgresql+psycopg")
    engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        engine.dispose()
        unavailable(f"PostgreSQL not reachable at {url.render_as_string()} (set {PG_ENV}): {exc.orig}")
    return engine


@contextmanager
def temporary_database(backend: str, folder: Path, prefix: str = "gtqa_test") -> Iterator[str]:
    """The URL of an empty database of its own (not migrated): a SQLite file in ``folder``, or a new
    PostgreSQL database named ``<prefix>_<pid>_<random>``, dropped on exit."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'gtqa.sqlite'}"
        return
    admin = postgres_admin()
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def new_database() -> Callable[..., AbstractContextManager[str]]:
    """``with new_database(backend, folder, prefix) as url``: see ``temporary_database``."""
    return temporary_database


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium (``apt-get install -y chromium``; ``.ci/run`` installs it); never downloaded."""
    if not CHROMIUM.exists():
        unavailable(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    return CHROMIUM
