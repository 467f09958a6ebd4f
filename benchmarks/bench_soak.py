"""Soak: the embedded service (``gtqa serve``: API, a worker with the reconciler's schedule, SQLite and
the filesystem broker under a temporary ``GTQA_HOME``) run for ``--minutes`` while batches are
submitted through the API and an auditor decides items, on loopback only, at a modest rate.

    nice -n 10 .venv/bin/python benchmarks/bench_soak.py --minutes 30 [--submit-every 90]
        [--decide-every 1.0] [--plant-every 300] [--concurrency 1]

Every ``--submit-every`` seconds an ops user posts KITTI tracking 0016 with its detections (209 frames)
as a new batch (``POST /api/v1/batches``, read in place from ``GTQA_DATA_DIR``); every
``--decide-every`` seconds the auditor claims the next item and decides it; ``/healthz`` is asked every
second. Every ``--plant-every`` seconds an empty message file is planted in the broker's queue folder
(what a torn write left behind under kombu #1551). At the end the submissions stop, every job is
waited for (bounded), and each job's findings are compared, frame by frame, with an in-process review
of the same data (no queue): a finding missing is lost, one too many is duplicated.

Reported: worker deaths and restarts (the supervisor's log lines), "Unrecoverable error"s, health
failures, jobs done, decisions, quarantined files, lost and duplicated findings, and the memory of the
API and worker processes at the start and the end. Results: ``benchmarks/out/soak.json``.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from _common import OUT, REPO, data_dir, run_info, write_json
from rich.console import Console
from sqlalchemy import select

from gtqa.storage import make_engine, make_session_factory
from gtqa.storage.models import FindingRow

CHUNK_SIZE = 16
DATASET = "kitti_tracking"
console = Console()
Key = tuple[str, str, str, str, float]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def reference() -> collections.Counter[Key]:
    """The findings of an in-process review of the soak's dataset (no queue, no database)."""
    from agents.run import review
    from gtqa.formats import load_dataset
    from gtqa.spec import load_spec
    from workers.plan import choose_scorer

    root = data_dir() / DATASET
    data = load_dataset(root, None, [root / "detections"])
    spec = load_spec(None)
    result = review(data, spec, chunk_size=CHUNK_SIZE, scorer=choose_scorer(spec, data.format))
    return collections.Counter(
        (f.frame, f.label or "", f.type.value, f.check, round(f.score, 9)) for f in result.findings
    )


