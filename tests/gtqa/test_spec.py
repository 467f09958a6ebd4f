from __future__ import annotations

import json
from pathlib import Path

import pytest

from gtqa.domain import IssueType, Severity
from gtqa.spec import SPECS_DIR, SpecError, compile_spec, compile_text
from gtqa.spec.rules import JudgeRule

HEAD = "---\nspec: t\nversion: 1\n---\n"


def _spec(body: str) -> str:
    return HEAD + body


def test_shipped_kitti_spec_compiles_with_stable_rule_ids() -> None:
    spec = compile_spec(SPECS_DIR / "kitti.md")
    assert {"taxonomy", "box-size", "dontcare", "truncation", "occlusion", "priors"} <= set(spec.rules)
    assert spec.is_dontcare("DontCare") and not spec.is_reviewed("DontCare")
    assert spec.is_reviewed("Pedestrian")
    assert spec.severity(IssueType.missing_object, "Pedestrian") is Severity.critical
    assert len(spec.hash) == 64


def test_rule_prose_is_the_section_text_without_the_block() -> None:
    spec = compile_spec(SPECS_DIR / "kitti.md")
    rule = spec.rule("pedestrian-pushing-bicycle")
    assert isinstance(rule.params, JudgeRule)
    assert "pushes a bicycle is a `Pedestrian`" in rule.prose
    assert "applies_to" not in rule.prose


def test_hash_changes_with_content_not_with_trailing_whitespace() -> None:
    text = (SPECS_DIR / "kitti.md").read_text()
    base = compile_text(text)
    assert compile_text(text + "\n\n").hash == base.hash
    changed = compile_text(text.replace("max_inside: 0.5", "max_inside: 0.4"))
    assert changed.hash != base.hash
    assert changed.rule("dontcare").hash != base.rule("dontcare").hash
    assert changed.rule("taxonomy").hash == base.rule("taxonomy").hash


def test_invalid_value_is_reported_with_file_and_line() -> None:
    text = _spec("# S\n\n```rule\nid: d\nkind: dontcare\nmax_inside: 1.5\n```\n")
    with pytest.raises(SpecError) as err:
        compile_text(text, "my.md")
    assert "my.md:10: rule 'd': max_inside" in str(err.value)


def test_unknown_kind_lists_known_kinds() -> None:
    with pytest.raises(SpecError, match=r"x.md:9: rule 'a' has unknown kind 'nope'; known kinds: .*taxonomy"):
        compile_text(_spec("\n\n```rule\nid: a\nkind: nope\n```\n"), "x.md")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("```rule\nid: a\nkind: [unclosed\n```\n", "not valid YAML"),
        ("```rule\nkind: dontcare\n```\n", "needs a string 'id'"),
        ("```rule\nid: a\nkind: dontcare\n```\n```rule\nid: a\nkind: truncation\n```\n", "duplicate rule id"),
        ("```rule\nid: a\nkind: dontcare\n```\n```rule\nid: b\nkind: dontcare\n```\n", "one 'dontcare' rule"),
        ("```rule\nid: a\nkind: dontcare\n", "never closed"),
    ],
)
def test_malformed_rule_blocks_are_named(body: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        compile_text(_spec(body), "s.md")


def test_front_matter_is_required() -> None:
    with pytest.raises(SpecError, match="front matter"):
        compile_text("# no front matter\n", "s.md")


def test_unreadable_spec_file_is_a_spec_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.md"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SpecError, match=r"bad\.md"):
        compile_spec(path)


@pytest.mark.parametrize(
    "rule_id", ["Upper", "has space", "quote'd", 'x"y', "new\\nline", "-dash-first", "<b>", "x" * 65, "ü"]
)
def test_a_rule_id_outside_its_charset_is_refused(rule_id: str) -> None:
    body = f"\n\n```rule\nid: {json.dumps(rule_id)}\nkind: dontcare\nmax_inside: 0.5\n```\n"
    with pytest.raises(SpecError, match=r"x.md:\d+: rule id .*lower-case letters"):
        compile_text(_spec(body), "x.md")


@pytest.mark.parametrize("rule_id", ["dontcare", "box-size", "v2.rule_1", "3d"])
def test_a_rule_id_in_its_charset_is_accepted(rule_id: str) -> None:
    body = f"\n\n```rule\nid: {rule_id}\nkind: dontcare\nmax_inside: 0.5\n```\n"
    assert rule_id in compile_text(_spec(body), "x.md").rules
