"""``gtqa users``: API users and their tokens, from the command line (bootstrapping the first admin)."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.exc import IntegrityError

from cli._common import MIGRATE_HELP, prepare_database, session_scope
from cli.voice import fail
from gtqa.settings import get_settings
from gtqa.storage import (
    Role,
    rotate_token,
    user_by_name,
)
from gtqa.storage import create_user as store_user

users_app = typer.Typer(help="API users and tokens.", no_args_is_help=True)


@users_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="the user's name (auditors' names are kept on their audits)")],
    role: Annotated[Role, typer.Option("--role", "-r", help="what the user may do")] = Role.auditor,
    migrate: Annotated[bool | None, typer.Option(help=MIGRATE_HELP)] = None,
) -> None:
    """Create a user and print its API token (shown once: only its hash is kept)."""
    prepare_database(get_settings(), migrate)
    try:
        with session_scope(get_settings()) as session:
            _, token = store_user(session, name, role)
    except IntegrityError:
        raise fail(f"there is already a user {name!r} (gtqa users token NAME issues a new token)") from None
    print(token)


@users_app.command("token")
def token(
    name: Annotated[str, typer.Argument(help="an existing user")],
    migrate: Annotated[bool | None, typer.Option(help=MIGRATE_HELP)] = None,
) -> None:
    """Issue a new token for a user and print it; the old one stops working."""
    prepare_database(get_settings(), migrate)
    try:
        with session_scope(get_settings()) as session:
            new = rotate_token(session, user_by_name(session, name).id)
    except LookupError as exc:
        raise fail(str(exc.args[0] if exc.args else exc)) from None
    print(new)
