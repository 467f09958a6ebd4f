"""``gtqa api`` (the HTTP API and the auditors' pages) and ``gtqa serve`` (the whole service on one
machine: API, a worker with the reconciler's schedule, and optionally the bundled KITTI data ingested
and reviewed, as ``gtqa demo`` does).

``serve`` is a supervisor, not a second implementation: it runs ``gtqa worker --beat`` and ``gtqa api``
as child processes (logs under ``<home>/logs/``), restarts one that dies after a back-off that doubles
from ``GTQA_RESTART_BACKOFF_S`` up to ``GTQA_RESTART_BACKOFF_MAX_S`` (the API keeps answering while a
worker restarts; only a signal to ``serve`` stops them all), submits its datasets exactly as ``gtqa
submit`` does, follows the jobs in the database, then shows where to look. A dataset already ingested
under the same spec from the same path is not ingested again: its job is followed (re-sent when
unfinished; the database decides what a message means, so a second message costs nothing).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli._common import (
    MIGRATE_HELP,
    PredictionsOpt,
    predictions_per_dataset,
    prepare_database,
    session_scope,
    spec_or_exit,
)
from cli.submit import NOT_IMPORTED
from cli.voice import err, error, input_error, note, report_problems, stdout
from gtqa.domain import InputFormatError
from gtqa.settings import Settings, get_settings
from gtqa.spec import CompiledSpec

# The users a demonstration creates (name, role); their tokens are kept in <home>/demo-tokens.txt.
DEMO_USERS = (("auditor", "auditor"), ("ops", "ops"), ("spec-author", "spec_author"), ("admin", "admin"))
HEALTH_TIMEOUT_S = 90.0
POLL_S = 1.0


def api(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
    migrate: Annotated[bool | None, typer.Option(help=MIGRATE_HELP)] = None,
) -> None:
    """Serve the HTTP API, its OpenAPI docs (/docs), /metrics and the auditors' pages (/ui)."""
    import uvicorn

    prepare_database(get_settings(), migrate)
    uvicorn.run(
        "api.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="warning"
    )


def serve(
    datasets: Annotated[
        list[Path] | None, typer.Argument(help="datasets to ingest and review once the service is up")
    ] = None,
    host: Annotated[str, typer.Option(help="the API's interface")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="the API's TCP port")] = 8000,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", "-c", help="worker processes (default: CPUs)")
    ] = None,
    exit_when_done: Annotated[
        bool, typer.Option(help="stop the service once every job is reviewed (default: serve until ^C)")
    ] = False,
    demo_users: Annotated[
        bool,
        typer.Option(
            help=f"create the users {', '.join(n for n, _ in DEMO_USERS)}; their tokens are kept in "
            "<home>/demo-tokens.txt across restarts"
        ),
    ] = False,
    top: Annotated[int, typer.Option(help="queue items to print when the jobs are done")] = 10,
    predictions: PredictionsOpt = None,
) -> None:
    """Run the whole service on this machine (API + worker + reconciler; the embedded SQLite database
    and file broker unless GTQA_DATABASE_URL / GTQA_BROKER_URL say otherwise)."""
    paths = datasets or []
    preds = predictions_per_dataset(predictions or [], len(paths))
    targets = [Target(path, p) for path, p in zip(paths, preds, strict=True)]
    raise typer.Exit(run_service(targets, host, port, concurrency, exit_when_done, demo_users, top))


@dataclass(frozen=True)
class Target:
    path: Path
    predictions: tuple[Path, ...]


def run_service(
    targets: Sequence[Target],
    host: str,
    port: int,
    concurrency: int | None,
    exit_when_done: bool,
    demo_users: bool,
    top: int,
) -> int:
    """Start the service, submit ``targets``, follow their jobs; the exit code (1: a job failed or the
    API did not come up). A process of the service that dies is restarted (``_Children.supervise``)."""
    settings = get_settings()
    prepare_database(settings, None)
    compiled = spec_or_exit(None)
    tokens = _demo_users(settings) if demo_users else {}
    jobs = [job for t in targets if (job := _submit(settings, compiled, t)) is not None]
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    signal.signal(signal.SIGTERM, _terminated)  # stopped by a supervisor: stop the children too
    logs = settings.home / "logs"
    with _Children(logs, settings.restart_backoff_s, settings.restart_backoff_max_s) as children:
        children.start("worker", ["worker", "--beat", "--loglevel", "warning"], concurrency)
        children.start("api", ["api", "--host", host, "--port", str(port), "--no-migrate"], None)
        if not _wait_healthy(base, children):
            return 1
        note(f"the API answers at {base} (logs: {children.folder})")
        failed = _follow(settings, jobs, children)
        _show(settings, base, jobs, tokens, top)
        if exit_when_done:
            return 1 if failed else 0
        note("serving; press Ctrl-C to stop")
        return children.wait()


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through _Children.__exit__, which stops the processes


