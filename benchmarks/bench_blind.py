"""What blind second reviews cost the claim (issue 16, item 4): ``claim_next`` skips the items that are
second reviews of the claiming auditor's own decisions (``blind_to``), so an auditor with many of them
at the head of the queue scans past them.

    .venv/bin/python benchmarks/bench_blind.py [--items 20000] [--claims 400] [--blind 0,20,200,2000]
        [--url ADMIN_URL]

A fresh PostgreSQL database is seeded as ``bench_queue.py`` does (``--items`` pending flags). For each
count k of ``--blind``, the k highest-priority pending items are made second reviews blind to the
claiming auditor (k = 0 touches nothing, so the script also runs on a checkout without blind items, for
an A/B of the same statement before and after). Then one auditor claims and releases ``--claims`` times
in a row, one transaction each: the latency of ``claim_next`` including its commit, in ms, with no
other client (the machine's load average is recorded: other work shows up in the numbers). The plan of
the candidate search with the filter is recorded too. Results: ``benchmarks/out/blind.json``.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from _common import BENCH_POSTGRES_URL, OUT, fresh_database, run_info, write_json
from bench_queue import percentiles, seed
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from gtqa.spec import load_spec
from gtqa.storage import claim_next, make_engine, make_session_factory, release, upgrade

AUDITOR = "ann"
SEARCH = (
    "SELECT id FROM review_items WHERE status = 'pending' AND (blind_to IS NULL OR blind_to <> 'ann') "
    "ORDER BY priority DESC, id DESC LIMIT 1 FOR UPDATE SKIP LOCKED"
)


def make_blind(engine: Engine, k: int) -> None:
    """The k highest-priority pending items become second reviews blind to the auditor (others reset)."""
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE review_items SET purpose = 'audit', blind_to = NULL WHERE blind_to IS NOT NULL")
        )
        conn.execute(
            text(
                "UPDATE review_items SET purpose = 'second_review', blind_to = :who WHERE id IN (SELECT id "
                "FROM review_items WHERE status = 'pending' ORDER BY priority DESC, id DESC LIMIT :k)"
            ),
            {"who": AUDITOR, "k": k},
        )
        conn.execute(text("ANALYZE review_items"))


def claims(sessions: sessionmaker[Session], n: int) -> list[float]:
    """Latency (ms) of n claims in a row, each released afterwards in a transaction of its own."""
    out = []
    for _ in range(n):
        start = time.perf_counter()
        with sessions.begin() as session:
            item = claim_next(session, AUDITOR, lease_s=60)
        out.append((time.perf_counter() - start) * 1000)
        assert item is not None
        with sessions.begin() as session:
            release(session, item.id, AUDITOR)
    return out


def plan(engine: Engine) -> str:
    with engine.connect() as conn:
        rows = conn.execute(text(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {SEARCH}")).scalars()
        found = "\n".join(rows)
        conn.rollback()
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--claims", type=int, default=400)
    parser.add_argument("--blind", default="0,20,200,2000", help="comma-separated counts of blind items")
    parser.add_argument("--url", default=BENCH_POSTGRES_URL)
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"run": run_info(), "items": args.items, "claims": args.claims, "by_blind": {}}
    with fresh_database("postgresql", args.url) as url:
        upgrade(url)
        engine = make_engine(url, pool_size=2)
        sessions = make_session_factory(engine)
        results["seed"] = seed(sessions, load_spec(None), args.items)
        for k in (int(x) for x in args.blind.split(",")):
            if k:
                make_blind(engine, k)
            claims(sessions, 20)  # warm the caches and the statement cache
            got = percentiles(claims(sessions, args.claims))
            got["load"] = os.getloadavg()[0]
            results["by_blind"][k] = got
            print(f"blind {k:>5}: p50 {got['p50']:.2f} ms  p90 {got['p90']:.2f} ms  p99 {got['p99']:.2f} ms  "
                  f"load {got['load']:.1f}")  # fmt: skip
            if k:
                results.setdefault("plans", {})[k] = plan(engine)
        engine.dispose()
    for k, p in results.get("plans", {}).items():
        print(f"-- plan of the candidate search, {k} blind items at the head --\n{p}")
    write_json(OUT / "blind.json", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
