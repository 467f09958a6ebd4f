"""The learning queue on both stacks (SQLite, PostgreSQL): refit -> gate -> promote -> re-rank -> roll
back, refits that must be refused (too few audits; a worse candidate), a failing fit that keeps the
current version, two workers racing to refit, and claimed items left alone by the re-prioritisation.

The world is synthetic and small, so LightGBM fits take a fraction of a second: every label of a KITTI
batch carries one flag whose evidence ``c.x`` says how likely it is a real defect
(sigmoid(10x - 5)), while its prior score says nothing (uniform noise): a calibration fitted on the
audits ranks far better than the priors, one fitted on flipped outcomes far worse.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gtqa.scoring.calibration import CalibrationModel
from gtqa.settings import Settings
from gtqa.spec import CompiledSpec, load_spec
from gtqa.storage import (
    CalibrationState,
    calibration_versions,
    claim_next,
    current_calibration,
    decide,
    make_engine,
    make_session_factory,
    upgrade,
)
from gtqa.storage.models import FindingRow, ReviewItemRow
from tests.workers.learning_world import queue_synthetic, quick_fitter
from workers.learning import refit, roll_back

REPO = Path(__file__).resolve().parents[2]
FRAMES, LABELS = 60, 5


@dataclass
class World:
    settings: Settings
    sessions: sessionmaker[Session]
    reads: sessionmaker[Session]
    specs: _Specs
    spec: CompiledSpec
    job_id: int
    truth: dict[str, bool]  # label key -> real defect


class _Specs:
    def __init__(self, spec: CompiledSpec) -> None:
        self.spec = spec

    def get(self, spec_hash: str) -> CompiledSpec:
        assert spec_hash == self.spec.hash
        return self.spec


@pytest.fixture(params=["sqlite", "postgresql"])
def database(
    request: pytest.FixtureRequest, tmp_path: Path, new_database: Callable[..., AbstractContextManager[str]]
) -> Iterator[str]:
    with new_database(request.param, tmp_path, "gtqa_learning") as url:
        upgrade(url)
        yield url


@pytest.fixture
def world(database: str, tmp_path: Path) -> Iterator[World]:
    # The shipped spec without its calibration file beside it: the priors score until a refit promotes.
    shutil.copy(REPO / "specs" / "kitti.md", tmp_path / "kitti.md")
    spec = load_spec(tmp_path / "kitti.md")
    settings = Settings(
        home=tmp_path / "home", database_url=database, refit_min_audits=60, reprioritise_chunk=40
    )
    engine = make_engine(database, pool_size=4)
    sessions, reads = make_session_factory(engine), make_session_factory(engine, read_only=True)
    job_id, truth = queue_synthetic(sessions, spec, FRAMES, LABELS)
    yield World(settings, sessions, reads, _Specs(spec), spec, job_id, truth)
    engine.dispose()


def _audit(world: World, n: int, auditor: str = "alice") -> None:
    """Auditors decide the top ``n`` items of the queue, with the truth."""
    for _ in range(n):
        with world.sessions.begin() as session:
            item = claim_next(session, auditor, lease_s=600)
            assert item is not None
        with world.sessions.begin() as session:
            label = item.label_key
            assert label is not None
            decide(session, item.id, auditor, "defect" if world.truth[label] else "not_defect")


def _pending(world: World) -> list[tuple[int, float, float, int | None]]:
    """(item id, item priority, finding score, finding's calibration version) of pending flag items."""
    with world.reads() as session:
        rows = session.execute(
            select(ReviewItemRow.id, ReviewItemRow.priority, FindingRow.score, FindingRow.calibration_version)
            .join(FindingRow, FindingRow.id == ReviewItemRow.finding_id)
            .where(ReviewItemRow.status == "pending")
            .order_by(ReviewItemRow.id)
        )
        return [(a, b, c, d) for a, b, c, d in rows]


def _pending_ap(world: World) -> float:
    """How well the pending queue's order finds the real defects (AP by item priority)."""
    from gtqa.scoring.gate import weighted_ap

    with world.reads() as session:
        rows = session.execute(
            select(ReviewItemRow.priority, FindingRow.label_key)
            .join(FindingRow, FindingRow.id == ReviewItemRow.finding_id)
            .where(ReviewItemRow.status == "pending")
        ).all()
    y = np.array([world.truth[str(label)] for _, label in rows], dtype=np.float64)
    ap = weighted_ap(np.array([p for p, _ in rows]), y)
    assert ap is not None
    return ap


def test_refit_gate_promote_rerank_and_roll_back(world: World) -> None:
    _audit(world, 120)
    with world.sessions.begin() as session:  # an item an auditor holds while the refit runs
        held = claim_next(session, "bob", lease_s=600)
        assert held is not None
    before = {i: (p, s, v) for i, p, s, v in _pending(world)}
    ap_before = _pending_ap(world)

    outcome = refit(world, "kitti", "kitti", owner="w1", fitter=quick_fitter())

    assert outcome.status == "promoted", outcome.reason
    assert outcome.moved > 0
    with world.reads() as session:
        current = current_calibration(session, world.spec.name, "kitti")
        (version,) = calibration_versions(session)
    assert current is not None and current.id == outcome.version_id == version.id
    assert version.status == CalibrationState.promoted and version.model_sha256
    assert version.evaluation is not None and version.evaluation["delta"] > 0
    assert version.n_audits >= 100
    after = _pending(world)
    assert {v for _, _, _, v in after} == {outcome.version_id}  # every pending flag re-scored by it
    assert _pending_ap(world) > ap_before + 0.1  # the new order finds the real defects sooner
    with world.reads() as session:  # the claimed item kept its priority, score and version
        row = session.get_one(ReviewItemRow, held.id)
        finding = session.get_one(FindingRow, row.finding_id)
    assert row.status == "claimed" and row.claimed_by == "bob"
    assert finding.calibration_version is None and held.id not in {i for i, *_ in after}

    rolled, now, moved = roll_back(world, world.spec.name, "kitti")
    assert (rolled, now) == (outcome.version_id, None) and moved > 0
    with world.reads() as session:
        assert current_calibration(session, world.spec.name, "kitti") is None
        (version,) = calibration_versions(session)
    assert version.status == CalibrationState.rolled_back
    restored = _pending(world)
    assert {v for _, _, _, v in restored} == {None}
    for item, priority, score, _ in restored:  # the priors' scores and priorities again
        assert priority == pytest.approx(before[item][0]) and score == pytest.approx(before[item][1])


def test_too_few_audits_are_refused_without_fitting(world: World) -> None:
    _audit(world, 20)

    def never(*_: object) -> CalibrationModel:
        raise AssertionError("fitted on too few audits")

    outcome = refit(world, "kitti", "kitti", owner="w1", fitter=never)
    assert outcome.status == "refused" and "too few audits" in outcome.reason
    with world.reads() as session:
        (version,) = calibration_versions(session)
        assert current_calibration(session, world.spec.name, "kitti") is None
    assert version.model_sha256 is None and version.n_audits < 60
    assert {v for *_, v in _pending(world)} == {None}


def test_a_worse_candidate_is_refused_and_the_current_kept(world: World) -> None:
    _audit(world, 120)
    good = refit(world, "kitti", "kitti", owner="w1", fitter=quick_fitter())
    assert good.status == "promoted", good.reason
    scores = _pending(world)

    worse = refit(world, "kitti", "kitti", owner="w1", fitter=quick_fitter(flip=True))

    assert worse.status == "refused" and worse.reason.startswith("refused"), worse.reason
    with world.reads() as session:
        current = current_calibration(session, world.spec.name, "kitti")
        versions = {v.id: v for v in calibration_versions(session)}
    assert current is not None and current.id == good.version_id
    assert worse.version_id is not None
    refused = versions[worse.version_id]
    assert refused.parent_id == good.version_id and refused.evaluation is not None
    assert refused.evaluation["delta"] < 0
    assert _pending(world) == scores  # nothing re-prioritised


def test_a_failing_fit_keeps_the_current_version(world: World) -> None:
    _audit(world, 120)
    good = refit(world, "kitti", "kitti", owner="w1", fitter=quick_fitter())
    assert good.status == "promoted", good.reason

    def broken(*_: object) -> CalibrationModel:
        raise RuntimeError("LightGBM fell over")

    outcome = refit(world, "kitti", "kitti", owner="w1", fitter=broken)
    assert outcome.status == "failed" and "LightGBM fell over" in outcome.reason
    with world.reads() as session:
        current = current_calibration(session, world.spec.name, "kitti")
    assert current is not None and current.id == good.version_id
    # the lease was given back: the next refit runs
    assert refit(world, "kitti", "kitti", owner="w2", fitter=quick_fitter()).status != "busy"


def test_two_workers_racing_to_refit_fit_once(world: World) -> None:
    _audit(world, 120)
    fits: list[str] = []
    outcomes: dict[str, str] = {}
    start = threading.Barrier(2)

    def worker(name: str) -> None:
        slow = quick_fitter(delay=1.0)

        def counted(*args: object) -> CalibrationModel:
            fits.append(name)
            return slow(*args)  # type: ignore[arg-type]

        start.wait()
        outcomes[name] = refit(world, "kitti", "kitti", owner=name, fitter=counted).status

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("w1", "w2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(fits) == 1
    assert sorted(outcomes.values()) == sorted(["busy", "promoted"]), outcomes
    with world.reads() as session:
        assert len(calibration_versions(session)) == 1
