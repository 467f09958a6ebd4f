"""Errors the repositories raise; the API maps them to HTTP statuses (404, 409, 422)."""

from __future__ import annotations


class StorageError(Exception):
    """Base of gtqa.storage's own errors."""


class NotFoundError(StorageError, LookupError):
    """No such row (404)."""


class LeaseError(StorageError):
    """A chunk or queue item is not held by the caller, or the hold lapsed (409): somebody else may own
    the work now, so the caller must drop its result rather than write it."""


class DecisionError(StorageError, ValueError):
    """A decision that contradicts itself or the item it is about (422)."""


class IngestError(StorageError, ValueError):
    """A dataset that cannot be stored as given (duplicate ids…); nothing of it was stored."""


class ClaimCapError(StorageError):
    """The auditor already holds as many claimed items as allowed: decide or release one first."""
