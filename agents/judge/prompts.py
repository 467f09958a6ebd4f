"""Prompt files: ``prompts/judge/<id>.v<N>.md``, YAML front matter (id, version, description, inputs), then
a ``# System`` section and a ``# User`` section.

The user section is a ``string.Template``: ``${name}`` placeholders, exactly the declared ``inputs``.
Substitution is single-pass, so text substituted into it (label data included) is never re-expanded.
A prompt is never edited in place once used: a change is a new version, so cached verdicts and eval
results stay attributable (the file's hash is in the cache key all the same).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from string import Template

import yaml
from pydantic import BaseModel, ConfigDict

from gtqa.settings import REPO_ROOT

PROMPTS_DIR = REPO_ROOT / "prompts" / "judge"
_FILE = re.compile(r"^(?P<id>[a-z0-9][a-z0-9_-]*)\.v(?P<version>[1-9][0-9]*)\.md$")
_SECTION = re.compile(r"^# (System|User)\s*$", re.MULTILINE)


class PromptError(ValueError):
    """A prompt file that is missing or malformed; the message names the file."""


class Prompt(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    version: int
    description: str
    inputs: tuple[str, ...]
    system: str
    user: str
    sha256: str
    path: str

    def render_user(self, values: dict[str, str]) -> str:
        if set(values) != set(self.inputs):
            raise PromptError(f"{self.path}: inputs are {sorted(self.inputs)}, got {sorted(values)}")
        return Template(self.user).substitute(values)


def prompt_ids(root: Path = PROMPTS_DIR) -> frozenset[str]:
    """The ids of every prompt file in ``root``."""
    return frozenset(m["id"] for p in root.glob("*.v*.md") if (m := _FILE.match(p.name)))


def available(prompt_id: str, root: Path = PROMPTS_DIR) -> list[int]:
    """The versions of a prompt present in ``root``, ascending."""
    versions = []
    for path in root.glob(f"{prompt_id}.v*.md"):
        match = _FILE.match(path.name)
        if match and match["id"] == prompt_id:
            versions.append(int(match["version"]))
    return sorted(versions)


def load_prompt(prompt_id: str, version: int | None = None, root: Path = PROMPTS_DIR) -> Prompt:
    """The pinned ``version`` of a prompt, or its latest version when None."""
    versions = available(prompt_id, root)
    if not versions:
        raise PromptError(f"no prompt {prompt_id!r} in {root}")
    if version is None:
        version = versions[-1]
    elif version not in versions:
        raise PromptError(f"prompt {prompt_id!r} has no version {version}; versions: {versions}")
    return _parse(root / f"{prompt_id}.v{version}.md", prompt_id, version)


def _parse(path: Path, prompt_id: str, version: int) -> Prompt:
    text = path.read_text(encoding="utf-8")
    front, body = _front_matter(text, path)
    if front.get("id") != prompt_id or front.get("version") != version:
        raise PromptError(
            f"{path}: front matter id/version must match the file name ({prompt_id}, {version})"
        )
    system, user = _sections(body, path)
    declared = front.get("inputs") or []
    if not isinstance(declared, list):
        raise PromptError(f"{path}: inputs must be a list of placeholder names")
    inputs = tuple(str(i) for i in declared)
    placeholders = set(Template(user).get_identifiers())
    if placeholders != set(inputs) or not Template(user).is_valid():
        raise PromptError(f"{path}: placeholders {sorted(placeholders)} differ from inputs {sorted(inputs)}")
    return Prompt(
        id=prompt_id,
        version=version,
        description=str(front.get("description", "")),
        inputs=inputs,
        system=system,
        user=user,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        path=str(path),
    )


def _front_matter(text: str, path: Path) -> tuple[dict[str, object], str]:
    parts = text.split("---\n", 2)
    if len(parts) != 3 or parts[0].strip():
        raise PromptError(f"{path}: a prompt starts with YAML front matter between '---' lines")
    front = yaml.safe_load(parts[1])
    if not isinstance(front, dict):
        raise PromptError(f"{path}: front matter must be a mapping")
    return front, parts[2]


def _sections(body: str, path: Path) -> tuple[str, str]:
    pieces = _SECTION.split(body)
    # split() with one group gives [before, name, text, name, text]
    names = pieces[1::2]
    if names != ["System", "User"] or pieces[0].strip():
        raise PromptError(f"{path}: the body is a '# System' section then a '# User' section")
    return pieces[2].strip(), pieces[4].strip()
