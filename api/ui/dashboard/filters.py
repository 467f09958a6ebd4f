"""The dashboard's filter: its query parameters (``from``, ``to``, ``vendor``, ``team``, ``batch``, all
optional, an empty one meaning "all") read into a ``gtqa.storage.Scope``, the sentence that states it on
the page, and the query string that keeps it in links (the CSV export)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import HTTPException, Query

from gtqa.storage import Choices, Scope


@dataclass(frozen=True)
class Filter:
    """The filter as the page's form has it (dates, not datetimes) and as the reads take it."""

    start: date | None = None
    end: date | None = None  # inclusive: the whole day counts
    vendor: str | None = None
    team: str | None = None
    batch: int | None = None

    @property
    def scope(self) -> Scope:
        return Scope(_midnight(self.start), _midnight(self.end + timedelta(days=1)) if self.end else None,
                     self.vendor, self.team, self.batch)  # fmt: skip

    @property
    def query(self) -> str:
        """The query string that keeps the filter (empty without one), for links."""
        pairs = {"from": self.start, "to": self.end, "vendor": self.vendor, "team": self.team,
                 "batch": self.batch}  # fmt: skip
        kept = {k: str(v) for k, v in pairs.items() if v is not None}
        return f"?{urlencode(kept)}" if kept else ""

    def describe(self, choices: Choices) -> str:
        """The scope in words, e.g. "vendor acme, batch 000002 north, 1 Dec 2026 – 7 Dec 2026"."""
        batch = f"batch {self.batch:06d} {dict(choices.batches).get(self.batch, '')}" if self.batch else ""
        parts = [f"vendor {self.vendor}" if self.vendor is not None else "",
                 f"team {self.team}" if self.team is not None else "",
                 batch.strip(), _dates(self.start, self.end)]  # fmt: skip
        shown = ", ".join(p for p in parts if p)
        return shown or "every vendor, team and batch, all dates"


def read_filter(
    start: Annotated[str, Query(alias="from")] = "",
    end: Annotated[str, Query(alias="to")] = "",
    vendor: str = "",
    team: str = "",
    batch: str = "",
) -> Filter:
    """The filter of a dashboard request (a FastAPI dependency); a malformed value is a 422 naming the
    parameter and what it should be."""
    first, last = _date("from", start), _date("to", end)
    if first and last and first > last:
        raise HTTPException(422, f"from ({first}) is after to ({last})")
    return Filter(first, last, vendor or None, team or None, _batch(batch))


def _date(name: str, value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{name}: not a date (YYYY-MM-DD): {value!r}") from None


def _batch(value: str) -> int | None:
    if not value:
        return None
    if not value.isdigit():
        raise HTTPException(422, f"batch: not a batch id (a whole number): {value!r}")
    return int(value)


def _midnight(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), tzinfo=UTC) if day else None


def _dates(start: date | None, end: date | None) -> str:
    fmt = "%-d %b %Y"
    if start and end:
        return start.strftime(fmt) if start == end else f"{start.strftime(fmt)} – {end.strftime(fmt)}"
    if start:
        return f"from {start.strftime(fmt)}"
    return f"up to {end.strftime(fmt)}" if end else ""
