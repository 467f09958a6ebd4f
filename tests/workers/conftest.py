"""Worker tests start real processes: ``gtqa worker`` / ``gtqa beat`` subprocesses (Celery prefork) on
a real broker and database, never eager mode.

Two stacks:

- ``redis+postgresql``: a database of its own on the local PostgreSQL (``GTQA_TEST_POSTGRES_URL``,
  default user postgres, database test; created per test, migrated, dropped after) and a Redis database
  number of its own on the local Redis (``GTQA_TEST_REDIS_URL``, default ``redis://127.0.0.1:6379``): an
  empty one is claimed with a key, and flushed at the end.
- ``filesystem+sqlite``: the embedded default, everything under a temporary ``GTQA_HOME``.

When PostgreSQL or Redis cannot be reached the tests needing them skip on a developer machine and fail
under CI (``CI`` set). Every process a test starts is in a session of its own and is killed (its whole
group) when the test ends, pass or fail; its output is kept in the test's folder and shown on failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from gtqa.settings import Settings
from gtqa.storage import JobStatus, make_engine, make_session_factory, upgrade
from gtqa.storage.models import FindingRow, JobChunkRow, ReviewItemRow, ReviewJobRow

REDIS_ENV, REDIS_DEFAULT = "GTQA_TEST_REDIS_URL", "redis://127.0.0.1:6379"
CLAIM_KEY = "gtqa-test:claimed-by"
STACKS = ["redis+postgresql", "filesystem+sqlite"]
REPO = Path(__file__).resolve().parents[2]
GTQA = [sys.executable, "-c", "from cli.main import main; main()"]

# Short leases and a fast reconciler, so that recovery takes seconds; chunks of 16 of the 209 frames of
# KITTI tracking 0016 take about half a second each.
FAST = {
    "GTQA_CHUNK_LEASE_S": "3",
    "GTQA_RECONCILE_INTERVAL_S": "1",
    "GTQA_RECONCILE_STALE_S": "2",
    "GTQA_CHUNK_SIZE": "16",
}


def unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI needs this service: {reason}")
    pytest.skip(reason)


# --- processes -----------------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL the whole process group (the worker and its pool children), like a machine dying."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)

    def tail(self, lines: int = 40) -> str:
        text_ = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} ({self.log}) ---\n" + "\n".join(text_.splitlines()[-lines:])


@dataclass
class Procs:
    folder: Path
    started: list[Proc] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> Proc:
        log = self.folder / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                argv, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        proc = Proc(name, popen, log)
        self.started.append(proc)
        return proc

    def kill_all(self) -> None:
        for proc in self.started:
            proc.kill()

    def tails(self) -> str:
        return "\n".join(p.tail() for p in self.started)


# --- the stacks -------------------------------------------------------------------------------------


@dataclass
class Stack:
    name: str
    database_url: str
    broker_url: str  # "" = the filesystem broker under home
    home: Path
    procs: Procs
    redis_client: redis.Redis | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    _engine: Engine | None = None

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("GTQA_", "OPENAI_")) or k == "GTQA_DATA_DIR"  # no judge endpoint
        }
        env.update(FAST)
        env.update(self.extra_env)
        env.update(
            GTQA_DATABASE_URL=self.database_url,
            GTQA_BROKER_URL=self.broker_url,
            GTQA_HOME=str(self.home),
            PYTHONUNBUFFERED="1",
        )
        return env

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {k.removeprefix("GTQA_").lower(): v for k, v in FAST.items()}
        values.update(database_url=self.database_url, broker_url=self.broker_url, home=self.home)
        values.update(cache_dir=self.home / "cache", judge_api_key=None, judge_base_url=None)
        values.update(overrides)
        return Settings(_env_file=None, **values)

    @property
    def sessions(self) -> sessionmaker[Session]:
        if self._engine is None:
            self._engine = make_engine(self.database_url, pool_size=2)
        return make_session_factory(self._engine)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def gtqa(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*GTQA, *args], env=self.env(), cwd=REPO, capture_output=True, text=True, timeout=timeout
        )

    def submit(self, dataset: Path, *args: str) -> int:
        """``gtqa submit``; the job id it created."""
        done = self.gtqa("submit", str(dataset), *args)
        assert done.returncode == 0, done.stdout + done.stderr
        with self.sessions() as session:
            job_id = session.scalar(select(func.max(ReviewJobRow.id)))
        assert job_id is not None
        return int(job_id)

    def start_worker(self, name: str, concurrency: int = 1) -> Proc:
        argv = [*GTQA, "worker", "-c", str(concurrency), "--name", f"{name}@test", "--loglevel", "info"]
        return self.procs.start(f"worker-{name}", argv, self.env())

    def start_beat(self) -> Proc:
        return self.procs.start("beat", [*GTQA, "beat", "--loglevel", "info"], self.env())

    def chunks(self, job_id: int) -> list[JobChunkRow]:
        with self.sessions() as session:
            query = select(JobChunkRow).where(JobChunkRow.job_id == job_id).order_by(JobChunkRow.seq)
            return list(session.scalars(query))

    def job(self, job_id: int) -> ReviewJobRow:
        with self.sessions() as session:
            job = session.get(ReviewJobRow, job_id)
            assert job is not None
            return job

    def wait_until(self, what: str, done: Callable[[], bool], timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{self.procs.tails()}")
            time.sleep(0.02)

    def wait_job(self, job_id: int, timeout: float = 90.0) -> ReviewJobRow:
        finished = (JobStatus.done, JobStatus.failed)
        self.wait_until(f"job {job_id} to finish", lambda: self.job(job_id).status in finished, timeout)
        return self.job(job_id)

    def wait_fresh_claim(self, job_id: int, owner: str, *, min_done: int, timeout: float = 60.0) -> int:
        """A chunk that ``owner`` claimed a moment ago (so it is surely mid-chunk), once ``min_done``
        chunks are done; its id."""
        found: list[int] = []

        def fresh() -> bool:
            chunks = self.chunks(job_id)
            if sum(c.status == "done" for c in chunks) < min_done:
                return False
            now = datetime.now(UTC)
            found[:] = [
                c.id
                for c in chunks
                if c.status == "running"
                and (c.lease_owner or "").startswith(owner)
                and c.started_at is not None
                and (now - c.started_at).total_seconds() < 0.15
            ]
            return bool(found)

        self.wait_until(f"a fresh claim by {owner}", fresh, timeout)
        return found[0]

    def findings(self, job_id: int) -> list[tuple[str, str, str, str, float, int]]:
        with self.sessions() as session:
            rows = session.execute(
                select(
                    FindingRow.frame_key,
                    FindingRow.label_key,
                    FindingRow.type,
                    FindingRow.check,
                    FindingRow.score,
                    FindingRow.chunk_id,
                ).where(FindingRow.job_id == job_id)
            ).all()
        return [(f, lab or "", str(t.value), c, round(s, 9), chunk) for f, lab, t, c, s, chunk in rows]

    def flag_items(self, job_id: int) -> int:
        with self.sessions() as session:
            query = select(func.count()).where(ReviewItemRow.job_id == job_id, ReviewItemRow.kind == "flag")
            return int(session.scalar(query) or 0)


@pytest.fixture
def pg_url(tmp_path: Path, new_database: Callable[..., AbstractContextManager[str]]) -> Iterator[str]:
    """A new, migrated PostgreSQL database, dropped afterwards."""
    with new_database("postgresql", tmp_path, "gtqa_workers") as url:
        upgrade(url)
        yield url


def claim_redis_db(base: str) -> tuple[str, redis.Redis]:
    """An empty Redis database number of our own (marked with a key), and a client on it."""
    token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    for db in range(15, 0, -1):
        url = f"{base.rstrip('/')}/{db}"
        client = redis.Redis.from_url(url, socket_connect_timeout=3)
        try:
            claimed = client.set(CLAIM_KEY, token, nx=True, ex=3600)
        except redis.exceptions.ConnectionError as exc:
            client.close()
            unavailable(f"Redis not reachable at {base} ({REDIS_ENV}): {exc}")
        if claimed and client.dbsize() == 1:
            return url, client
        if claimed:
            client.delete(CLAIM_KEY)
        client.close()
    unavailable(f"no empty Redis database number at {base} to run in")
    raise AssertionError("unreachable")


@pytest.fixture
def redis_db() -> Iterator[tuple[str, redis.Redis]]:
    url, client = claim_redis_db(os.environ.get(REDIS_ENV, REDIS_DEFAULT))
    try:
        yield url, client
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    running = Procs(tmp_path)
    try:
        yield running
    finally:
        running.kill_all()


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest, tmp_path: Path, procs: Procs) -> Iterator[Stack]:
    home = tmp_path / "home"
    if request.param == "filesystem+sqlite":
        built = Stack(request.param, f"sqlite:///{home / 'gtqa.sqlite'}", "", home, procs)
    else:
        url = request.getfixturevalue("pg_url")
        broker, client = request.getfixturevalue("redis_db")
        built = Stack(request.param, url, broker, home, procs, redis_client=client)
    try:
        yield built
    finally:
        procs.kill_all()  # before the database goes
        built.close()


@dataclass
class RedisServer:
    """A private redis-server, which a test may flush, kill and restart without disturbing anyone."""

    port: int
    folder: Path
    procs: Procs
    proc: Proc | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(self.folder)]
        self.proc = self.procs.start(f"redis-{len(self.procs.started)}", argv, dict(os.environ))
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.kill()


@pytest.fixture
def private_redis(tmp_path: Path, procs: Procs) -> RedisServer:
    if shutil.which("redis-server") is None:
        unavailable("redis-server is not installed (a private server is restarted in this test)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = RedisServer(port, tmp_path, procs)
    server.start()
    return server


# --- the data and what a correct run stores ---------------------------------------------------------

FindingKey = tuple[str, str, str, str, float]  # frame, label, type, check, score (rounded)


@pytest.fixture(scope="session")
def tracking(shared_data: Path) -> Path:
    """KITTI tracking sequence 0016: 209 frames, 4,145 labels, with PointRCNN detections."""
    return shared_data / "kitti_tracking"


@pytest.fixture(scope="session")
def reference(tracking: Path) -> list[FindingKey]:
    """The findings of an in-process review of the same data (no queue, no database), sorted."""
    from agents.run import review
    from gtqa.formats import load_dataset
    from gtqa.spec import load_spec
    from workers.plan import choose_scorer

    data = load_dataset(tracking, None, [tracking / "detections"])
    spec = load_spec(None)
    result = review(data, spec, chunk_size=16, scorer=choose_scorer(spec, data.format))
    return sorted((f.frame, f.label or "", f.type.value, f.check, round(f.score, 9)) for f in result.findings)


def check_one_set_of_findings(stack: Stack, job_id: int, reference: list[FindingKey]) -> None:
    """The job is done, every frame's findings come from one run of its own chunk, and together they
    are exactly the reference: nothing lost, nothing twice. The review queue holds one item per flag."""
    job = stack.job(job_id)
    assert job.status == JobStatus.done, stack.procs.tails()
    assert (job.frames_done, job.chunks_done) == (job.frames_total, job.chunks_total)
    chunk_of = {key: c.id for c in stack.chunks(job_id) for key in c.frame_keys}
    rows = stack.findings(job_id)
    wrong_chunk = [r for r in rows if chunk_of[r[0]] != r[5]]
    assert not wrong_chunk, wrong_chunk[:5]
    got = sorted(r[:5] for r in rows)
    missing = sorted(set(reference) - set(got))[:5]
    extra = sorted(set(got) - set(reference))[:5]
    assert got == reference, f"{len(got)} findings vs {len(reference)}; missing {missing}, extra {extra}"
    assert job.findings_count == len(reference)
    assert stack.flag_items(job_id) == len(reference)


@pytest.fixture
def one_set_of_findings(reference: list[FindingKey]) -> Callable[[Stack, int], None]:
    def check(stack: Stack, job_id: int) -> None:
        check_one_set_of_findings(stack, job_id, reference)

    return check


@pytest.fixture
def private_redis_stack(
    tmp_path: Path, procs: Procs, pg_url: str, private_redis: RedisServer
) -> Iterator[Stack]:
    """PostgreSQL and a private Redis server (which the test may flush or restart)."""
    client = redis.Redis.from_url(private_redis.url)
    built = Stack(
        "redis+postgresql", pg_url, private_redis.url, tmp_path / "home", procs, redis_client=client
    )
    try:
        yield built
    finally:
        procs.kill_all()
        built.close()
        client.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database of its own: a SQLite file, or a new PostgreSQL database."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    url = f"sqlite:///{tmp_path / 'gtqa.sqlite'}"
    upgrade(url)
    return url


@pytest.fixture
def local_stack(database_url: str, tmp_path: Path, procs: Procs) -> Iterator[Stack]:
    """A database (either backend) and the filesystem broker, for tests that run task bodies in
    this process rather than in workers."""
    built = Stack("local", database_url, "", tmp_path / "home", procs)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(scope="session")
def tracking_data(tracking: Path) -> Any:
    from gtqa.formats import load_dataset

    return load_dataset(tracking, None, [tracking / "detections"])


def ingest(stack: Stack, data: Any, *, chunk_size: int = 16) -> int:
    """Store ``data`` and create its review job in this process (no messages sent); the job id."""
    from gtqa.spec import load_spec
    from gtqa.storage import create_review_job, ingest_batch

    spec = load_spec(None)
    with stack.sessions.begin() as session:
        batch = ingest_batch(session, data, spec)
        return create_review_job(session, batch.id, spec_hash=spec.hash, chunk_size=chunk_size).id


@pytest.fixture
def ingested() -> Callable[..., int]:
    return ingest


@pytest.fixture
def embedded_stack(tmp_path: Path, procs: Procs) -> Iterator[Stack]:
    """The embedded default only: SQLite and the filesystem broker under a temporary home."""
    home = tmp_path / "home"
    built = Stack("filesystem+sqlite", f"sqlite:///{home / 'gtqa.sqlite'}", "", home, procs)
    try:
        yield built
    finally:
        procs.kill_all()
        built.close()