def _demo_users(settings: Settings) -> dict[str, str]:
    """The demonstration users and their tokens, kept in a private file under the home: a token that
    still opens its user is kept (a restart does not log anyone out); a missing user is created, a user
    without a working token gets a new one."""
    from gtqa.storage import Role, create_user, rotate_token, user_by_name, user_by_token

    path = demo_tokens_path(settings)
    kept = _read_tokens(path)
    tokens: dict[str, str] = {}
    with session_scope(settings) as session:
        for name, role in DEMO_USERS:
            known = user_by_token(session, kept[name]) if name in kept else None
            if known is not None and known.name == name:
                tokens[name] = kept[name]
                continue
            try:
                tokens[name] = rotate_token(session, user_by_name(session, name).id)
            except LookupError:
                tokens[name] = create_user(session, name, Role(role))[1]
    if tokens != kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.writelines(f"{name}\t{role}\t{tokens[name]}\n" for name, role in DEMO_USERS)
        os.replace(tmp, path)  # a restart never reads a half-written file
    return tokens


def demo_tokens_path(settings: Settings) -> Path:
    return settings.home.resolve() / "demo-tokens.txt"


def _read_tokens(path: Path) -> dict[str, str]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    return {fields[0]: fields[2] for line in lines if len(fields := line.split("\t")) == 3}


def _submit(settings: Settings, compiled: CompiledSpec, target: Target) -> int | None:
    """The job reviewing ``target``: a new batch, or the one already ingested from there under this spec."""
    from cli.submit import enqueue, store_batch
    from gtqa.formats import open_dataset
    from gtqa.storage import Delivery, IngestError, JobStatus, batch_jobs, list_batches

    source = str(target.path.resolve())
    with session_scope(settings, read_only=True) as session:
        known = [b for b in list_batches(session) if b.source_path == source and b.spec_hash == compiled.hash]
        jobs = batch_jobs(session, known[-1].id) if known else []
    job = jobs[-1] if jobs else None
    if job is not None:
        note(f"{source}: already ingested (batch {job.batch_id}, job {job.id})")
        if job.status in (JobStatus.pending, JobStatus.running):
            enqueue(job.id, job.chunks_total)
        return job.id
    try:
        data = open_dataset(target.path, None, list(target.predictions))  # read as it is stored
    except InputFormatError as exc:
        error(input_error(exc, NOT_IMPORTED))
        return None
    try:
        batch, new = store_batch(settings, data, compiled, Delivery(source_path=source))
    except IngestError as exc:
        report_problems(data.problems)
        error(f"{source}: {exc}{NOT_IMPORTED}")
        return None
    report_problems(data.problems)
    note(
        f"batch {batch.id}: {batch.dataset}, {batch.frame_count} frames, {batch.label_count} labels "
        f"({len(batch.problems)} input problems)"
    )
    enqueue(new.id, new.chunks_total)
    return new.id


@dataclass
class _Child:
    """One process of the service: how to start it again, and its restart back-off."""

    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes]
    started: float
    restarts: int = 0
    delay: float = 0.0  # the back-off before the pending (or the last) restart
    restart_at: float | None = None  # set while a dead child waits for its restart