class Service:
    def __init__(self, home: Path, port: int, concurrency: int) -> None:
        self.home, self.port = home, port
        self.base = f"http://127.0.0.1:{port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("GTQA_", "OPENAI_"))}
        self.env.update(
            GTQA_HOME=str(home),
            GTQA_DATABASE_URL="",
            GTQA_BROKER_URL="",
            GTQA_DATA_DIR=str(data_dir()),
            GTQA_INGEST_ROOT=str(data_dir()),
            GTQA_CHUNK_SIZE=str(CHUNK_SIZE),
            PYTHONUNBUFFERED="1",
        )
        argv = ["nice", "-n", "10", sys.executable, "-m", "cli", "serve", "--port", str(port)]
        argv += ["-c", str(concurrency), "--demo-users"]
        self.out = (home.parent / "serve.out").open("wb")
        self.proc = subprocess.Popen(argv, env=self.env, cwd=REPO, stdout=self.out, stderr=subprocess.STDOUT)

    def wait_up(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gtqa serve stopped: {(self.home.parent / 'serve.out').read_text()}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError("the API did not come up")

    def tokens(self) -> dict[str, str]:
        lines = (self.home / "demo-tokens.txt").read_text().splitlines()
        return {(f := line.split("\t"))[0]: f[2] for line in lines}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.out.close()


def rss_mb(home: Path) -> dict[str, float]:
    """Resident memory of the service's processes (by their command), MB."""
    found: dict[str, float] = collections.defaultdict(float)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if f"GTQA_HOME={home}".encode() not in (proc / "environ").read_bytes().split(b"\0"):
                continue
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            rss = next(
                int(line.split()[1])
                for line in (proc / "status").read_text().splitlines()
                if line.startswith("VmRSS")
            )
        except (OSError, StopIteration):
            continue
        role = "api" if b"api" in argv else "worker" if b"worker" in argv else "serve"
        found[role] += rss / 1024
    return dict(found)


def soak(args: argparse.Namespace) -> dict[str, Any]:
    expected = reference()
    with tempfile.TemporaryDirectory(prefix="gtqa-soak-") as tmp:
        home = Path(tmp) / "home"
        service = Service(home, _free_port(), args.concurrency)
        try:
            service.wait_up()
            result = drive(service, args)
            result["memory_mb_end"] = rss_mb(home)
            result["jobs_complete"] = finish(service, result["jobs"], args)
            result.update(compare(home, result["jobs"], expected))
        finally:
            service.stop()
            result_logs = logs(home)
        result.update(result_logs)
    return result


def drive(service: Service, args: argparse.Namespace) -> dict[str, Any]:
    tokens = service.tokens()
    ops = httpx.Client(
        base_url=f"{service.base}/api/v1", headers={"Authorization": f"Bearer {tokens['ops']}"}, timeout=60
    )
    auditor = httpx.Client(
        base_url=f"{service.base}/api/v1",
        headers={"Authorization": f"Bearer {tokens['auditor']}"},
        timeout=60,
    )
    stats: dict[str, Any] = collections.Counter()
    jobs: list[int] = []
    memory_start = rss_mb(service.home)
    start = time.monotonic()
    end = start + 60 * args.minutes
    next_submit = next_decide = next_health = start
    next_plant = start + args.plant_every
    verdicts = ("defect", "not_defect", "unsure")
    while (now := time.monotonic()) < end:
        if now >= next_submit:
            next_submit += args.submit_every
            body = {"path": DATASET, "predictions": ["detections"], "vendor": f"soak-{len(jobs) % 3}"}
            try:
                r = ops.post("/batches", json=body)
                r.raise_for_status()
                jobs.append(int(r.json()["job"]["id"]))
                stats["batches"] += 1
            except httpx.HTTPError as exc:
                stats["submit_errors"] += 1
                console.print(f"submit failed: {exc!r}")
        if now >= next_decide:
            next_decide += args.decide_every
            stats[decide(auditor, verdicts[stats["decided"] % 3])] += 1
        if now >= next_health:
            next_health += 1.0
            try:
                ok = httpx.get(f"{service.base}/healthz", timeout=5).status_code == 200
            except httpx.HTTPError:
                ok = False
            stats["health_ok" if ok else "health_failed"] += 1
        if args.plant_every and now >= next_plant:
            next_plant += args.plant_every
            queue = service.home / "broker" / "queue"
            (queue / f"0_{uuid.uuid4()}.gtqa.review.msg").write_bytes(b"")
            stats["planted"] += 1
        if service.proc.poll() is not None:
            stats["serve_exited"] = service.proc.returncode
            break
        time.sleep(0.05)
    ops.close()
    auditor.close()
    console.print(f"drove {args.minutes} min: {dict(stats)}")
    return {
        "stats": dict(stats),
        "jobs": jobs,
        "memory_mb_start": memory_start,
        "elapsed_s": time.monotonic() - start,
    }


def decide(client: httpx.Client, verdict: str) -> str:
    try:
        r = client.post("/queue/next")
        if r.status_code == 204:
            return "queue_empty"
        r.raise_for_status()
        item = r.json()
        item_id = item["item"]["id"]
        if item["finding"] is None and verdict == "defect":
            verdict = "not_defect"  # a spot check has no flag type to confirm
        d = client.post(f"/queue/items/{item_id}/decision", json={"verdict": verdict, "seconds": 1.0})
        d.raise_for_status()
        return "decided"
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        console.print(f"decision failed: {exc!r}")
        return "decide_errors"


def finish(service: Service, jobs: list[int], args: argparse.Namespace) -> bool:
    """Wait (bounded) until every job is done or failed."""
    engine = make_engine(f"sqlite:///{service.home / 'gtqa.sqlite'}", pool_size=1)
    sessions = make_session_factory(engine, read_only=True)
    from gtqa.storage import JobStatus, job_record

    deadline = time.monotonic() + args.finish_timeout
    try:
        while time.monotonic() < deadline:
            with sessions() as session:
                states = [job_record(session, j).status for j in jobs]
            if all(s in (JobStatus.done, JobStatus.failed) for s in states):
                return all(s == JobStatus.done for s in states)
            time.sleep(2.0)
        return False
    finally:
        engine.dispose()


def compare(home: Path, jobs: list[int], expected: collections.Counter[Key]) -> dict[str, Any]:
    engine = make_engine(f"sqlite:///{home / 'gtqa.sqlite'}", pool_size=1)
    lost = duplicated = frames_off = 0
    try:
        with make_session_factory(engine, read_only=True)() as session:
            for job in jobs:
                rows = session.execute(
                    select(
                        FindingRow.frame_key,
                        FindingRow.label_key,
                        FindingRow.type,
                        FindingRow.check,
                        FindingRow.score,
                    ).where(FindingRow.job_id == job)
                ).all()
                got = collections.Counter(
                    (f, lab or "", str(t.value), c, round(s, 9)) for f, lab, t, c, s in rows
                )
                lost += sum((expected - got).values())
                duplicated += sum((got - expected).values())
                frames_off += len({k[0] for k in (expected - got) + (got - expected)})
    finally:
        engine.dispose()
    return {
        "findings_expected_per_job": sum(expected.values()),
        "findings_lost": lost,
        "findings_duplicated": duplicated,
        "frames_differing": frames_off,
    }


def logs(home: Path) -> dict[str, Any]:
    folder = home / "logs"
    text = {p.stem: p.read_text(errors="replace") for p in folder.glob("*.log")} if folder.is_dir() else {}
    stopped = re.compile(r"gtqa serve: the (\w+) process stopped")
    deaths = collections.Counter(m.group(1) for t in text.values() for m in stopped.finditer(t))
    quarantine = home / "broker" / "quarantine"
    return {
        "process_deaths": dict(deaths),
        "worker_deaths": deaths.get("worker", 0),
        "restarts": sum(t.count("gtqa serve: restarting the") for t in text.values()),
        "unrecoverable_errors": sum(t.count("Unrecoverable error") for t in text.values()),
        "quarantined": len(list(quarantine.iterdir())) if quarantine.is_dir() else 0,
        "quarantine_log_lines": sum(t.count("does not parse") for t in text.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--submit-every", type=float, default=90.0, help="seconds between batches")
    parser.add_argument("--decide-every", type=float, default=1.0, help="seconds between decisions")
    parser.add_argument(
        "--plant-every", type=float, default=300.0, help="seconds between planted empty files; 0 = none"
    )
    parser.add_argument("--concurrency", type=int, default=1, help="worker processes")
    parser.add_argument(
        "--finish-timeout", type=float, default=600.0, help="seconds to wait for the last jobs"
    )
    args = parser.parse_args()
    result = {"run": run_info(), "args": vars(args), **soak(args)}
    write_json(OUT / "soak.json", result)
    keys = (
        "elapsed_s", "stats", "jobs_complete", "worker_deaths", "restarts", "unrecoverable_errors",
        "quarantined", "findings_expected_per_job", "findings_lost", "findings_duplicated",
        "memory_mb_start", "memory_mb_end",
    )  # fmt: skip
    for key in keys:
        console.print(f"{key}: {result.get(key)}")


if __name__ == "__main__":
    main()
