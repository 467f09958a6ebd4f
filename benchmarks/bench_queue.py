"""The auditors' queue under load: ``claim_next`` latency with 100,000 pending items and 20 auditors.

    .venv/bin/python benchmarks/bench_queue.py [--items 100000] [--auditors 20] [--claims 250]
        [--processes 2] [--think-ms 0] [--durable-claims] [--backend postgresql|sqlite] [--url ADMIN_URL]
        [--keep]

A fresh database (PostgreSQL: created from ``--url``, default ``GTQA_BENCH_POSTGRES_URL`` or the local
server, and dropped at the end unless ``--keep``; SQLite: a temporary file) is migrated and filled
through the real repositories: a synthetic batch of items/10 frames x 10 labels is ingested, a review
job's chunks are leased and finished with one finding per label, and the queue is built from them
(``--items`` pending items). Then ``--auditors`` auditors start together, each a thread with a
connection of its own, spread over ``--processes`` client processes (2: like API workers on a 2-core
machine; ``--processes 20``: a process per auditor). Each claims ``--claims`` items and decides every
one, pausing ``--think-ms`` on average in between. With no pause this is a saturation test: every
auditor is always waiting on the database, so latency is mostly queueing for the machine's CPUs (the
client processes included); real auditors spend seconds on a decision.

Latency is wall time per call including its transaction's commit (what an API request pays), in
milliseconds; the run also reports throughput, the seeding times, the load average (other work on the
machine shows up in the numbers), and the PostgreSQL plan of the claim's candidate search. Results go to
``benchmarks/out/queue-<backend>-think<ms>.json``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from _common import BENCH_POSTGRES_URL, OUT, fresh_database, run_info, write_json
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from gtqa.domain import Box2D, Dataset, Finding, Frame, IssueType, Label, Verdict
from gtqa.spec import CompiledSpec, load_spec
from gtqa.storage import (
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
    queue_counts,
    upgrade,
)

LABELS_PER_FRAME = 10
CLASSES = ("Car", "Pedestrian", "Cyclist", "Van", "Truck")
TYPES = (IssueType.bad_box, IssueType.wrong_class, IssueType.attribute, IssueType.duplicate)


def synthetic_dataset(frames: int) -> Dataset:
    def label(f: int, i: int) -> Label:
        x = 20.0 + 100 * i
        return Label(
            id=f"{f:06d}:{i}",
            frame=f"{f:06d}",
            cls=CLASSES[(f + i) % 5],
            box=Box2D(x1=x, y1=150, x2=x + 60, y2=220),
        )

    return Dataset(
        name="bench-queue",
        format="kitti",
        root="/synthetic",
        frames=tuple(
            Frame(
                id=f"{f:06d}",
                width=1242,
                height=375,
                labels=tuple(label(f, i) for i in range(LABELS_PER_FRAME)),
            )
            for f in range(frames)
        ),
    )


def flags_for(frame: Frame, n: int) -> list[Finding]:
    """One finding per label, with scores spread over (0, 1) so priorities are distinct."""
    return [
        Finding(
            frame=frame.id,
            label=lb.id,
            type=TYPES[(n + i) % len(TYPES)],
            score=((n * LABELS_PER_FRAME + i) * 7919 % 99_991 + 1) / 100_000,
            box=tuple(lb.box.as_list()),  # type: ignore[arg-type]
            check="bench",
            message="synthetic",
        )
        for i, lb in enumerate(frame.labels)
    ]


def seed(sessions: sessionmaker[Session], spec: CompiledSpec, items: int) -> dict[str, float]:
    frames = items // LABELS_PER_FRAME
    dataset = synthetic_dataset(frames)
    by_key = {f.id: (n, f) for n, f in enumerate(dataset.frames)}
    timings: dict[str, float] = {}
    start = time.perf_counter()
    with sessions.begin() as session:
        batch = ingest_batch(session, dataset, spec)
        job = create_review_job(session, batch.id, spec_hash=spec.hash, chunk_size=500)
    timings["ingest_s"] = time.perf_counter() - start
    start = time.perf_counter()
    with sessions() as session:
        chunks = chunk_ids(session, job.id)
    for chunk in chunks:
        with sessions.begin() as session:
            lease = claim_chunk(session, chunk, "seeder", lease_s=600)
            assert lease is not None
            found = [f for key in lease.frame_keys for f in flags_for(by_key[key][1], by_key[key][0])]
            finish_chunk(session, chunk, "seeder", found, spec)
    timings["findings_s"] = time.perf_counter() - start
    start = time.perf_counter()
    with sessions.begin() as session:
        build_review_items(session, job.id, spec, spot_check_share=0.0)
    timings["build_queue_s"] = time.perf_counter() - start
    return timings


@dataclass(frozen=True)
class Load:
    claims: int
    think_ms: float
    durable: bool
    start_at: float  # time.time() at which every auditor starts


def auditor(sessions: sessionmaker[Session], n: int, load: Load) -> tuple[list[float], list[float]]:
    """One auditor, with a connection of its own: claim, think, decide, ``load.claims`` times."""
    rng, name = random.Random(n), f"auditor-{n:02d}"
    claim_ms: list[float] = []
    decide_ms: list[float] = []
    time.sleep(max(0.0, load.start_at - time.time()))
    for _ in range(load.claims):
        t0 = time.perf_counter()
        with sessions.begin() as session:
            item = claim_next(session, name, lease_s=900, durable=load.durable)
        claim_ms.append((time.perf_counter() - t0) * 1000)
        if item is None:
            break
        if load.think_ms:
            time.sleep(rng.uniform(0, 2 * load.think_ms) / 1000)
        t1 = time.perf_counter()
        with sessions.begin() as session:
            decide(session, item.id, name, Verdict.not_defect, seconds=3.0)
        decide_ms.append((time.perf_counter() - t1) * 1000)
    return claim_ms, decide_ms


def serve(url: str, auditors: list[int], load: Load, out: Any) -> None:
    """A process serving some auditors, one thread and one pooled connection each (as an API worker
    process would), reporting their latencies and its CPU time."""
    engine = make_engine(url, pool_size=len(auditors))
    sessions = make_session_factory(engine)
    try:
        with sessions() as session:  # compile and configure the mappers before the start line
            item = claim_next(session, "warm-up", lease_s=900)
            if item is not None:
                decide(session, item.id, "warm-up", Verdict.not_defect, seconds=3.0)
            session.rollback()
        cpu = time.process_time()
        with ThreadPoolExecutor(len(auditors)) as pool:
            results = list(pool.map(lambda n: auditor(sessions, n, load), auditors))
        out.put(
            (
                [x for c, _ in results for x in c],
                [x for _, d in results for x in d],
                time.process_time() - cpu,
                None,
            )
        )
    except Exception as exc:  # noqa: BLE001 - reported by the parent
        out.put(([], [], 0.0, repr(exc)))
    finally:
        engine.dispose()


def run_auditors(url: str, auditors: int, processes: int, load: Load) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    groups = [list(range(auditors))[p::processes] for p in range(processes)]
    procs = [context.Process(target=serve, args=(url, group, load, out)) for group in groups if group]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    wall = time.time() - load.start_at
    for p in procs:
        p.join()
    errors = [e for *_, e in results if e]
    if errors:
        raise RuntimeError(f"{len(errors)} processes failed; first: {errors[0]}")
    return {
        "claims": [x for c, *_ in results for x in c],
        "decides": [x for _, d, *_ in results for x in d],
        "client_cpu_s": sum(cpu for _, _, cpu, _ in results),
        "wall_s": wall,
    }


def percentiles(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {
        "n": len(samples),
        "p50": cuts[49],
        "p90": cuts[89],
        "p99": cuts[98],
        "max": max(samples),
        "mean": statistics.fmean(samples),
    }


def claim_plan(engine: Engine) -> str:
    """EXPLAIN ANALYZE of the claim's candidate search, rolled back (PostgreSQL only)."""
    if engine.dialect.name != "postgresql":
        return ""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM review_items WHERE status = 'pending' "
                "ORDER BY priority DESC, id DESC LIMIT 1 FOR UPDATE SKIP LOCKED"
            )
        ).scalars()
        plan = "\n".join(rows)
        conn.rollback()
    return plan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--auditors", type=int, default=20)
    parser.add_argument("--claims", type=int, default=250, help="claims per auditor")
    parser.add_argument(
        "--processes", type=int, default=2, help="client processes the auditors are spread over (API workers)"
    )
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="mean pause between a claim and its decision (uniform, 0 to 2x)",
    )
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--url", default=BENCH_POSTGRES_URL)
    parser.add_argument(
        "--durable-claims", action="store_true", help="claim_next(durable=True): wait for the WAL flush"
    )
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database afterwards")
    args = parser.parse_args(argv)
    console = Console()
    spec = load_spec(None)
    with fresh_database(args.backend, args.url, args.keep) as url:
        upgrade(url)
        engine = make_engine(url, pool_size=args.auditors + 2)
        sessions = make_session_factory(engine)
        try:
            console.print(f"seeding {args.items:,} pending items ({args.backend}) …")
            timings = seed(sessions, spec, args.items)
            if engine.dialect.name == "postgresql":  # fresh statistics, as autovacuum would soon give
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("ANALYZE"))
            with sessions() as session:
                pending = queue_counts(session)
            console.print(f"{pending} in {timings}")
            engine.dispose()
            load = Load(args.claims, args.think_ms, args.durable_claims, start_at=time.time() + 8.0)
            run = run_auditors(url, args.auditors, args.processes, load)
            plan = claim_plan(engine)
        finally:
            engine.dispose()
    result = {
        "run": run_info(),
        "backend": args.backend,
        "items": args.items,
        "auditors": args.auditors,
        "claims_per_auditor": args.claims,
        "processes": args.processes,
        "think_ms": args.think_ms,
        "durable_claims": args.durable_claims,
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
        "seeding": timings,
        "claim_next_ms": percentiles(run["claims"]),
        "decide_ms": percentiles(run["decides"]),
        "wall_s": run["wall_s"],
        "claims_per_s": len(run["claims"]) / run["wall_s"],
        "client_cpu_ms_per_claim_and_decide": 1000 * run["client_cpu_s"] / len(run["decides"]),
        "claim_plan": plan,
    }
    title = (
        f"{args.items:,} pending, {args.auditors} auditors in {args.processes} processes, "
        f"think {args.think_ms:g} ms ({args.backend})"
    )
    table = Table(title=title)
    for column in ("call", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"):
        table.add_column(column, justify="right")
    for call, stats in (("claim_next", result["claim_next_ms"]), ("decide", result["decide_ms"])):
        table.add_row(
            call,
            *(f"{stats[k]:.1f}" if k != "n" else str(stats[k]) for k in ("n", "p50", "p90", "p99", "max")),
        )
    console.print(table)
    console.print(
        f"{result['claims_per_s']:.0f} claims/s (each followed by a decide); wall {run['wall_s']:.1f} s; "
        f"client CPU {result['client_cpu_ms_per_claim_and_decide']:.1f} ms per claim + decide; "
        f"load average {result['load_average'][0]:.1f}"
    )
    if plan:
        console.print(plan, highlight=False)
    durable = "-durable" if args.durable_claims else ""
    name = f"queue-{args.backend}-p{args.processes}-think{args.think_ms:g}{durable}.json"
    write_json(OUT / name, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
