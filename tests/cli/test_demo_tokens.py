"""The demonstration users keep their tokens across restarts of ``gtqa serve --demo-users`` / ``gtqa
demo``: the tokens live in ``<home>/demo-tokens.txt`` (private), a token that still opens its user is
kept, and one that no longer does (revoked, or the file lost) is replaced."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.serve import DEMO_USERS, _demo_users, demo_tokens_path
from gtqa.settings import Settings
from gtqa.storage import make_engine, make_session_factory, rotate_token, upgrade, user_by_name, user_by_token


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    home.mkdir()
    url = f"sqlite:///{home / 'gtqa.sqlite'}"
    upgrade(url)
    return Settings(_env_file=None, home=home, database_url=url)


def _user_of(settings: Settings, token: str) -> str | None:
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        with make_session_factory(engine)() as session:
            user = user_by_token(session, token)
            return user.name if user else None
    finally:
        engine.dispose()


def test_a_restart_keeps_every_demo_users_token(settings: Settings) -> None:
    first = _demo_users(settings)
    again = _demo_users(settings)
    assert again == first and set(first) == {name for name, _ in DEMO_USERS}
    assert all(_user_of(settings, token) == name for name, token in again.items())
    path = demo_tokens_path(settings)
    assert path == settings.home.resolve() / "demo-tokens.txt"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert [line.split("\t") for line in path.read_text().splitlines()] == [
        [name, role, first[name]] for name, role in DEMO_USERS
    ]


def test_a_token_that_no_longer_works_is_replaced_and_the_others_kept(settings: Settings) -> None:
    first = _demo_users(settings)
    engine = make_engine(settings.database_url, pool_size=1)
    with make_session_factory(engine).begin() as session:
        rotate_token(session, user_by_name(session, "ops").id)  # someone rotated it behind the file
    engine.dispose()

    again = _demo_users(settings)
    assert again["ops"] != first["ops"] and _user_of(settings, again["ops"]) == "ops"
    assert {n: t for n, t in again.items() if n != "ops"} == {n: t for n, t in first.items() if n != "ops"}
    assert f"ops\tops\t{again['ops']}" in demo_tokens_path(settings).read_text()


def test_a_lost_token_file_gives_every_demo_user_a_new_working_token(settings: Settings) -> None:
    first = _demo_users(settings)
    demo_tokens_path(settings).unlink()
    again = _demo_users(settings)
    assert all(again[name] != first[name] and _user_of(settings, again[name]) == name for name in first)
