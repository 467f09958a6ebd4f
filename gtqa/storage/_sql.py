"""Small SQL helpers shared by the repositories."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result, literal_column

from gtqa.storage.models import ReviewItemRow

# Bulk UPDATE/DELETE statements: the repositories keep no ORM objects around to refresh.
SYNC: dict[str, Any] = {"synchronize_session": False}

# Written as literals, not bound parameters: the planners of both databases use a partial index only
# when the query's WHERE visibly implies the index's (see models.ReviewItemRow).
IS_PENDING = ReviewItemRow.status == literal_column("'pending'")
IS_CLAIMED = ReviewItemRow.status == literal_column("'claimed'")
# Audit items, not blind ones (second reviews, gold: ``gtqa.storage.blind``), which repeat a subject.
IS_AUDIT = ReviewItemRow.purpose == literal_column("'audit'")


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE, DELETE or INSERT … SELECT touched."""
    return int(cast(CursorResult[Any], result).rowcount)
