"""Known answers for gold items from CSV or gtqa audit JSONL; every problem names the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gtqa.domain import InputFormatError, IssueType, Verdict
from gtqa.formats.gold import parse_gold, read_gold


def test_a_csv_gives_one_answer_per_row_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "gold.csv"
    path.write_text(
        "# seeded by ops\nframe,label,verdict,issue_type\n7,7:1,defect,bad_box\n\n8,8:0,not_defect,\n"
    )
    answers = read_gold(path)
    assert [(a.frame, a.label, a.verdict, a.issue_type) for a in answers] == [
        ("7", "7:1", Verdict.defect, IssueType.bad_box), ("8", "8:0", Verdict.not_defect, None),
    ]  # fmt: skip
    assert [a.where for a in answers] == [f"{path}:3", f"{path}:5"]


def test_audit_jsonl_answers_and_a_missing_object_is_refused() -> None:
    line = '{"id": "a", "frame": "7", "label": "7:1", "verdict": "defect", "issue_type": "wrong_class"}'
    (answer,) = parse_gold(line, "g.jsonl", csv_format=False)
    assert (answer.label, answer.issue_type) == ("7:1", IssueType.wrong_class)
    missing = '{"id": "b", "frame": "7", "verdict": "defect", "box": {"x1": 1, "y1": 1, "x2": 5, "y2": 5}}'
    with pytest.raises(InputFormatError, match=r"g\.jsonl:2: .*judges a label"):
        parse_gold(f"{line}\n{missing}", "g.jsonl", csv_format=False)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("frame,label\n7,7:1\n", r"g\.csv:1: .*verdict"),
        ("frame,label,verdict\n7,7:1,defect\n8,8:1,maybe\n", r"g\.csv:3: .*verdict"),
        ("frame,label,verdict,issue_type\n7,7:1,defect,smudge\n", r"g\.csv:2: .*issue_type"),
        ("frame,label,verdict\n", r"g\.csv: .*no gold answer"),
    ],
)
def test_bad_csv_lines_are_named(text: str, where: str) -> None:
    with pytest.raises(InputFormatError, match=where):
        parse_gold(text, "g.csv", csv_format=True)
