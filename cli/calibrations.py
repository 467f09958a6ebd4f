"""``gtqa calibrations``: the learning queue's calibration versions (issue 19) on the database directly:
list them with their evaluation and the queue's precision before and after each promotion, refit one
(spec name, format) now in this process, or roll the version in use back and re-prioritise the queue."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

import typer
from sqlalchemy.orm import Session, sessionmaker

from api.queries.calibrations import versions_out
from api.schemas.calibrations import CalibrationVersionOut, QueuePrecision
from cli._common import MIGRATE_HELP, prepare_database, session_scope
from cli.voice import fail
from gtqa.settings import Settings, get_settings
from gtqa.storage import NotFoundError, engine_from_settings, make_session_factory
from workers.learning import refit, roll_back
from workers.plan import SpecBook

calibrations_app = typer.Typer(
    help="The learning queue's calibration versions: list, refit, roll back.", no_args_is_help=True
)
SpecOpt = Annotated[str, typer.Option("--spec", help="the spec's name (as batches were submitted under)")]
FormatOpt = Annotated[str, typer.Option("--format", help="the data format, e.g. kitti")]
MigrateOpt = Annotated[bool | None, typer.Option(help=MIGRATE_HELP)]


@dataclass(frozen=True)
class _Context:
    """What ``workers.learning`` needs, in this process."""

    settings: Settings
    sessions: sessionmaker[Session]
    reads: sessionmaker[Session]
    specs: SpecBook


@contextmanager
def _context(settings: Settings) -> Iterator[_Context]:
    engine = engine_from_settings(settings, pool_size=2)
    try:
        yield _Context(
            settings,
            make_session_factory(engine),
            make_session_factory(engine, read_only=True),
            SpecBook(settings),
        )
    finally:
        engine.dispose()


@calibrations_app.command("list")
def list_versions(
    spec: Annotated[str | None, typer.Option("--spec", help="only this spec name")] = None,
    data_format: Annotated[str | None, typer.Option("--format", help="only this data format")] = None,
    migrate: MigrateOpt = None,
) -> None:
    """One line per version, newest first: id, spec/format, status (* in use), audits, gate, precision."""
    settings = get_settings()
    prepare_database(settings, migrate)
    with session_scope(settings, read_only=True) as session:
        versions = versions_out(session, spec_name=spec, data_format=data_format)
    if not versions:
        print("no calibration version yet: the shipped default calibration or the spec's priors score flags")
    for v in versions:
        print(_line(v))


def _line(v: CalibrationVersionOut) -> str:
    mark = "*" if v.current else " "
    gate = ""
    if v.evaluation is not None:
        e = v.evaluation
        gate = f"\tAP {e['delta']:+.3f} [{e['lo']:+.3f}, {e['hi']:+.3f}] on {int(e['n'])} held-out flags"
    precision = ""
    if v.precision_before is not None and v.precision_after is not None:
        precision = f"\tprecision {_p(v.precision_before)} -> {_p(v.precision_after)}"
    return (
        f"{mark}{v.id}\t{v.spec_name}/{v.data_format}\t{v.status.value}\t{v.n_audits} audits"
        f"{gate}{precision}\t{v.reason}"
    )


def _p(q: QueuePrecision) -> str:
    return f"{q.precision:.2f} ({q.defects}/{q.decided})" if q.precision is not None else "- (0 decided)"


@calibrations_app.command("refit")
def refit_now(spec: SpecOpt, data_format: FormatOpt, migrate: MigrateOpt = None) -> None:
    """Refit now, in this process: fit on the service's audits, gate against the version in use, promote
    (and re-prioritise the pending queue) or refuse, and say why."""
    settings = get_settings()
    prepare_database(settings, migrate)
    with _context(settings) as ctx:
        outcome = refit(ctx, spec, data_format, owner="cli")
    if outcome.status == "busy":
        raise fail(outcome.reason)
    version = f"version {outcome.version_id}: " if outcome.version_id is not None else ""
    moved = f"; {outcome.moved} pending items re-prioritised" if outcome.moved else ""
    print(f"{spec}/{data_format}: {version}{outcome.status}: {outcome.reason}{moved}")


@calibrations_app.command("rollback")
def rollback(spec: SpecOpt, data_format: FormatOpt, migrate: MigrateOpt = None) -> None:
    """Roll the version in use back to its nearest promoted ancestor (or the shipped default or priors)
    and re-prioritise the pending queue with it."""
    settings = get_settings()
    prepare_database(settings, migrate)
    with _context(settings) as ctx:
        try:
            rolled, now, moved = roll_back(ctx, spec, data_format)
        except NotFoundError as exc:
            raise fail(str(exc)) from None
    current = f"version {now}" if now is not None else "the shipped default calibration or the spec's priors"
    print(
        f"{spec}/{data_format}: version {rolled} rolled back; {current} in use; {moved} pending items moved"
    )
