"""The ops dashboard's reads with and without a filter, and the acceptance report of one batch.

    .venv/bin/python benchmarks/bench_dashboard.py [--batches 20] [--items 2000] [--decided 0.1]
        [--backend sqlite|postgresql] [--url ADMIN_URL] [--repeat 5]

A fresh database (SQLite: a temporary file; PostgreSQL: created from ``--url``, default
``GTQA_BENCH_POSTGRES_URL`` or the local server, and dropped at the end) is filled through the real
repositories: ``--batches`` synthetic deliveries of ``--items`` flags each (four vendors, two teams in
turn, due dates spread), ``--decided`` of each batch's items claimed and decided through ``decide``,
their decisions then spread over the last 14 days. Then, best of ``--repeat``, the time to build what
the page shows (``api.ui.dashboard.board.build``) for the whole programme, one vendor, one team, one
batch and one day, and the statements each sends; and one batch's acceptance report read as the report
now reads it (``acceptance_of``: that batch's facts only) against the way it was read before this
change (the whole dashboard built, its row picked). Results go to ``benchmarks/out/dashboard-<backend>.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from _common import BENCH_POSTGRES_URL, OUT, best_of, fresh_database, run_info, write_json
from bench_queue import flags_for, synthetic_dataset
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.ui.dashboard.board import acceptance_of, build
from gtqa.domain import IssueType, Verdict
from gtqa.spec import CompiledSpec, load_spec
from gtqa.storage import (
    Scope,
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
from gtqa.storage.types import utcnow

VENDORS, TEAMS = ("acme", "zenith", "borealis", "kite"), ("red", "blue")


def seed(
    sessions: sessionmaker[Session], spec: CompiledSpec, batches: int, items: int, decided: float
) -> list[int]:
    """The deliveries, their queues and their decisions; the batch ids."""
    ids = []
    for b in range(batches):
        dataset = synthetic_dataset(items // 10).model_copy(update={"name": f"bench-{b:03d}"})
        by_key = {f.id: (n, f) for n, f in enumerate(dataset.frames)}
        with sessions.begin() as session:
            due = (utcnow() + timedelta(days=b % 9 - 2)).date()
            batch = ingest_batch(
                session, dataset, spec, vendor=VENDORS[b % 4], team=TEAMS[b % 2], due_date=due
            )
            job = create_review_job(session, batch.id, spec_hash=spec.hash, chunk_size=500)
        for chunk in _chunks(sessions, job.id):
            with sessions.begin() as session:
                lease = claim_chunk(session, chunk, "seeder", lease_s=600)
                assert lease is not None
                found = [f for key in lease.frame_keys for f in flags_for(by_key[key][1], by_key[key][0])]
                finish_chunk(session, chunk, "seeder", found, spec)
        with sessions.begin() as session:
            build_review_items(session, job.id, spec, spot_check_share=0.05, seed=b)
        _decide(sessions, job.id, int(items * decided))
        ids.append(batch.id)
    with sessions.begin() as session:  # decisions spread over the last 14 days, batch after batch
        order = text("SELECT id FROM audits ORDER BY batch_id, created_at, id")
        rows = session.execute(order).scalars().all()
        for k, audit in enumerate(rows):
            at = utcnow() - timedelta(days=14 * k / max(len(rows), 1))
            session.execute(text("UPDATE audits SET created_at = :t WHERE id = :i"), {"t": at, "i": audit})
    return ids


def _chunks(sessions: sessionmaker[Session], job: int) -> list[int]:
    with sessions() as session:
        return chunk_ids(session, job)


def _decide(sessions: sessionmaker[Session], job: int, n: int) -> None:
    with sessions.begin() as session:
        for k in range(n):
            item = claim_next(session, f"auditor-{k % 5}", lease_s=600, job_id=job)
            if item is None:
                return
            verdict = (Verdict.defect, Verdict.not_defect, Verdict.not_defect)[k % 3]
            issue = IssueType.bad_box if verdict == Verdict.defect else None
            decide(session, item.id, item.claimed_by or "", verdict, issue_type=issue, seconds=5.0 + k % 20)


class Counter:
    """Statements sent to the database while it listens."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.n = engine, 0

    def __enter__(self) -> Counter:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, *args: Any) -> None:
        self.n += 1


def measure(engine: Engine, sessions: sessionmaker[Session], ids: list[int], repeat: int) -> dict[str, Any]:
    day = utcnow().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=3)
    scopes = {
        "whole programme": Scope(), "one vendor (of 4)": Scope(vendor="acme"),
        "one team (of 2)": Scope(team="red"), "one batch": Scope(batch=ids[0]),
        "one day (of 14)": Scope(start=day, end=day + timedelta(days=1)),
    }  # fmt: skip
    out: dict[str, Any] = {}
    for name, scope in scopes.items():
        out[name] = _timed(engine, repeat, lambda s=scope: _build(sessions, s))
    out["acceptance report, one batch's facts"] = _timed(engine, repeat, lambda: _report(sessions, ids[0]))
    out["acceptance report, whole build (before)"] = _timed(
        engine, repeat, lambda: _old_report(sessions, ids[0])
    )
    return out


def _timed(engine: Engine, repeat: int, fn: Any) -> dict[str, float]:
    with Counter(engine) as counted:
        fn()
    seconds, decisions = best_of(fn, repeat)
    return {"ms": round(seconds * 1000, 1), "statements": counted.n, "decisions": decisions}


def _build(sessions: sessionmaker[Session], scope: Scope) -> int:
    with sessions() as session:
        return build(session, utcnow(), scope=scope).headline.decisions


def _report(sessions: sessionmaker[Session], batch: int) -> int:
    with sessions() as session:
        return acceptance_of(session, batch).audited


def _old_report(sessions: sessionmaker[Session], batch: int) -> int:
    with sessions() as session:
        return next(r for r in build(session, utcnow()).acceptance if r.batch.id == batch).audited


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--items", type=int, default=2000, help="flags per batch (a multiple of 10)")
    parser.add_argument("--decided", type=float, default=0.1, help="share of each batch's items decided")
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="sqlite")
    parser.add_argument("--url", default=BENCH_POSTGRES_URL)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    console = Console()
    with fresh_database(args.backend, args.url) as url:
        upgrade(url)
        engine = make_engine(url, pool_size=2)
        sessions = make_session_factory(engine, read_only=False)
        try:
            start = time.perf_counter()
            ids = seed(sessions, load_spec(None), args.batches, args.items, args.decided)
            seeded = time.perf_counter() - start
            results = measure(engine, sessions, ids, args.repeat)
        finally:
            engine.dispose()
    table = Table(
        title=f"The dashboard's reads ({args.backend}, {args.batches} batches x {args.items:,} items)"
    )
    for column in ("scope", "ms (best)", "statements", "decisions counted"):
        table.add_column(column, justify="left" if column == "scope" else "right")
    for name, r in results.items():
        table.add_row(name, f"{r['ms']:.1f}", str(r["statements"]), str(r["decisions"]))
    console.print(table)
    payload = {"run": run_info(), "args": vars(args), "seed_s": round(seeded, 1), "results": results}
    write_json(OUT / f"dashboard-{args.backend}.json", payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
