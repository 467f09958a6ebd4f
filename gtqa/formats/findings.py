"""The findings file: one JSON object per flag (the contract of ``gtqa scan --out``).

Required keys, in this order: ``frame``, ``label`` (label id, or null for a missing object), ``type``
(an IssueType), ``score`` (0..1, higher = more likely a real defect), ``box`` ([x1, y1, x2, y2] pixels:
the proposed box for a missing object, else the label's box), ``check``, ``message``. Further keys
(evidence, features, params, spec_hash …) are provenance and may grow.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from gtqa.domain import Finding, InputFormatError

REQUIRED = ("frame", "label", "type", "score", "box", "check", "message")


def finding_record(f: Finding) -> dict[str, object]:
    data = f.model_dump(mode="json")
    head = {k: data.pop(k) for k in REQUIRED}
    head["score"] = round(float(f.score), 6)
    return {**head, **data}


def write_findings(path: Path, findings: Iterable[Finding]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for f in findings:
            fh.write(json.dumps(finding_record(f), separators=(",", ":")) + "\n")
            n += 1
    return n


def read_findings(path: Path) -> list[Finding]:
    out: list[Finding] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                out.append(Finding.model_validate_json(line))
            except ValidationError as exc:
                err = exc.errors()[0]
                where = ".".join(map(str, err["loc"]))
                raise InputFormatError(str(path), n, f"not a finding: {where}: {err['msg']}") from None
    return out
