"""Load beyond one programme (issue 13, item 6): the auditors' queue at 1,000,000 pending items, the
ingest of a 100,000-frame batch, and what each stored row costs the database.

    .venv/bin/python benchmarks/bench_capacity.py claims [--items 1000000] [--base 20000]
        [--auditors 20] [--claims 100] [--processes 2] [--think-ms 0] [--url ADMIN_URL] [--keep]
    .venv/bin/python benchmarks/bench_capacity.py ingest [--frames 100000] [--root /tmp/gtqa-capacity-kitti]
        [--path submit|batch] [--url ADMIN_URL] [--keep]

``claims``: a fresh PostgreSQL database is seeded through the real repositories as
``bench_queue.py`` does, with ``--base`` pending items (one finding per label, a job's queue built
from them); the findings and their queue items are then copied in SQL (``INSERT ... SELECT`` over
``generate_series``, new ids, priorities shifted by a millionth per copy so they stay distinct) until
``--items`` are pending. Frames and labels are not copied: the claim reads only ``review_items``.
Then ``bench_queue.py``'s auditors run against it (latency per ``claim_next`` including its commit)
and the plan of the claim's candidate search is recorded.

``ingest``: a synthetic KITTI object folder of ``--frames`` label files (no images, no calibration)
is written under ``--root`` once (the label files of ``../shared/data/kitti_object`` in turn, the
lines kept as they are), then a child process streams it (``gtqa.formats.open_dataset``) into
``store_delivery`` (``--path submit``: what ``gtqa submit`` and the API's ingest do) or ``ingest_batch``
alone (``--path batch``), stored 1,000 frames at a time in one transaction; the child
reports the time and its peak RSS (``ru_maxrss``), so the figure is the ingest's alone. Another child
then computes a worker's plan of the batch (``review.stream_plan`` over ``storage.iter_frames``).

Both report each table's size (``pg_total_relation_size``: heap, TOAST and indexes) per row. Results
go to ``benchmarks/out/capacity-<what>.json``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import BENCH_POSTGRES_URL, OUT, data_dir, fresh_database, run_info, write_json
from bench_queue import Load, claim_plan, percentiles, run_auditors, seed
from rich.console import Console
from sqlalchemy import Connection, Engine, text

from gtqa.spec import load_spec
from gtqa.storage import make_engine, make_session_factory, queue_counts, upgrade

TABLES = ("frames", "labels", "predictions", "findings", "review_items", "audits")
# Items copied per statement while filling the queue: one transaction each, so progress is visible and
# no statement holds millions of rows of undo at once.
COPIES_PER_STATEMENT = 10
SERIES = "generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint))"


def table_sizes(engine: Engine) -> dict[str, dict[str, float]]:
    """Rows, total bytes (heap + TOAST + indexes), index bytes and bytes per row of each table."""
    sizes: dict[str, dict[str, float]] = {}
    with engine.connect() as conn:
        for table in TABLES:
            rows = conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0
            total = conn.scalar(text(f"SELECT pg_total_relation_size('{table}')")) or 0
            indexes = conn.scalar(text(f"SELECT pg_indexes_size('{table}')")) or 0
            sizes[table] = {
                "rows": rows,
                "total_bytes": total,
                "index_bytes": indexes,
                "bytes_per_row": total / rows if rows else 0.0,
                "index_bytes_per_row": indexes / rows if rows else 0.0,
            }
    return sizes


def _columns(conn: Connection, table: str) -> list[str]:
    query = text(
        "SELECT column_name FROM information_schema.columns WHERE table_name = :t AND column_name <> 'id' "
        "ORDER BY ordinal_position"
    )
    return list(conn.scalars(query, {"t": table}))


def multiply_queue(engine: Engine, items: int) -> dict[str, float]:
    """Copy every finding and its pending queue item until ``items`` items are pending; the timing."""
    start = time.perf_counter()
    with engine.begin() as conn:
        base = conn.scalar(text("SELECT count(*) FROM review_items WHERE status = 'pending'")) or 0
        f_max = conn.scalar(text("SELECT max(id) FROM findings")) or 0
        i_max = conn.scalar(text("SELECT max(id) FROM review_items")) or 0
        f_cols, i_cols = _columns(conn, "findings"), _columns(conn, "review_items")
    copies = -(-items // base) - 1 if base else 0
    f_list = ", ".join(f'"{c}"' for c in f_cols)
    i_list = ", ".join(f'"{c}"' for c in i_cols)
    i_select = ", ".join(
        {"finding_id": "r.finding_id + c * CAST(:f_max AS bigint)", "priority": "r.priority - c * 1e-6"}.get(
            c, f'r."{c}"'
        )
        for c in i_cols
    )
    copy_findings = text(
        f"INSERT INTO findings (id, {f_list}) SELECT f.id + c * CAST(:f_max AS bigint), {f_list} "
        f"FROM findings f, {SERIES} c WHERE f.id <= :f_max"
    )
    copy_items = text(
        f"INSERT INTO review_items (id, {i_list}) SELECT r.id + c * CAST(:i_max AS bigint), {i_select} "
        f"FROM review_items r, {SERIES} c WHERE r.id <= :i_max AND r.status = 'pending'"
    )
    for lo in range(1, copies + 1, COPIES_PER_STATEMENT):
        params = {"lo": lo, "hi": min(copies, lo + COPIES_PER_STATEMENT - 1), "f_max": f_max, "i_max": i_max}
        with engine.begin() as conn:
            conn.execute(copy_findings, params)
            conn.execute(copy_items, params)
    with engine.begin() as conn:  # the sequences past the copied ids, as if the rows had been inserted
        for table in ("findings", "review_items"):
            conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))  # what autovacuum would soon do after a bulk load
    return {"copies": copies, "multiply_s": time.perf_counter() - start}


def claims(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    spec = load_spec(None)
    with fresh_database("postgresql", args.url, args.keep, prefix="gtqa_capacity") as url:
        upgrade(url)
        engine = make_engine(url, pool_size=4)
        try:
            console.print(f"seeding {args.base:,} items through the repositories …")
            timings = seed(make_session_factory(engine), spec, args.base)
            console.print(f"copying in SQL up to {args.items:,} pending items …")
            timings |= multiply_queue(engine, args.items)
            with make_session_factory(engine)() as session:
                pending = queue_counts(session)
            console.print(f"{pending} in {timings}")
            plan = claim_plan(engine)
            engine.dispose()
            load = Load(args.claims, args.think_ms, False, start_at=time.time() + 8.0)
            run = run_auditors(url, args.auditors, args.processes, load)
            sizes = table_sizes(engine)  # after the decisions, so that audits are measured too
        finally:
            engine.dispose()
    result = {
        "run": run_info(),
        "items": args.items,
        "pending": str(pending),
        "auditors": args.auditors,
        "claims_per_auditor": args.claims,
        "processes": args.processes,
        "think_ms": args.think_ms,
        "load_average": os.getloadavg(),
        "seeding": timings,
        "claim_next_ms": percentiles(run["claims"]),
        "claim_p95_ms": _p95(run["claims"]),
        "decide_ms": percentiles(run["decides"]),
        "claims_per_s": len(run["claims"]) / run["wall_s"],
        "sizes": sizes,
        "claim_plan": plan,
    }
    console.print(
        f"claim_next ms: p50 {result['claim_next_ms']['p50']:.1f}, p95 {result['claim_p95_ms']:.1f}, "
        f"p99 {result['claim_next_ms']['p99']:.1f}; {result['claims_per_s']:.0f} claims/s; "
        f"load {result['load_average'][0]:.1f}"
    )
    console.print(plan, highlight=False)
    return result


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[94]


def write_kitti(root: Path, frames: int) -> float:
    """A KITTI object folder of ``frames`` label files cycling over the shared data's; seconds taken
    (0 if it was already there)."""
    label_dir = root / "label_2"
    if label_dir.is_dir() and len(os.listdir(label_dir)) == frames:
        return 0.0
    start = time.perf_counter()
    sources = [p.read_text() for p in sorted((data_dir() / "kitti_object" / "label_2").glob("*.txt"))]
    label_dir.mkdir(parents=True, exist_ok=True)
    for n in range(frames):
        (label_dir / f"{n:06d}.txt").write_text(sources[n % len(sources)])
    return time.perf_counter() - start


def _ingest_child(url: str, root: str, path: str, out: Any) -> None:
    """``gtqa submit``'s path (``path="submit"``: ``store_delivery``, which screens the stream for what
    the database cannot store, stores it a slice of 1,000 frames at a time with its review job in one
    transaction, and keeps the label files), or ``ingest_batch`` alone (``"batch"``, §18's figure)."""
    from gtqa.formats import open_dataset
    from gtqa.storage import ingest_batch, store_delivery

    try:
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        stream = open_dataset(Path(root), "kitti")
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        if path == "submit":
            with tempfile.TemporaryDirectory() as home:
                batch, _ = store_delivery(sessions, stream, load_spec(None), home=Path(home), chunk_size=64)
        else:
            with sessions.begin() as session:
                batch = ingest_batch(session, stream, load_spec(None))
        t1 = time.perf_counter()
        engine.dispose()
        out.put(
            {
                "path": path,
                "frames": batch.frame_count,
                "labels": batch.label_count,
                "ingest_s": t1 - t0,
                "ingest_cpu_s": _cpu_s(),  # user + system: less sensitive than wall time to others' load
                "rss_start_mib": rss0 / 1024,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    except Exception as exc:  # noqa: BLE001 - reported by the parent
        out.put({"error": repr(exc)})


def _screen_child(root: str, out: Any) -> None:
    """CPU seconds to read the folder as a stream, then to read it through ``Screen`` (what
    ``store_delivery`` adds to ``ingest_batch``: the unstorable-record check on every frame)."""
    from gtqa.formats import open_dataset
    from gtqa.storage import Screen

    try:
        figures: dict[str, float] = {}
        for name in ("read_cpu_s", "read_screened_cpu_s", "read_cpu_s_again"):
            stream = open_dataset(Path(root), "kitti")
            frames = Screen(stream, allow_problems=True).stream if name == "read_screened_cpu_s" else stream
            c0 = _cpu_s()
            for _ in frames:
                pass
            figures[name] = _cpu_s() - c0
        out.put(figures)
    except Exception as exc:  # noqa: BLE001 - reported by the parent
        out.put({"error": repr(exc)})


def _plan_read_child(url: str, out: Any) -> None:
    """What a worker does once per job for its plan (``workers.plan``): the checks that apply and the
    dataset statistics, in one pass over the batch read a page at a time (``iter_frames``)."""
    from gtqa.domain import Requirement
    from gtqa.review import stream_plan
    from gtqa.storage import has_predictions, iter_frames

    try:
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        engine = make_engine(url)
        with make_session_factory(engine)() as session:
            batch_id = int(session.scalar(text("SELECT max(id) FROM batches")) or 0)
            have = [Requirement.predictions] if has_predictions(session, batch_id) else []
            _, stats = stream_plan(iter_frames(session, batch_id), load_spec(None), have=have)
        engine.dispose()
        out.put(
            {
                "plan_read_labels": stats.n_labels,
                "plan_read_s": time.perf_counter() - t0,
                "plan_read_cpu_s": _cpu_s(),
                "plan_read_rss_start_mib": rss0 / 1024,
                "plan_read_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    except Exception as exc:  # noqa: BLE001 - reported by the parent
        out.put({"error": repr(exc)})


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _in_child(target: Any, *args: Any) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    child = context.Process(target=target, args=(*args, out))
    child.start()
    figures: dict[str, Any] = out.get()
    child.join()
    if "error" in figures:
        raise RuntimeError(figures["error"])
    return figures


def ingest(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    root = Path(args.root)
    console.print(f"writing {args.frames:,} label files under {root} …")
    written_s = write_kitti(root, args.frames)
    with fresh_database("postgresql", args.url, args.keep, prefix="gtqa_capacity") as url:
        upgrade(url)
        console.print(f"reading and ingesting ({args.path}) in a child process …")
        figures = _in_child(_ingest_child, url, str(root), args.path)
        console.print("reading the batch back as a worker's plan does, in another child …")
        figures |= _in_child(_plan_read_child, url)
        engine = make_engine(url)
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
            sizes = table_sizes(engine)
        finally:
            engine.dispose()
    total = figures["ingest_s"]
    result = {
        "run": run_info(),
        "write_files_s": written_s,
        **figures,
        "frames_per_s": figures["frames"] / total,
        "labels_per_s": figures["labels"] / total,
        "load_average": os.getloadavg(),
        "sizes": sizes,
    }
    if args.path == "submit":
        console.print("reading the folder with and without the Screen, in another child …")
        result |= _in_child(_screen_child, str(root))
    console.print({k: v for k, v in result.items() if k not in ("sizes", "run")})
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    c = sub.add_parser("claims")
    c.add_argument("--items", type=int, default=1_000_000)
    c.add_argument("--base", type=int, default=20_000, help="items seeded through the repositories")
    c.add_argument("--auditors", type=int, default=20)
    c.add_argument("--claims", type=int, default=100, help="claims per auditor")
    c.add_argument("--processes", type=int, default=2)
    c.add_argument("--think-ms", type=float, default=0.0)
    i = sub.add_parser("ingest")
    i.add_argument("--frames", type=int, default=100_000)
    i.add_argument("--root", default="/tmp/gtqa-capacity-kitti")
    i.add_argument(
        "--path", choices=("submit", "batch"), default="submit", help="store_delivery or ingest_batch"
    )
    for p in (c, i):
        p.add_argument("--url", default=BENCH_POSTGRES_URL)
        p.add_argument("--keep", action="store_true", help="keep the PostgreSQL database afterwards")
    args = parser.parse_args(argv)
    console = Console()
    result = claims(args, console) if args.what == "claims" else ingest(args, console)
    suffix = (
        f"-{args.items}-think{args.think_ms:g}" if args.what == "claims" else f"-{args.frames}-{args.path}"
    )
    write_json(OUT / f"capacity-{args.what}{suffix}.json", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
