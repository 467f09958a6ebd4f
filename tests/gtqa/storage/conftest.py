"""Storage tests run on both backends: a SQLite file and a real PostgreSQL.

PostgreSQL comes from ``GTQA_TEST_POSTGRES_URL`` (default: the local server, user postgres, database
test); the tests create a database of their own per session from it, migrate it with the Alembic
migrations (never create_all), and drop it at the end. When the server cannot be reached the
PostgreSQL half is skipped on a developer machine and fails under CI (``CI`` set).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from sqlalchemy import Engine
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

NewDatabase = Callable[..., AbstractContextManager[str]]  # the ``new_database`` fixture (tests/conftest.py)
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty_url(backend: str, tmp_path: Path, new_database: NewDatabase) -> Iterator[str]:
    """A database of its own for one test, with no tables."""
    with new_database(backend, tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def engine(
    backend: str, tmp_path_factory: pytest.TempPathFactory, new_database: NewDatabase
) -> Iterator[Engine]:
    """One migrated database per backend per session."""
    with new_database(backend, tmp_path_factory.mktemp(backend)) as url:
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
