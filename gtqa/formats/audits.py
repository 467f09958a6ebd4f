"""Past audits as data: gtqa's own JSONL format, and re-check tables.

**gtqa audit JSONL** — one JSON object per line, the fields of ``gtqa.domain.Audit``::

    {"id": "a-17", "dataset": "kitti_tracking", "frame": "0016/000042", "label": "0016:1532",
     "box": {"x1": 100, "y1": 120, "x2": 140, "y2": 200}, "verdict": "defect",
     "issue_type": "bad_box", "corrected": {...a Label...}, "flag_check": "track_jump",
     "auditor": "ana", "seconds": 14.2, "spec_hash": "d73d…", "source": "queue", "comment": "",
     "created_at": "2026-11-26T10:00:00Z"}

``verdict`` is ``defect`` | ``not_defect`` | ``unsure``; ``label`` is null for a missing object (then
``box`` is the object's box); ``seconds`` is the auditor's time on the decision. Only ``id``, ``frame``
and ``verdict`` are required. Blank lines and lines starting with ``#`` are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from gtqa.domain import Audit, Dataset, InputFormatError
from gtqa.formats.recheck import read_recheck, recheck_audits


def read_audits(path: Path) -> list[Audit]:
    """Read a gtqa audit JSONL file; a malformed line raises an error naming the file and line."""
    audits: list[Audit] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFormatError(str(path), 0, f"cannot read audits: {exc}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            audits.append(Audit.model_validate_json(line))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(map(str, err["loc"])) or "(line)"
            raise InputFormatError(str(path), number, f"not an audit: {where}: {err['msg']}") from None
    return audits


def write_audits(path: Path, audits: Iterable[Audit]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for audit in audits:
            fh.write(
                json.dumps(audit.model_dump(mode="json", exclude_none=True), separators=(",", ":")) + "\n"
            )
            n += 1
    return n


def load_audits(path: Path, dataset: Dataset, *, spec_hash: str | None = None) -> list[Audit]:
    """Audits from a gtqa JSONL file or a re-check table (``.csv``, judged against ``dataset``)."""
    if path.suffix == ".csv":
        return recheck_audits(read_recheck(path), dataset, source=path.stem, spec_hash=spec_hash)
    return read_audits(path)