class _Children:
    """The service's processes: started in their own process groups, restarted with back-off when one
    dies (``supervise``), stopped together (only when the parent stops)."""

    def __init__(self, folder: Path, backoff_s: float = 1.0, backoff_max_s: float = 60.0) -> None:
        self.folder = folder.resolve()
        self.children: dict[str, _Child] = {}
        self.backoff_s, self.backoff_max_s = backoff_s, max(backoff_s, backoff_max_s)

    def __enter__(self) -> _Children:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    def start(self, name: str, argv: list[str], concurrency: int | None) -> None:
        if concurrency is not None:
            argv = [*argv, "--concurrency", str(concurrency)]
        self.children[name] = _Child(name, argv, self._spawn(name, argv), time.monotonic())

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        # The child keeps its own copy of the log's descriptor: ours is closed at once (no leak per restart).
        with (self.folder / f"{name}.log").open("ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "cli", *argv],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def exited(self, name: str) -> bool:
        return self.children[name].proc.poll() is not None

    def supervise(self) -> None:
        """Restart the children that died, each after its back-off; log both events."""
        now = time.monotonic()
        for child in self.children.values():
            if child.restart_at is None and (code := child.proc.poll()) is not None:
                self._schedule(child, code, now)
            elif child.restart_at is not None and now >= child.restart_at:
                self._log(child.name, f"restarting the {child.name} process (restart {child.restarts + 1})")
                child.proc = self._spawn(child.name, child.argv)
                child.started, child.restart_at = time.monotonic(), None
                child.restarts += 1
                note(f"the {child.name} process restarted (pid {child.proc.pid}, restart {child.restarts})")

    def _schedule(self, child: _Child, code: int, now: float) -> None:
        # Doubling back-off; a child that ran at least the longest back-off starts again from the first.
        stable = now - child.started >= self.backoff_max_s
        child.delay = (
            self.backoff_s if stable or not child.delay else min(2 * child.delay, self.backoff_max_s)
        )
        child.restart_at = now + child.delay
        message = f"the {child.name} process stopped (exit status {code}); restarting it in {child.delay:g}s"
        self._log(child.name, message)
        err.print(f"[yellow]{escape(message)}[/yellow]:\n{escape(self.tail(child.name))}", highlight=False)

    def _log(self, name: str, message: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        with (self.folder / f"{name}.log").open("a") as log:
            log.write(f"[{stamp}] gtqa serve: {message}\n")

    def tail(self, name: str, lines: int = 15) -> str:
        text = (self.folder / f"{name}.log").read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def wait(self) -> int:
        """Restart what dies, until Ctrl-C (0) or SIGTERM (``_terminated``)."""
        try:
            while True:
                self.supervise()
                time.sleep(POLL_S)
        except KeyboardInterrupt:
            return 0

    def __exit__(self, *exc: object) -> None:
        procs = [c.proc for c in self.children.values()]
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()  # the main process only: Celery stops its own children (warm shutdown)
        deadline = time.monotonic() + 20.0
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _wait_healthy(base: str, children: _Children) -> bool:
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while time.monotonic() < deadline:
        if children.exited("api"):  # an API that cannot start (a taken port) will not start later
            err.print(f"[red]the api process stopped[/red]:\n{escape(children.tail('api'))}", highlight=False)
            return False
        children.supervise()
        try:
            if httpx.get(f"{base}/healthz", timeout=2.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    err.print(f"[red]the API did not answer at {base} within {HEALTH_TIMEOUT_S:.0f}s[/red]")
    return False


def _follow(settings: Settings, jobs: list[int], children: _Children) -> bool:
    """Show the jobs' progress until each is done or failed (restarting a process of the service that
    dies meanwhile): whether one failed."""
    from gtqa.storage import JobStatus, engine_from_settings, job_record, make_session_factory

    engine = engine_from_settings(settings, pool_size=1)
    sessions = make_session_factory(engine, read_only=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=err) as progress:
            bars = {job: progress.add_task(f"job {job}", total=None) for job in jobs}
            while True:
                with sessions() as session:
                    records = [job_record(session, job) for job in jobs]
                for r in records:
                    progress.update(bars[r.id], completed=r.frames_done, total=r.frames_total)
                finished = [r for r in records if r.status in (JobStatus.done, JobStatus.failed)]
                if len(finished) == len(records):
                    return any(r.status == JobStatus.failed for r in records)
                children.supervise()
                time.sleep(POLL_S)
    finally:
        engine.dispose()


def _show(settings: Settings, base: str, jobs: list[int], tokens: dict[str, str], top: int) -> None:
    from gtqa.storage import ItemStatus, job_record, queue_counts, top_pending

    with session_scope(settings, read_only=True) as session:
        records = [job_record(session, job) for job in jobs]
        pending = sum(queue_counts(session, job_id=job)[ItemStatus.pending] for job in jobs)
        items = top_pending(session, top, job_ids=jobs) if jobs else []
    out = stdout()
    for r in records:
        out.print(
            f"job {r.id} (batch {r.batch_id}): {r.status.value}, {r.frames_done}/{r.frames_total} frames, "
            f"{r.findings_count} findings, {r.chunks_failed} failed chunks",
            highlight=False,
        )
    if items:
        table = Table(title=f"the review queue: first {len(items)} of {pending} pending items")
        for column in ("priority", "kind", "type", "frame", "label", "message"):
            table.add_column(column, overflow="fold")
        for ctx in items:
            f = ctx.finding
            table.add_row(
                f"{ctx.item.priority:.2f}",
                ctx.item.kind.value,
                f.type.value if f else "-",
                ctx.item.frame_key,
                ctx.item.label_key or "(missing)",
                f.message if f else "spot check of an unflagged label",
            )
        out.print(table)
    out.print(f"review queue (auditors): {base}/ui/login   API docs: {base}/docs   metrics: {base}/metrics")
    if len(records) > 1:
        choice = ", ".join(f"{base}/ui/review?job={r.id}" for r in records)
        out.print(f"  one job's items only (the review page's Queue menu): {choice}", highlight=False)
    for name, token in tokens.items():
        out.print(f"  token for {name:<12} {token}", highlight=False)
    if tokens:
        out.print(f"  (also in {demo_tokens_path(settings)})", highlight=False)
