"""What several commands share: the spec they work under, the predictions of each dataset, and the
database check every service command makes before it starts (how they speak: ``cli.voice``).

The embedded SQLite database is migrated by the commands themselves (one machine, nothing else would);
a PostgreSQL database is migrated at deploy time (``python -m gtqa.storage upgrade``, the compose file's
``migrate`` service) unless ``--migrate`` is given, and the commands refuse to start on an old schema.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy.engine import make_url

from cli.voice import fail, fail_spec, note
from gtqa.settings import Settings, get_settings
from gtqa.spec import CompiledSpec, SpecError, load_spec, shipped_spec_path

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

MIGRATE_HELP = "migrate the database first (default: only the embedded SQLite one)"


def prepare_database(settings: Settings, migrate: bool | None) -> None:
    from gtqa.storage import current_revision, head_revision, upgrade

    url = settings.database_url
    if migrate if migrate is not None else make_url(url).get_backend_name() == "sqlite":
        upgrade(url)
        return
    at, head = current_revision(url), head_revision()
    if at != head:
        shown = make_url(url).render_as_string(hide_password=True)
        raise fail(
            f"the database {shown} is at revision {at}, not {head}: run "
            "`python -m gtqa.storage upgrade` (or pass --migrate)"
        )


def spec_or_exit(path: Path | None, data_format: str | None = None) -> CompiledSpec:
    """The spec at ``path``, else ``GTQA_SPEC_PATH``, else the shipped one for ``data_format``'s data
    (KITTI's without one); exit 2 with its file:line errors when it does not compile."""
    return chosen_spec_or_exit(path, data_format)[0]


def data_spec_or_exit(path: Path | None, data_format: str | None) -> CompiledSpec:
    """The spec a command reviews ``data_format``'s data under (``spec_or_exit``), said on standard error
    with why: ``gtqa scan`` and the evals that replay it choose alike, so AV2 data is never checked
    against the KITTI spec by one of them."""
    compiled, why = chosen_spec_or_exit(path, data_format)
    note(f"spec {compiled.name} {compiled.hash[:12]} ({why})")
    return compiled


def chosen_spec_or_exit(path: Path | None, data_format: str | None) -> tuple[CompiledSpec, str]:
    """``spec_or_exit``, and why that spec was chosen (for a command's header)."""
    configured = get_settings().spec_path
    if path is not None:
        chosen, why = path, "given with --spec"
    elif configured is not None:
        chosen, why = configured, "GTQA_SPEC_PATH"
    else:
        chosen = shipped_spec_path(data_format)
        why = f"the shipped spec for {data_format} data; --spec to choose another"
    try:
        return load_spec(str(chosen)), why
    except SpecError as exc:
        raise fail_spec(exc) from None


@contextmanager
def session_scope(settings: Settings, *, read_only: bool = False) -> Iterator[Session]:
    """One session on an engine of its own (one connection, disposed of at the end): a transaction that
    commits when the block ends without an error, or, ``read_only``, a read that never writes."""
    with (
        session_factory(settings, read_only=read_only) as sessions,
        sessions() if read_only else sessions.begin() as session,
    ):
        yield session


@contextmanager
def session_factory(settings: Settings, *, read_only: bool = False) -> Iterator[sessionmaker[Session]]:
    """Sessions on an engine of its own (one connection, disposed of at the end), for a callee that
    owns its transactions (``store_delivery``)."""
    from gtqa.storage import engine_from_settings, make_session_factory

    engine = engine_from_settings(settings, pool_size=1)
    try:
        yield make_session_factory(engine, read_only=read_only)
    finally:
        engine.dispose()


PREDICTIONS_HELP = (
    "detector output, [N:]PATH: of the N-th dataset given (1-based; a bare PATH: of the first); "
    "repeat for several detectors"
)
PredictionsOpt = Annotated[list[str] | None, typer.Option("--predictions", "-p", help=PREDICTIONS_HELP)]


def predictions_per_dataset(values: Sequence[str], datasets: int) -> list[tuple[Path, ...]]:
    """The ``--predictions`` values (``[N:]PATH`` each) as the prediction paths of each of ``datasets``
    datasets, in the order given: ``N:PATH`` is the N-th dataset's (1-based), a bare ``PATH`` the
    first's (write ``./3:x`` for a file named ``3:x``). A usage error (exit 2) for an N with no dataset."""
    found: list[list[Path]] = [[] for _ in range(max(datasets, 1))]
    for value in values:
        head, sep, tail = value.partition(":")
        n, path = (int(head), tail) if sep and head.isdigit() else (1, value)
        if not 1 <= n <= datasets:
            raise typer.BadParameter(f"--predictions {value}: there is no dataset number {n}")
        found[n - 1].append(Path(path))
    return [tuple(paths) for paths in found[: max(datasets, 0)]]


def command_line(ctx: typer.Context) -> str:
    """The running command as it was asked for: its path and the options given on the command line or
    by the environment (defaults left out), shell-quoted, e.g. ``gtqa evals run --exclude x …``."""
    import shlex

    # The root's name is how the program was started (gtqa, python -m cli): it is always said gtqa.
    root = ctx.find_root().command_path
    words: list[object] = ["gtqa", *ctx.command_path[len(root) :].split()]
    for param in ctx.command.params:
        if param.name is None or param.name not in ctx.params:
            continue
        source = ctx.get_parameter_source(param.name)
        if source is None or source.name not in ("COMMANDLINE", "ENVIRONMENT"):
            continue
        words += _words(param, ctx.params[param.name])
    return " ".join(shlex.quote(str(w)) for w in words)


def _words(param: object, value: object) -> list[object]:
    values = list(value) if isinstance(value, list | tuple) else [value]
    opts: list[str] = list(getattr(param, "opts", []))
    if not opts or not opts[0].startswith("-"):  # an argument
        return values
    if getattr(param, "is_flag", False):
        names = opts if value else list(getattr(param, "secondary_opts", []))
        return [names[0]] if names else []
    return [w for v in values for w in (opts[0], v)]
