"""The learning queue in the service (issue 19): what one refit costs, and whether re-prioritising the
pending queue after a promotion blocks the auditors.

    .venv/bin/python benchmarks/bench_learning.py [--stack postgresql|sqlite] [--frames 20000]
        [--labels 5] [--decide 600] [--url ADMIN_URL] [--keep]

A fresh database holds one KITTI batch of ``--frames`` frames with ``--labels`` labels each and one
flag per label (a feature that predicts the outcome, a prior that does not), stored through the real
repositories and queued; ``--decide`` of the top items are decided with the synthetic truth. Then:

1. the claim latency of one auditor (claim, decide, commit) with nothing else running: the baseline;
2. one refit through ``workers.learning.refit`` with the production fitter (``fit_calibration``: 5
   boosters x 100 rounds, 5 folds), timed by phase; it promotes, so it re-prioritises every pending flag
   in transactions of ``GTQA_REPRIORITISE_CHUNK`` (1,000) items, each transaction timed;
3. the same auditor, in a process of its own as the API is, claiming and deciding all through the
   refit: its claim latency while the refit fits and re-prioritises, and which phase each claim slower
   than 0.25 s overlapped.

Results go to ``benchmarks/out/learning-<stack>.json``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from typing import Any

import numpy as np
from _common import BENCH_POSTGRES_URL, OUT, fresh_database, run_info, write_json
from bench_queue import percentiles
from rich.console import Console
from sqlalchemy.orm import Session, sessionmaker

import workers.learning as learning
from gtqa.domain import Box2D, Dataset, Finding, Frame, IssueType, Label
from gtqa.settings import Settings
from gtqa.spec import CompiledSpec, load_spec
from gtqa.storage import (
    Rescored,
    build_review_items,
    chunk_ids,
    claim_chunk,
    claim_next,
    create_review_job,
    decide,
    finish_chunk,
    ingest_batch,
    make_engine,
    make_session_factory,
    upgrade,
)

console = Console()


class _Specs:
    def __init__(self, spec: CompiledSpec) -> None:
        self.spec = spec

    def get(self, spec_hash: str) -> CompiledSpec:
        return self.spec


class _Ctx:
    """A worker's: read-write sessions, and read-only ones (SQLite: no write lock while scoring)."""

    def __init__(
        self, settings: Settings, sessions: sessionmaker[Session], reads: sessionmaker[Session], specs: _Specs
    ) -> None:
        self.settings, self.sessions, self.reads, self.specs = settings, sessions, reads, specs


def seed(sessions: sessionmaker[Session], spec: CompiledSpec, frames: int, labels: int) -> dict[str, bool]:
    """One batch, one flag per label, reviewed and queued; the truth per label key."""
    rng = np.random.default_rng(0)
    built, flags, truth = [], [], {}
    for f in range(frames):
        key = f"{f:06d}"
        boxes = [Box2D(x1=60.0 * i, y1=20.0, x2=60.0 * i + 40.0, y2=80.0) for i in range(labels)]
        built.append(
            Frame(id=key, width=1242, height=375, labels=tuple(
                Label(id=f"{key}:{i}", frame=key, cls="Car", box=b) for i, b in enumerate(boxes)
            ))
        )  # fmt: skip
        for i, b in enumerate(boxes):
            x, prior = float(rng.uniform()), float(rng.uniform(0.1, 0.9))
            truth[f"{key}:{i}"] = bool(rng.uniform() < 1.0 / (1.0 + np.exp(-(10 * x - 5))))
            flags.append(
                Finding(
                    frame=key, label=f"{key}:{i}", type=IssueType.bad_box, score=prior, raw=prior,
                    box=(b.x1, b.y1, b.x2, b.y2), check="size_outlier", message="",
                    features={"size_outlier.x": x}, cls="Car",
                )
            )  # fmt: skip
    dataset = Dataset(name="bench-learning", format="kitti", root="/data", frames=tuple(built))
    with sessions.begin() as session:
        batch = ingest_batch(session, dataset, spec)
        job = create_review_job(session, batch.id, spec_hash=spec.hash, chunk_size=frames)
    with sessions.begin() as session:
        (chunk,) = chunk_ids(session, job.id)
        assert claim_chunk(session, chunk, "bench", lease_s=3600) is not None
        finish_chunk(session, chunk, "bench", flags, spec)
        build_review_items(session, job.id, spec, spot_check_share=0.0)
    return truth


PHASES = ("audited", "_fit", "_scores", "gate", "reprioritise")
SLOW_S = 0.25  # a claim slower than this is attributed to the refit phase it overlapped


def audit_one(sessions: sessionmaker[Session], truth: dict[str, bool], who: str) -> float:
    """Claim the top item and decide it, each in its own transaction; the claim's seconds."""
    start = time.perf_counter()
    with sessions.begin() as session:
        item = claim_next(session, who, lease_s=600)
    took = time.perf_counter() - start
    assert item is not None and item.label_key is not None
    with sessions.begin() as session:
        decide(session, item.id, who, "defect" if truth[item.label_key] else "not_defect")
    return took


