"""The embedded broker, three ways: gtqa's filesystem transport (``workers.filebroker``: atomic writes,
quarantining reads), kombu's own filesystem transport (what gtqa used before; kombu issue #1551), and
kombu's SQLAlchemy transport on the embedded SQLite file (``sqla+sqlite:///<home>/gtqa.sqlite``).

    nice -n 10 .venv/bin/python benchmarks/bench_broker.py [--tasks 300] [--latency 40] [--race 2x200]
        [--transport atomic-fs kombu-fs sqla-sqlite ...]

For each transport a real Celery worker (prefork, ``-c 1``, the same settings as gtqa's: late
acknowledgement, prefetch 1, polling every 0.2 s) runs a task that only records when it started, and:

- **throughput**: ``--tasks`` messages sent in one burst (publish rate), then the time until the worker
  has run them all (tasks/s end to end);
- **latency**: ``--latency`` messages sent one at a time, each once the previous one ran: send → start;
- **race**: ``P`` producer processes send ``M`` messages each while the worker consumes (the race of
  kombu #1551: a reader that lists the folder between a sender's create and write reads an empty file);
- **planted**: an empty and a truncated message (files in the queue folder; rows in ``kombu_message``
  for SQLAlchemy), then 20 good messages: is the worker alive, how many good ones ran, what became of
  the bad ones.

Loopback and the local disk only. Results: ``benchmarks/out/broker.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import lru_cache
from pathlib import Path
from typing import Any

from _common import OUT, REPO, run_info, write_json
from celery import Celery
from kombu.transport import sqlalchemy as kombu_sqla
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
QUEUE = "bench"
TASK = "bench.record"
TRANSPORTS = ("atomic-fs", "kombu-fs", "sqla-sqlite")
console = Console()


class SqlaTransport(kombu_sqla.Transport):  # type: ignore[misc]
    # kombu's SQLAlchemy transport hands every transport option to create_engine, so its polling
    # interval (1 s by default) cannot be set as an option: a subclass, for a fair comparison.
    polling_interval = 0.2


# --- the app the worker and the senders share (built from the environment, on first use) -----------


def build_app(transport: str, home: Path) -> Celery:
    app = Celery("bench", set_as_current=False)
    conf: dict[str, Any] = {
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_backend": None,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": QUEUE,
        "worker_enable_remote_control": False,
        "broker_connection_retry_on_startup": True,
    }
    if transport == "sqla-sqlite":
        # The URL without kombu's "sqla+" prefix: that prefix would choose kombu's class, not ours.
        conf |= {"broker_url": f"sqlite:///{home / 'gtqa.sqlite'}", "broker_transport": _sqla_name()}
    else:
        folder = home / "broker"
        options: dict[str, Any] = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "control_folder": str(folder / "control"),
            "store_processed": True,
            "processed_folder": str(folder / "processed"),
            "polling_interval": 0.2,
        }
        if transport == "atomic-fs":
            options |= {"tmp_folder": str(folder / "tmp"), "quarantine_folder": str(folder / "quarantine")}
        for key in ("data_folder_in", "control_folder", "processed_folder"):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
        conf |= {
            "broker_url": "filesystem://localhost//",
            "broker_transport": "workers.filebroker:Transport" if transport == "atomic-fs" else None,
            "broker_transport_options": options,
        }
    app.conf.update(conf)
    app.task(name=TASK)(_record)
    return app


def _sqla_name() -> str:
    return "bench_broker:SqlaTransport"


def _record(i: int, sent: float) -> None:
    line = f"{i}\t{sent}\t{time.time()}\n".encode()
    fd = os.open(os.environ["BENCH_RECORD"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)  # one small O_APPEND write: lines never interleave
    finally:
        os.close(fd)


@lru_cache(maxsize=1)
def _env_app() -> Celery:
    return build_app(os.environ["BENCH_TRANSPORT"], Path(os.environ["BENCH_HOME"]))


def __getattr__(name: str) -> Any:
    if name == "app":  # celery -A bench_broker
        return _env_app()
    raise AttributeError(name)


# --- one transport -------------------------------------------------------------------------------


class Run:
    def __init__(self, transport: str, home: Path) -> None:
        self.transport, self.home = transport, home
        self.record = home / "record.tsv"
        self.app = build_app(transport, home)
        self.worker: subprocess.Popen[bytes] | None = None
        self.log = home / "worker.log"

    def env(self) -> dict[str, str]:
        path = os.pathsep.join([str(HERE), str(REPO), os.environ.get("PYTHONPATH", "")])
        return dict(
            os.environ,
            BENCH_TRANSPORT=self.transport,
            BENCH_HOME=str(self.home),
            BENCH_RECORD=str(self.record),
            PYTHONPATH=path,
        )

    def start_worker(self) -> None:
        argv = [sys.executable, "-m", "celery", "-A", "bench_broker", "worker", "--pool=prefork", "-c", "1"]
        argv += ["-Q", QUEUE, "-l", "warning", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        with self.log.open("ab") as log:
            self.worker = subprocess.Popen(
                argv, env=self.env(), cwd=HERE, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.send(-1)  # a first message run proves the worker consumes
        if not self.wait_for(lambda ids: -1 in ids, 60):
            raise RuntimeError(f"{self.transport}: the worker did not start:\n{self.log.read_text()[-2000:]}")

    def stop_worker(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.worker.pid, signal.SIGKILL)
            self.worker.wait(timeout=30)

    def alive(self) -> bool:
        return self.worker is not None and self.worker.poll() is None

    def send(self, i: int) -> None:
        self.app.send_task(TASK, args=[i, time.time()], queue=QUEUE)

    def records(self) -> dict[int, tuple[float, float]]:
        if not self.record.exists():
            return {}
        rows = (line.split("\t") for line in self.record.read_text().splitlines())
        return {int(i): (float(sent), float(ran)) for i, sent, ran in rows}

    def wait_for(self, done: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if done(set(self.records())):
                return True
            if not self.alive():
                return False
            time.sleep(0.05)
        return False

    def throughput(self, n: int) -> dict[str, Any]:
        ids = range(1000, 1000 + n)
        start = time.perf_counter()
        with self.app.producer_or_acquire() as producer:
            for i in ids:
                self.app.send_task(TASK, args=[i, time.time()], queue=QUEUE, producer=producer)
        sent = time.perf_counter() - start
        ok = self.wait_for(lambda got: set(ids) <= got, 60 + n)
        total = time.perf_counter() - start
        done = len(set(ids) & set(self.records()))
        return {"tasks": n, "done": done, "publish_per_s": n / sent, "tasks_per_s": done / total, "ok": ok}

    def latency(self, n: int) -> dict[str, Any]:
        ids = range(5000, 5000 + n)
        for i in ids:
            self.send(i)
            if not self.wait_for(lambda got, i=i: i in got, 30):
                break
        records = self.records()
        lat = sorted(1000 * (records[i][1] - records[i][0]) for i in ids if i in records)
        if not lat:
            return {"n": 0}
        return {"n": len(lat), "p50_ms": statistics.median(lat), "p95_ms": _pct(lat, 0.95), "max_ms": lat[-1]}

    def race(self, producers: int, each: int) -> dict[str, Any]:
        base = 10_000
        argv = [sys.executable, str(Path(__file__).resolve()), "--produce", self.transport, str(self.home)]
        start = time.perf_counter()
        procs = [
            subprocess.Popen([*argv, str(base + k * each), str(each)], env=self.env(), cwd=HERE)
            for k in range(producers)
        ]
        for p in procs:
            p.wait(timeout=600)
        want = set(range(base, base + producers * each))
        ok = self.wait_for(lambda got: want <= got, 120)
        done = len(want & set(self.records()))
        return {
            "sent": len(want),
            "done": done,
            "tasks_per_s": done / (time.perf_counter() - start),
            "worker_alive": self.alive(),
            "ok": ok,
        }

    def planted(self, good: int = 20) -> dict[str, Any]:
        whole = json.dumps({"body": "x" * 200, "headers": {}, "properties": {}})
        bad = [b"", whole[: len(whole) // 2].encode()]
        if self.transport == "sqla-sqlite":
            self._plant_rows(bad)
        else:
            for content in bad:
                (self.home / "broker" / "queue" / f"0_{uuid.uuid4()}.{QUEUE}.msg").write_bytes(content)
        ids = range(20_000, 20_000 + good)
        for i in ids:
            self.send(i)
        self.wait_for(lambda got: set(ids) <= got, 60)
        # kombu's SQLAlchemy transport delivers rows without a timestamp first (the good ones) and the
        # planted rows once the queue is otherwise empty: give the worker a few polls to reach them.
        time.sleep(3.0)
        deadline = time.monotonic() + 15  # a worker that logged an unrecoverable error is on its way out
        while self.alive() and "Unrecoverable error" in self.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        quarantine = self.home / "broker" / "quarantine"
        log = self.log.read_text(errors="replace")
        return {
            "planted": len(bad),
            "good_sent": good,
            "good_done": len(set(ids) & set(self.records())),
            "worker_alive": self.alive(),
            "quarantined": len(list(quarantine.iterdir())) if quarantine.is_dir() else 0,
            "unrecoverable": "Unrecoverable error" in log,
            "error": next((line for line in log.splitlines() if "Error" in line), ""),
        }

    def _plant_rows(self, bad: list[bytes]) -> None:
        import sqlite3

        with sqlite3.connect(self.home / "gtqa.sqlite") as db:
            (queue_id,) = db.execute("SELECT id FROM kombu_queue WHERE name = ?", (QUEUE,)).fetchone()
            for content in bad:
                db.execute(
                    "INSERT INTO kombu_message (queue_id, visible, timestamp, payload, version) "
                    "VALUES (?, 1, '2000-01-01 00:00:00', ?, 1)",
                    (queue_id, content.decode()),
                )


def _pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def produce(transport: str, home: Path, first: int, count: int) -> None:
    app = build_app(transport, home)
    with app.producer_or_acquire() as producer:
        for i in range(first, first + count):
            app.send_task(TASK, args=[i, time.time()], queue=QUEUE, producer=producer)
            time.sleep(0.002)  # senders interleave with the worker's polls


@contextmanager
def running(transport: str) -> Iterator[Run]:
    with tempfile.TemporaryDirectory(prefix=f"gtqa-bench-broker-{transport}-") as tmp:
        run = Run(transport, Path(tmp))
        if transport == "sqla-sqlite":
            from gtqa.storage import upgrade

            upgrade(f"sqlite:///{run.home / 'gtqa.sqlite'}")  # the embedded database, as gtqa has it
        try:
            run.start_worker()
            yield run
        finally:
            run.stop_worker()


def measure(transport: str, args: argparse.Namespace) -> dict[str, Any]:
    producers, each = (int(x) for x in args.race.split("x"))
    with running(transport) as run:
        result = {
            "throughput": run.throughput(args.tasks),
            "latency": run.latency(args.latency),
            "race": run.race(producers, each),
        }
        if transport == "sqla-sqlite":
            result["table_rows_after"] = _rows(run.home / "gtqa.sqlite")
        result["planted"] = run.planted()
    return result


def _rows(path: Path) -> int:
    import sqlite3

    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT count(*) FROM kombu_message").fetchone()[0])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--produce":
        produce(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transport", nargs="+", default=list(TRANSPORTS), choices=TRANSPORTS)
    parser.add_argument("--tasks", type=int, default=300, help="messages in the throughput burst")
    parser.add_argument("--latency", type=int, default=40, help="messages sent one at a time")
    parser.add_argument("--race", default="2x200", help="PxM: P producer processes sending M each")
    args = parser.parse_args()
    results = {"run": run_info(), "args": vars(args), "transports": {}}
    for transport in args.transport:
        console.print(f"[bold]{transport}[/bold]")
        results["transports"][transport] = measure(transport, args)
    write_json(OUT / "broker.json", results)
    _print(results["transports"])


def _print(transports: dict[str, dict[str, Any]]) -> None:
    table = Table(title="embedded broker")
    for column in ("transport", "publish/s", "tasks/s", "latency p50/p95", "race", "planted bad messages"):
        table.add_column(column)
    for name, r in transports.items():
        t, lat, race, bad = r["throughput"], r["latency"], r["race"], r["planted"]
        table.add_row(
            name,
            f"{t['publish_per_s']:.0f}",
            f"{t['tasks_per_s']:.1f} ({t['done']}/{t['tasks']})",
            f"{lat.get('p50_ms', 0):.0f} / {lat.get('p95_ms', 0):.0f} ms",
            f"{race['done']}/{race['sent']}, worker {'alive' if race['worker_alive'] else 'DEAD'}",
            f"worker {'alive' if bad['worker_alive'] else 'DEAD'}, "
            f"{bad['good_done']}/{bad['good_sent']} good ran, {bad['quarantined']} quarantined",
        )
    console.print(table)


if __name__ == "__main__":
    main()
