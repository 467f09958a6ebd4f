"""How every ``gtqa`` command speaks (docs/cli.md, "Conventions"):

* results (tables, tokens, ids) go to standard output, everything else (progress, notes, warnings,
  errors) to standard error;
* an error the user can mend (a file or a line that cannot be read, an invalid spec, an unknown name, a
  value out of range, a path that cannot be written) is one line per problem, ``error: <file>:<line>:
  <message>`` (``error: <message>`` when no file is concerned), and exit status 2, never a traceback;
* exit status 1: the command ran and its outcome is a failure (a gate not met, a review job failed, a
  process of the service stopped);
* an input record that is skipped is a warning, ``skipped: <file>:<line>: <message>``, and the command
  goes on; typer's own usage errors (an unknown option, a missing argument) are exit status 2 too;
* standard output redirected to a file or a pipe is not wrapped at 80 columns: each cell of a table is
  written whole (``stdout()``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from gtqa.domain import InputFormatError, InputProblem, ProblemLevel
from gtqa.spec import SpecError

INPUT_ERROR = 2  # exit status: the input cannot be used as given
FAILED = 1  # exit status: the command ran, and its outcome is a failure
UNWRAPPED = 100_000  # the width of a redirected standard output: nothing is wrapped or cut

err = Console(stderr=True)  # writes to whatever sys.stderr is when it prints


def stdout() -> Console:
    """Standard output as it is now: the terminal's width on a terminal, else unwrapped."""
    return Console(width=None if sys.stdout.isatty() else UNWRAPPED)


def error(message: str) -> None:
    """``error: <message>`` on standard error (the caller goes on: one input of several failed)."""
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = INPUT_ERROR) -> typer.Exit:
    """Print ``error: <message>`` on standard error; the ``typer.Exit`` to raise (status 2 by default)."""
    error(message)
    return typer.Exit(code)


def where(problem: InputProblem) -> str:
    """``file:line``, or ``file`` for a problem of a whole file."""
    return f"{problem.path}:{problem.line}" if problem.line else problem.path


def input_error(exc: InputFormatError, suffix: str = "") -> str:
    """``<file>:<line>: <message><suffix>``: what ``error`` and ``fail`` print for an input error."""
    return f"{where(exc.problem)}: {exc.problem.message}{suffix}"


def fail_input(exc: InputFormatError, suffix: str = "") -> typer.Exit:
    """``error: <file>:<line>: <message><suffix>``, status 2."""
    return fail(input_error(exc, suffix))


def brief(exc: Exception) -> str:
    """An exception in one line: a pydantic error's first problem, else the first line of its text."""
    if isinstance(exc, ValidationError) and exc.errors():
        first = exc.errors()[0]
        at = ".".join(str(part) for part in first["loc"])
        return f"{at}: {first['msg']}" if at else str(first["msg"])
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def fail_os(exc: OSError) -> typer.Exit:
    """``error: <file>: <reason>`` for a file the system refused, status 2."""
    return fail(f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc))


def fail_spec(exc: SpecError) -> typer.Exit:
    """One ``error: <spec file>:<line>: <message>`` line per problem of the spec, status 2."""
    for problem in exc.problems[:-1]:
        error(problem)
    return fail(exc.problems[-1] if exc.problems else "invalid spec")


def note(message: str) -> None:
    """A line on standard error, as written (no markup, never wrapped)."""
    err.print(message, markup=False, highlight=False, soft_wrap=True)


def warn(message: str) -> None:
    err.print(f"[yellow]{escape(message)}[/yellow]", highlight=False, soft_wrap=True)


def report_problems(problems: Sequence[InputProblem], shown: int = 20) -> None:
    """Input records a reader skipped (``skipped: …``) or read with a doubt (``warning: …``), the first
    ``shown`` of them."""
    for problem in problems[:shown]:
        kind = "skipped" if problem.level == ProblemLevel.error else "warning"
        warn(f"{kind}: {where(problem)}: {problem.message}")
    if len(problems) > shown:
        warn(f"… and {len(problems) - shown} more input problems")
