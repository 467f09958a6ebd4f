"""Which errors a chunk task retries: the transient ones (a database or broker that is briefly away, a
judge endpoint that rate-limits), never bugs or bad data, which fail the chunk with their message."""

from __future__ import annotations

import redis.exceptions
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import OperationalError as DatabaseError


class JudgeRateLimitedError(Exception):
    """The judge endpoint answered 429 after the client's own retries: try the chunk again later (the
    verdicts already received are in the judge's cache and are not paid for twice)."""


class SpecNotAvailableError(Exception):
    """The job was submitted under a spec this worker cannot load (GTQA_SPEC_PATH)."""


_TRANSIENT: tuple[type[BaseException], ...] = (
    JudgeRateLimitedError,
    DatabaseError,  # connection refused or lost, server shutting down, SQLite busy past its timeout
    BrokerError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionError,
    TimeoutError,
)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, _TRANSIENT):
        return True
    # A connection the pool found dead (e.g. the server restarted) surfaces as another DBAPI error.
    return isinstance(exc, DBAPIError) and exc.connection_invalidated
