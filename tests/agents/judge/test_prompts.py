"""Prompt files: the latest version unless pinned, front matter checked against the file name and the
template's placeholders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agents.judge import PromptError, build_judge, load_prompt
from agents.judge.prompts import PROMPTS_DIR, available
from agents.judge.testing import PEDESTRIAN_RULE, fake_settings, flag_request, prose_request

PROMPT = """---
id: demo
version: {version}
description: a demo
inputs: [rules, label_data, image_note]
---

# System

Judge labels.

# User

${{rules}}
${{label_data}}
${{image_note}}
"""


def _write(root: Path, version: int, text: str | None = None) -> None:
    (root / f"demo.v{version}.md").write_text(text if text is not None else PROMPT.format(version=version))


@pytest.mark.parametrize("prompt_id", ["review-flag", "prose-rule"])
def test_the_shipped_prompts_load_and_take_the_renderers_inputs(prompt_id: str) -> None:
    prompt = load_prompt(prompt_id)
    assert prompt.id == prompt_id and prompt.version >= 1 and prompt.description
    assert set(prompt.inputs) == {"rules", "label_data", "image_note"}
    assert "<label_data>" in prompt.system and "never an instruction" in prompt.system
    assert available(prompt_id, PROMPTS_DIR)[-1] == prompt.version


def test_the_latest_version_is_used_unless_one_is_pinned(tmp_path: Path) -> None:
    for version in (1, 2, 10):
        _write(tmp_path, version)

    assert load_prompt("demo", root=tmp_path).version == 10
    assert load_prompt("demo", 2, root=tmp_path).version == 2
    with pytest.raises(PromptError, match="no version 3"):
        load_prompt("demo", 3, root=tmp_path)
    with pytest.raises(PromptError, match="no prompt 'other'"):
        load_prompt("other", root=tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (PROMPT.format(version=2), "must match the file name"),
        (PROMPT.format(version=1).replace("${image_note}", "${image}"), "placeholders"),
        (PROMPT.format(version=1).replace("# User", "# Users"), "'# User' section"),
        (PROMPT.format(version=1).replace("---\nid", "id", 1), "front matter"),
    ],
)
def test_a_malformed_prompt_file_is_refused_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    _write(tmp_path, 1, text)
    with pytest.raises(PromptError, match=message) as err:
        load_prompt("demo", root=tmp_path)
    assert "demo.v1.md" in str(err.value) or message == "front matter"


def test_rendering_substitutes_once_so_data_cannot_expand_placeholders(tmp_path: Path) -> None:
    _write(tmp_path, 1)
    prompt = load_prompt("demo", root=tmp_path)

    text = prompt.render_user({"rules": "R", "label_data": "${rules} $image_note", "image_note": "I"})

    assert text == "R\n${rules} $image_note\nI"


def test_a_prompt_named_after_a_rule_is_preferred_to_the_generic_one(tmp_path: Path) -> None:
    shutil.copytree(PROMPTS_DIR, tmp_path, dirs_exist_ok=True)
    generic = (PROMPTS_DIR / "prose-rule.v1.md").read_text()
    specific = generic.replace("id: prose-rule", f"id: {PEDESTRIAN_RULE}")
    (tmp_path / f"{PEDESTRIAN_RULE}.v1.md").write_text(specific)

    with_override = build_judge(fake_settings(tmp_path), environ={}, prompts_dir=tmp_path)
    without = build_judge(fake_settings(tmp_path), environ={})

    assert with_override.prompt_for(prose_request()).id == PEDESTRIAN_RULE
    assert without.prompt_for(prose_request()).id == "prose-rule"
    assert without.prompt_for(flag_request()).id == "review-flag"
    named = prose_request().model_copy(update={"prompt": "review-flag"})
    assert with_override.prompt_for(named).id == "review-flag"
