"""Storage tests run on both backends: a SQLite file and a real PostgreSQL.

PostgreSQL comes from ``GTQA_TEST_POSTGRES_URL`` (default: the local server, user postgres, database
test); the tests create a database of their own per session from it, migrate it with the Alembic
migrations (never create_all), and drop it at the end. When the server cannot be reached the
PostgreSQL half is skipped on a developer machine and fails under CI (``CI`` set).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from gtqa.domain import (
    Box2D,
    Calibration,
    Cuboid3D,
    Dataset,
    Frame,
    InputProblem,
    Label,
    Prediction,
    SourceRef,
)
from gtqa.spec import CompiledSpec, load_spec
from gtqa.storage import make_engine, make_session_factory, upgrade
from gtqa.storage.models import Base

PG_ENV = "GTQA_TEST_POSTGRES_URL"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", "postgresql"]


def _admin_engine() -> Engine:
    url = make_url(os.environ.get(PG_ENV, PG_DEFAULT)).set(drivername="postgresql+psycopg")
    engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        engine.dispose()
        reason = f"PostgreSQL not reachable at {url.render_as_string()} (set {PG_ENV}): {exc.orig}"
        if os.environ.get("CI"):
            pytest.fail(f"CI needs PostgreSQL: {reason}")
        pytest.skip(reason)
    return engine


def _fresh_database(backend: str, folder: Path) -> Iterator[str]:
    """The URL of a new, empty database, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'gtqa-{uuid.uuid4().hex[:8]}.sqlite'}"
        return
    admin = _admin_engine()
    name = f"gtqa_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database of its own for one test, with no tables."""
    yield from _fresh_database(backend, tmp_path)


@pytest.fixture(scope="session")
def engine(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One migrated database per backend per session."""
    for url in _fresh_database(backend, tmp_path_factory.mktemp(backend)):
        upgrade(url)
        engine = make_engine(url, pool_size=5)
        yield engine
        engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """A session factory on an emptied database (every table, children first; DELETE is quicker than
    TRUNCATE on tables this small)."""
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    return make_session_factory(engine)


@pytest.fixture
def crowd_sessions(sessions: sessionmaker[Session], engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions on the same database from a pool of 50 connections, closed after the test (a shared
    PostgreSQL server allows 100 clients in all)."""
    crowd = make_engine(engine.url, pool_size=50)
    yield make_session_factory(crowd)
    crowd.dispose()


@pytest.fixture(scope="session")
def spec() -> CompiledSpec:
    return load_spec(None)


DatasetFactory = Callable[..., Dataset]


@pytest.fixture
def make_dataset() -> DatasetFactory:
    return build_dataset


def build_dataset(
    name: str = "kitti-mini",
    *,
    frames: int = 6,
    labels: int = 3,
    classes: tuple[str, ...] = ("Car", "Pedestrian", "Cyclist"),
    problems: tuple[InputProblem, ...] = (),
) -> Dataset:
    """A small dataset with every field a label can carry (cuboids, attributes, sources, calibration)."""
    calib = Calibration(P2=tuple(float(i) for i in range(12)))
    built = []
    for f in range(frames):
        key = f"{f:06d}"
        frame_labels = tuple(
            Label(
                id=f"{key}:{i}",
                frame=key,
                cls=classes[(f + i) % len(classes)],
                box=Box2D(x1=10.0 * i, y1=20.0, x2=10.0 * i + 40.5, y2=80.25),
                cuboid=Cuboid3D(h=1.5, w=1.6, l=3.9, x=1.0 * i, y=1.7, z=20.0 + f, rotation_y=-0.1),
                truncation=0.0,
                occlusion=i % 3,
                alpha=0.25,
                track_id=i,
                attributes={"occluded_by": "van", "night": False, "lanes": 2},
                source=SourceRef(path=f"label_2/{key}.txt", line=i + 1),
            )
            for i in range(labels)
        )
        predictions = (
            Prediction(frame=key, cls="Car", box=Box2D(x1=1, y1=2, x2=30, y2=40), score=0.9, raw_score=2.2),
        )
        built.append(
            Frame(
                id=key,
                image=f"image_2/{key}.png",
                width=1242,
                height=375,
                calib=calib,
                labels=frame_labels,
                predictions=predictions,
            )
        )
    return Dataset(name=name, format="kitti", root="/data/kitti", frames=tuple(built), problems=problems)
