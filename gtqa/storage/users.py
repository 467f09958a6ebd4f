"""Users and their API tokens. A token is shown once, at creation or rotation; only its SHA-256 is
stored (tokens are 256 random bits, so a fast hash is enough: there is nothing to brute-force)."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from gtqa.storage.errors import NotFoundError
from gtqa.storage.models import UserRow
from gtqa.storage.records import Role, UserRecord


def create_user(session: Session, name: str, role: Role | str) -> tuple[UserRecord, str]:
    """A new user and its API token (keep it: it cannot be read back)."""
    token = secrets.token_urlsafe(32)
    row = UserRow(name=name, role=Role(role), token_hash=hash_token(token), active=True)
    session.add(row)
    session.flush()
    return _record(row), token


def user_by_token(session: Session, token: str) -> UserRecord | None:
    """The active user holding ``token``, or None."""
    row = session.scalars(select(UserRow).where(UserRow.token_hash == hash_token(token))).one_or_none()
    return _record(row) if row is not None and row.active else None


def user_by_name(session: Session, name: str) -> UserRecord:
    row = session.scalars(select(UserRow).where(UserRow.name == name)).one_or_none()
    if row is None:
        raise NotFoundError(f"no user {name!r}")
    return _record(row)


def user_by_id(session: Session, user_id: int) -> UserRecord:
    row = session.get(UserRow, user_id)
    if row is None:
        raise NotFoundError(f"no user {user_id}")
    return _record(row)


def user_by_fingerprint(session: Session, user_id: int, fingerprint: str) -> UserRecord | None:
    """The active user ``user_id`` while its token's hash starts with ``fingerprint`` (what a page
    session keeps), else None: a rotated token voids the sessions made with the old one."""
    row = session.get(UserRow, user_id)
    if row is None or not row.active or not (row.token_hash or "").startswith(fingerprint):
        return None
    return _record(row)


def list_users(session: Session) -> list[UserRecord]:
    """Every user, oldest first."""
    return [_record(row) for row in session.scalars(select(UserRow).order_by(UserRow.id))]


def rotate_token(session: Session, user_id: int) -> str:
    """A new token for the user; the old one stops working."""
    row = session.get(UserRow, user_id)
    if row is None:
        raise NotFoundError(f"no user {user_id}")
    token = secrets.token_urlsafe(32)
    row.token_hash = hash_token(token)
    session.flush()
    return token


def set_active(session: Session, user_id: int, active: bool) -> None:
    row = session.get(UserRow, user_id)
    if row is None:
        raise NotFoundError(f"no user {user_id}")
    row.active = active
    session.flush()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _record(row: UserRow) -> UserRecord:
    return UserRecord(id=row.id, name=row.name, role=row.role, active=row.active)
