"""Split a Markdown spec into front matter, prose sections and fenced ``rule`` blocks.

A rule block is a fenced code block whose info string is ``rule``; its body is YAML with at least
``id`` and ``kind``. The rule's prose is the text of the section (from its heading to the next heading
of the same or a higher level) with the rule blocks taken out: it is what the LLM judge reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from gtqa.spec.errors import SpecError

_FENCE = re.compile(r"^(```+|~~~+)\s*(\S*)\s*$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


@dataclass
class RawRule:
    body: dict[str, Any]
    node: yaml.Node  # for mapping validation errors back to lines
    line: int  # 1-based line of the first body line
    section: str
    prose: str


@dataclass
class RawSpec:
    path: str
    front: dict[str, Any]
    rules: list[RawRule] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class _Section:
    title: str
    level: int
    prose: list[str] = field(default_factory=list)
    rules: list[tuple[int, list[str]]] = field(default_factory=list)  # (first body line, body lines)


def parse_markdown(text: str, path: str) -> RawSpec:
    lines = text.splitlines()
    front, start = _front_matter(lines, path)
    spec = RawSpec(path=path, front=front)
    sections = _sections(lines, start, path, spec.problems)
    for chain in _with_parents(sections):
        for first, body in chain[-1].rules:
            _add_rule(spec, chain, first, body)
    return spec


def _front_matter(lines: list[str], path: str) -> tuple[dict[str, Any], int]:
    if not lines or lines[0].strip() != "---":
        raise SpecError(
            [f"{path}:1: a spec starts with YAML front matter between '---' lines (spec, version, title)"]
        )
    for end in range(1, len(lines)):
        if lines[end].strip() == "---":
            data = _yaml("\n".join(lines[1:end]), path, 2)
            if not isinstance(data, dict):
                raise SpecError([f"{path}:2: front matter must be a mapping"])
            return data, end + 1
    raise SpecError([f"{path}:1: front matter is not closed with '---'"])


def _sections(lines: list[str], start: int, path: str, problems: list[str]) -> list[_Section]:
    sections = [_Section(title="", level=0)]
    fence: tuple[str, int, bool] | None = None  # (marker, first body line, is rule)
    body: list[str] = []
    for i in range(start, len(lines)):
        line = lines[i]
        match = _FENCE.match(line.strip())
        if fence is not None:
            if match and match.group(1).startswith(fence[0]) and not match.group(2):
                if fence[2]:
                    sections[-1].rules.append((fence[1], body))
                else:
                    sections[-1].prose.extend([f"{fence[0]}", *body, fence[0]])
                fence, body = None, []
            else:
                body.append(line)
            continue
        if match:
            fence, body = (match.group(1), i + 2, match.group(2) == "rule"), []
            continue
        heading = _HEADING.match(line)
        if heading:
            sections.append(_Section(title=heading.group(2), level=len(heading.group(1))))
        sections[-1].prose.append(line)
    if fence is not None:
        problems.append(f"{path}:{fence[1] - 1}: code block is never closed")
    return sections


def _with_parents(sections: list[_Section]) -> list[list[_Section]]:
    """Each section with the chain of headings above it (used to name a rule's section)."""
    chains: list[list[_Section]] = []
    stack: list[_Section] = []
    for section in sections:
        while stack and stack[-1].level >= section.level and section.level > 0:
            stack.pop()
        stack.append(section)
        chains.append(list(stack))
    return chains


def _add_rule(spec: RawSpec, chain: list[_Section], first: int, body: list[str]) -> None:
    try:
        node, data = _compose_and_load("\n".join(body))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = first + (mark.line if mark else 0)
        spec.problems.append(f"{spec.path}:{line}: rule block is not valid YAML: {_short(exc)}")
        return
    if not isinstance(data, dict) or node is None:
        spec.problems.append(f"{spec.path}:{first}: a rule block must be a YAML mapping with id and kind")
        return
    section = chain[-1]
    title = " / ".join(s.title for s in chain if s.title)
    prose = "\n".join(section.prose).strip()
    spec.rules.append(RawRule(body=data, node=node, line=first, section=title, prose=prose))


def _compose_and_load(text: str) -> tuple[yaml.Node | None, Any]:
    """The YAML document's node tree (for error lines) and its data, from one parse."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def _yaml(text: str, path: str, first: int) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SpecError(
            [f"{path}:{first + (mark.line if mark else 0)}: invalid YAML: {_short(exc)}"]
        ) from None


def _short(exc: yaml.YAMLError) -> str:
    return str(getattr(exc, "problem", None) or exc).splitlines()[0]


def node_line(node: yaml.Node, loc: tuple[int | str, ...]) -> int:
    """0-based line, inside a rule body, of the value at a pydantic error location (best effort)."""
    current = node
    for key in loc:
        child = _child(current, key)
        if child is None:
            break
        current = child
    return current.start_mark.line


def _child(node: yaml.Node, key: int | str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == str(key):
                return v  # type: ignore[no-any-return]
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        return node.value[key]  # type: ignore[no-any-return]
    return None