def auditor(url: str, truth: dict[str, bool], stop: Any, out: Any) -> None:
    """In a process of its own, as the API's: claim and decide until ``stop``; (start, seconds) per claim."""
    engine = make_engine(url, pool_size=1)
    sessions = make_session_factory(engine)
    samples: list[tuple[float, float]] = []
    while not stop.is_set():
        start = time.perf_counter()  # CLOCK_MONOTONIC: comparable with the refit's process
        samples.append((start, audit_one(sessions, truth, "auditor")))
        time.sleep(0.05)  # a person is slower
    engine.dispose()
    out.put(samples)


def timed_refit(ctx: _Ctx) -> tuple[learning.RefitOutcome, dict[str, Any]]:
    """The refit, with every re-prioritisation transaction's write timed (and the whole refit)."""
    writes: list[float] = []
    spans: list[tuple[str, float, float]] = []
    original = learning.rescore_pending
    saved = {name: getattr(learning, name) for name in PHASES}

    def spanned(name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return saved[name](*args, **kwargs)
            finally:
                spans.append((name, start, time.perf_counter()))

        return call

    for name in PHASES:
        setattr(learning, name, spanned(name))

    def rescore_timed(session: Session, rescored: list[Rescored]) -> int:
        start = time.perf_counter()
        moved = original(session, rescored)
        writes.append(time.perf_counter() - start)
        return moved

    learning.rescore_pending = rescore_timed  # type: ignore[assignment]
    try:
        start = time.perf_counter()
        outcome = learning.refit(ctx, "kitti", "kitti", owner="bench")
        total = time.perf_counter() - start
    finally:
        learning.rescore_pending = original  # type: ignore[assignment]
        for name, fn in saved.items():
            setattr(learning, name, fn)
    phases: dict[str, float] = {}
    for name, a, b in spans:
        phases[name] = phases.get(name, 0.0) + b - a
    return outcome, {
        "seconds": total, "phase_seconds": phases, "spans": spans,
        "chunk_writes": percentiles(writes) if len(writes) > 1 else writes,
    }  # fmt: skip


def slow_claims(
    samples: list[float], starts: list[float], spans: list[tuple[str, float, float]]
) -> list[Any]:
    """Each claim slower than SLOW_S with the refit phases it overlapped."""
    out = []
    for took, at in zip(samples, starts, strict=True):
        if took > SLOW_S:
            during = sorted({n for n, a, b in spans if a < at + took and b > at})
            out.append({"seconds": round(took, 3), "during": during or ["between phases"]})
    return out


def run(stack: str, url: str, frames: int, labels: int, decided: int) -> dict[str, Any]:
    upgrade(url)
    engine = make_engine(url, pool_size=4)
    sessions = make_session_factory(engine)
    spec = load_spec(None)
    start = time.perf_counter()
    truth = seed(sessions, spec, frames, labels)
    seeded = time.perf_counter() - start
    baseline = [audit_one(sessions, truth, "auditor") for _ in range(decided)]
    reads = make_session_factory(engine, read_only=True)
    ctx = _Ctx(Settings(_env_file=None, database_url=url), sessions, reads, _Specs(spec))  # type: ignore[call-arg]
    mp = multiprocessing.get_context("spawn")
    stop, queue = mp.Event(), mp.Queue()
    proc = mp.Process(target=auditor, args=(url, truth, stop, queue))
    proc.start()
    time.sleep(3.0)  # the auditor's process is up and claiming
    try:
        outcome, timing = timed_refit(ctx)
    finally:
        stop.set()
        pairs: list[tuple[float, float]] = queue.get(timeout=120)
        proc.join(timeout=60)
    engine.dispose()
    starts, samples = [a for a, _ in pairs], [b for _, b in pairs]
    slow = slow_claims(samples, starts, timing.pop("spans"))
    return {
        **run_info(), "stack": stack, "frames": frames, "flags": frames * labels, "seed_seconds": seeded,
        "decided_before_refit": decided, "claim_baseline": percentiles(baseline),
        "claim_during_refit": percentiles(samples) if len(samples) > 1 else samples,
        "slow_claims_during_refit": slow,
        "refit": {"status": outcome.status, "reason": outcome.reason, "moved": outcome.moved, **timing},
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--labels", type=int, default=5)
    parser.add_argument("--decide", type=int, default=600)
    parser.add_argument("--url", default=BENCH_POSTGRES_URL)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    with fresh_database(args.stack, args.url, args.keep, prefix="gtqa_learning") as url:
        result = run(args.stack, url, args.frames, args.labels, args.decide)
    result["load_average"] = os.getloadavg()
    write_json(OUT / f"learning-{args.stack}.json", result)
    console.print_json(data=result)


if __name__ == "__main__":
    main()
