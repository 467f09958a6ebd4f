"""The one CSV writer of every CSV the service serves (exports, the dashboard's numbers).

A text cell that a spreadsheet would run as a formula is quoted with a leading apostrophe: vendor and
team names, labels and comments come from outside, and a class named ``=HYPERLINK(…)`` must stay text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_line(values: Iterable[Any]) -> str:
    """One CSV record (``\\n``-terminated) of ``values``, every text cell made safe."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([safe_cell(v) for v in values])
    return out.getvalue()


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    """A whole CSV document, one record per row."""
    return "".join(csv_line(row) for row in rows)
