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

from gtqa.domain import Audit, Finding, IssueType, Verdict
from gtqa.scoring.calibration import CalibratedScorer, CalibrationModel
from gtqa.scoring.scorer import PriorScorer
from gtqa.settings import Settings
from gtqa.spec import CompiledSpec, compile_text, load_spec
from gtqa.storage import (
    CalibrationState,
    ItemStatus,
    LearningFlag,
    calibration_versions,
    claim_next,
    current_calibration,
    decide,
    decided_frames,
    frames_flags,
    make_engine,
    make_session_factory,
    upgrade,
)
from gtqa.storage.models import FindingRow, ReviewItemRow
from tests.workers.learning_world import queue_synthetic, quick_fitter
from workers.learning import audited, refit, roll_back
from workers.plan import scorer_and_version

REPO = Path(__file__).resolve().parents[2]
_BLIND = ReviewItemRow.purpose == "second_review"
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


def test_a_spec_change_the_version_depends_on_makes_it_not_apply(world: World) -> None:
    _audit(world, 120)
    outcome = refit(world, "kitti", "kitti", owner="w1", fitter=quick_fitter())
    assert outcome.status == "promoted", outcome.reason
    text = Path(world.spec.path).read_text(encoding="utf-8")
    unrelated = compile_text(
        text.replace("A parked bicycle with nobody", "A parked bike with nobody"), world.spec.path
    )
    changed = compile_text(
        text.replace("size_outlier: {p_low: 0.1, p_high: 0.7}", "size_outlier: {p_low: 0.2, p_high: 0.7}"),
        world.spec.path,
    )
    assert changed.hash != world.spec.hash
    with world.reads() as session:
        scorer, version = scorer_and_version(session, world.spec, "kitti")
        assert version == outcome.version_id and isinstance(scorer, CalibratedScorer)
        assert unrelated.hash != world.spec.hash  # a prose edit keeps it
        assert scorer_and_version(session, unrelated, "kitti")[1] == outcome.version_id
        scorer, version = scorer_and_version(session, changed, "kitti")
    assert version is None and isinstance(scorer, PriorScorer)  # the priors, as default_scorer would


def test_spot_checked_flags_weigh_their_inverse_inclusion_probability() -> None:
    settings = Settings(refit_max_weight=20.0, refit_holdout=0.3)
    flag = _flag_for_weights()

    def stored(i: int, pi: float | None, status: ItemStatus | None) -> LearningFlag:
        f = flag.model_copy(update={"label": f"000001:{i}"})
        return LearningFlag(f, i, 1, "h", 1, status, pi, None)

    flags = [
        stored(0, None, ItemStatus.decided),  # reached by the queue's order: stands for itself
        stored(1, 0.1, ItemStatus.decided),  # sampled from a band at 10 %: stands for 10
        stored(2, 0.01, ItemStatus.decided),  # at 1 %: 100, capped
        stored(3, None, ItemStatus.pending),  # context only
    ]
    fine = [
        Audit(id=str(i), frame="000001", label=f"000001:{i}", verdict=Verdict.not_defect) for i in range(4)
    ]
    data = audited(flags, {1: fine}, settings)
    assert data.weights.tolist() == [1.0, 10.0, 20.0, 1.0]
    assert data.targets == [0.0, 0.0, 0.0, None]  # a flag whose item is not decided teaches nothing


def _flag_for_weights() -> Finding:
    return Finding(
        frame="000001", label="000001:0", type=IssueType.bad_box, score=0.5, raw=0.5, box=(0, 0, 10, 10),
        check="size_outlier", message="", features={"size_outlier.x": 0.5}, cls="Car",
    )  # fmt: skip


def test_blind_second_reviews_neither_teach_nor_move(world: World) -> None:
    """Every decision sends its item to a blind second review (main's ``second_review_share``): those
    items repeat a flag, measure the auditors, and must not count as audits nor be re-prioritised."""
    for _ in range(120):
        with world.sessions.begin() as session:
            item = claim_next(session, "alice", lease_s=600)
            assert item is not None and item.label_key is not None
            verdict = "defect" if world.truth[item.label_key] else "not_defect"
            decide(session, item.id, "alice", verdict, second_review_share=1.0)
    with world.reads() as session:
        flags = frames_flags(session, decided_frames(session, world.spec.name, "kitti"))
        blind = dict(session.execute(select(ReviewItemRow.id, ReviewItemRow.priority).where(_BLIND)).all())
    assert len(blind) == 120
    assert len({f.id for f in flags}) == len(flags)  # one row per flag, not one per item

    outcome = refit(world, "kitti", "kitti", owner="w1", fitter=quick_fitter())

    assert outcome.status == "promoted", outcome.reason
    with world.reads() as session:
        (version,) = calibration_versions(session)
        after = dict(session.execute(select(ReviewItemRow.id, ReviewItemRow.priority).where(_BLIND)).all())
    assert version.n_audits == 120
    assert after == blind
