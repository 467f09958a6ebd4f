"""The pages' login session: a signed cookie, no server-side session table.

The cookie holds the user id, an expiry, a random nonce and a fingerprint of the user's token hash, and
an HMAC-SHA256 of those under the deployment's UI secret (``<settings.home>/ui-secret``, made on first
use, readable by the service only; the API processes and workers share ``home``). A rotated token or a
deactivated user ends every session at once: the fingerprint or the active flag is checked against the
database on each request. The CSRF token of cookie-authenticated POSTs is an HMAC of the nonce, so it
needs no storage either and changes with every login.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

COOKIE = "gtqa_session"
COOKIE_PATH = "/ui"
MAX_AGE_S = 12 * 3600
FINGERPRINT_CHARS = 16  # of the token's sha256 hex: enough to notice a rotation


@dataclass(frozen=True, slots=True)
class PageSession:
    user_id: int
    fingerprint: str
    nonce: str
    expires: int  # unix seconds


def load_secret(home: Path) -> bytes:
    """The UI secret of this deployment, created (0600, atomically) the first time it is needed."""
    path = home / "ui-secret"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    home.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it meanwhile
        return path.read_bytes()
    with os.fdopen(fd, "wb") as fh:
        fh.write(secrets.token_bytes(32))
    return path.read_bytes()


def issue(secret: bytes, user_id: int, token_hash: str, now: float) -> str:
    """A cookie value for a fresh login."""
    body = {"u": user_id, "f": token_hash[:FINGERPRINT_CHARS], "n": secrets.token_hex(16)}
    payload = _b64(json.dumps({**body, "e": int(now) + MAX_AGE_S}, separators=(",", ":")).encode())
    return f"{payload}.{_sign(secret, payload)}"


def verify(secret: bytes, value: str, now: float) -> PageSession | None:
    """The session a cookie value carries, or None if it is forged, malformed or expired."""
    payload, _, signature = value.partition(".")
    if not signature or not hmac.compare_digest(signature, _sign(secret, payload)):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        session = PageSession(int(data["u"]), str(data["f"]), str(data["n"]), int(data["e"]))
    except (ValueError, KeyError, TypeError):
        return None
    return session if session.expires > now else None


def csrf_token(secret: bytes, session: PageSession) -> str:
    return hmac.new(secret, f"csrf|{session.nonce}".encode(), hashlib.sha256).hexdigest()


def csrf_matches(secret: bytes, session: PageSession, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(given, csrf_token(secret, session))


def _sign(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, f"session|{payload}".encode(), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
