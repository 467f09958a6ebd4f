"""API tests run the app in-process (``TestClient``, lifespan included) on both backends: a SQLite file
and a real PostgreSQL (``GTQA_TEST_POSTGRES_URL``, default the local server; a database of its own per
session from ``new_database`` (tests/conftest.py), migrated with the Alembic migrations, emptied before
every test, dropped at the end). Without a reachable server the PostgreSQL half skips on a developer
machine and fails under CI (``CI`` set).

Every test gets one user per role with a real token, and a dispatcher that records the jobs it was
given instead of sending them to Celery (the workers have their own process-level tests).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.deps import get_dispatcher
from gtqa.settings import Settings
from gtqa.storage import Role, create_user, make_engine, make_session_factory, upgrade
from gtqa.storage.models import Base

BACKENDS = ["sqlite", "postgresql"]

# One line of KITTI object labels: type trunc occl alpha x1 y1 x2 y2 h w l x y z ry
CAR = "Car 0.00 0 -1.58 587.01 173.33 614.12 200.12 1.65 1.67 3.64 -0.65 1.71 46.70 -1.59"
PEDESTRIAN = "Pedestrian 0.00 0 -0.20 712.40 143.00 810.73 307.92 1.89 0.48 1.20 1.84 1.47 8.41 0.01"


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    new_database: Callable[..., AbstractContextManager[str]],
) -> Iterator[str]:
    with new_database(backend, tmp_path_factory.mktemp(f"api-{backend}"), "gtqa_api") as url:
        upgrade(url)
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The test's own engine on an emptied database (children first)."""
    engine = make_engine(database_url, pool_size=2)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def ingest_root(tmp_path: Path) -> Path:
    root = tmp_path / "deliveries"
    root.mkdir()
    return root


@pytest.fixture
def settings(tmp_path: Path, database_url: str, ingest_root: Path) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        ingest_root=ingest_root,
        max_upload_bytes=256 * 1024,
        max_extract_bytes=1024 * 1024,
        max_archive_members=200,
        chunk_size=4,
        spot_check_share=0.0,
        second_review_share=0.0,  # a test that wants second reviews asks for them
    )


class RecordingDispatcher:
    def __init__(self) -> None:
        self.jobs: list[int] = []
        self.refits: list[tuple[str, str]] = []
        self.reprioritised: list[tuple[str, str]] = []

    def enqueue_job(self, job_id: int) -> None:
        self.jobs.append(job_id)

    def enqueue_refit(self, spec_name: str, data_format: str) -> None:
        self.refits.append((spec_name, data_format))

    def enqueue_reprioritise(self, spec_name: str, data_format: str) -> None:
        self.reprioritised.append((spec_name, data_format))


@dataclass
class Api:
    """The running app, a client, and a token per role (``as_(role)`` gives its headers)."""

    app: FastAPI
    client: TestClient
    settings: Settings
    sessions: sessionmaker[Session]
    dispatcher: RecordingDispatcher
    tokens: dict[str, str] = field(default_factory=dict)

    def as_(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def add_user(self, name: str, role: Role) -> str:
        with self.sessions.begin() as session:
            _, token = create_user(session, name, role)
        self.tokens[name] = token
        return token

    def count(self, model: type[Base]) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def api(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[Api]:
    app = create_app(settings)
    dispatcher = RecordingDispatcher()
    app.dependency_overrides[get_dispatcher] = lambda: dispatcher
    with TestClient(app) as client:
        state = Api(app, client, settings, sessions, dispatcher)
        for role in Role:
            with sessions.begin() as session:
                _, state.tokens[role.value] = create_user(session, role.value, role)
        yield state


@pytest.fixture
def kitti() -> type[Kitti]:
    return Kitti


class Kitti:
    """Tiny KITTI object datasets written in the test."""

    @staticmethod
    def write(folder: Path, frames: dict[str, list[str]]) -> Path:
        return write_kitti(folder, frames)

    @staticmethod
    def small(folder: Path) -> Path:
        return small_kitti(folder)


def write_kitti(folder: Path, frames: dict[str, list[str]]) -> Path:
    """A KITTI object dataset: ``label_2/<frame>.txt`` with the given lines."""
    (folder / "label_2").mkdir(parents=True, exist_ok=True)
    for frame, lines in frames.items():
        (folder / "label_2" / f"{frame}.txt").write_text("".join(f"{line}\n" for line in lines))
    return folder


def small_kitti(folder: Path) -> Path:
    return write_kitti(folder, {f"{i:06d}": [CAR, PEDESTRIAN] for i in range(6)})
