"""Field types shared by the API's request and response models.

Strings that reach the database are bounded (PostgreSQL refuses a value longer than its column) and
free of NUL characters and lone surrogates (which neither database can store): the pattern rejects
both, and OpenAPI carries it, so clients and fuzzers know the rule.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, StringConstraints

NO_NUL = r"^[^\x00]*$"
MAX_ID = 2**63 - 1  # BIGINT; SQLite integers are 64-bit too

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=120, pattern=NO_NUL)]
Short = Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)]
Word = Annotated[str, StringConstraints(max_length=64, pattern=NO_NUL)]
LongText = Annotated[str, StringConstraints(max_length=10_000, pattern=NO_NUL)]


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00-05:00 is past datetime.max in UTC
        raise ValueError("the time is out of range once in UTC") from None


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="matches over all pages")
    limit: int
    offset: int
