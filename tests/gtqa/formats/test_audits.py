from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from gtqa.domain import Audit, Box2D, InputFormatError, IssueType, Verdict
from gtqa.formats import load_dataset
from gtqa.formats.audits import load_audits, read_audits, write_audits


def test_audit_jsonl_round_trips(tmp_path: Path) -> None:
    audits = [
        Audit(
            id="a1",
            frame="000015",
            label="000015:3",
            verdict=Verdict.defect,
            issue_type=IssueType.bad_box,
            box=Box2D(x1=1, y1=2, x2=3, y2=4),
            auditor="ana",
            seconds=12.5,
        ),
        Audit(
            id="a2", frame="000015", label=None, verdict=Verdict.not_defect, box=Box2D(x1=5, y1=5, x2=9, y2=9)
        ),
    ]
    path = tmp_path / "a.jsonl"
    assert write_audits(path, audits) == 2
    assert read_audits(path) == audits


def test_a_malformed_audit_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(
        '{"id": "a", "frame": "f", "verdict": "defect"}\n\n{"id": "b", "frame": "f", "verdict": "maybe"}\n'
    )
    with pytest.raises(InputFormatError, match=r"a\.jsonl:3: error: not an audit: verdict"):
        read_audits(path)


def test_the_recheck_imports_as_audits_following_its_protocol(shared_data: Path) -> None:
    root = shared_data / "kitti_rechecked"
    audits = load_audits(root / "recheck.csv", load_dataset(root), spec_hash="h")
    kinds = Counter((a.verdict, a.issue_type) for a in audits)
    # SOURCE.md: 217 errors on this half, 94 of them overlooked (no overlapping label at all)
    assert kinds[(Verdict.defect, IssueType.missing_object)] == 94
    assert (
        kinds[(Verdict.defect, IssueType.missing_object)] + kinds[(Verdict.defect, IssueType.bad_box)] == 217
    )
    misfits = [a for a in audits if a.issue_type is IssueType.bad_box]
    assert all(a.label is not None and a.corrected is not None for a in misfits)
    assert all(a.spec_hash == "h" and a.auditor == "crowd" for a in audits)
