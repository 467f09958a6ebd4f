"""Compile a Markdown spec once: parse, validate every rule (errors name file and line), hash."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

from gtqa.spec.compiled import CompiledSpec, Rule, content_hash
from gtqa.spec.errors import SpecError
from gtqa.spec.parse import RawRule, RawSpec, node_line, parse_markdown
from gtqa.spec.rules import KINDS, SINGLETON_KINDS

SPECS_DIR = Path(__file__).resolve().parents[2] / "specs"
# The shipped spec for data of each format (by its --format name), used when none is configured.
FORMAT_SPECS = {
    "kitti": "kitti.md",
    "kitti-tracking": "kitti.md",
    "coco": "coco.md",
    "bdd": "bdd100k.md",
    "av2": "av2.md",
}


def compile_text(text: str, path: str = "<spec>") -> CompiledSpec:
    raw = parse_markdown(text, path)
    problems = list(raw.problems)
    rules: dict[str, Rule] = {}
    seen_kinds: dict[str, str] = {}
    for item in raw.rules:
        rule = _compile_rule(raw, item, problems)
        if rule is None:
            continue
        if rule.id in rules:
            problems.append(
                f"{path}:{item.line}: duplicate rule id {rule.id!r} (first at line {rules[rule.id].line})"
            )
        elif rule.kind in SINGLETON_KINDS and rule.kind in seen_kinds:
            problems.append(
                f"{path}:{item.line}: a spec has one {rule.kind!r} rule (already {seen_kinds[rule.kind]!r})"
            )
        else:
            rules[rule.id] = rule
            seen_kinds[rule.kind] = rule.id
    front = raw.front
    for key in ("spec", "version"):
        if key not in front:
            problems.append(f"{path}:1: front matter needs {key!r}")
    if problems:
        raise SpecError(problems)
    payload = {"front": front, "rules": {k: _hash_payload(r) for k, r in sorted(rules.items())}}
    return CompiledSpec(
        name=str(front["spec"]),
        version=str(front["version"]),
        title=str(front.get("title", front["spec"])),
        path=path,
        hash=content_hash(payload),
        rules=rules,
    )


# A rule id is a name, never markup: it is quoted in the judge's prompt (where a newline or a quote could
# break the prompt's framing), in CSV exports and in URLs.
RULE_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def _compile_rule(raw: RawSpec, item: RawRule, problems: list[str]) -> Rule | None:
    body = dict(item.body)
    rule_id, kind = body.pop("id", None), body.get("kind")
    if not isinstance(rule_id, str) or not rule_id:
        problems.append(f"{raw.path}:{item.line}: rule block needs a string 'id'")
        return None
    if not RULE_ID.fullmatch(rule_id):
        line = item.line + node_line(item.node, ("id",))
        problems.append(
            f"{raw.path}:{line}: rule id {rule_id!r}: use 1-64 lower-case letters, digits, '-', '_' or '.', "
            "starting with a letter or digit (ids are quoted in the judge's prompt, exports and URLs)"
        )
        return None
    if kind not in KINDS:
        line = item.line + node_line(item.node, ("kind",))
        problems.append(
            f"{raw.path}:{line}: rule {rule_id!r} has unknown kind {kind!r}; "
            f"known kinds: {', '.join(sorted(KINDS))}"
        )
        return None
    try:
        params = KINDS[kind].model_validate(body)
    except ValidationError as exc:
        for err in exc.errors():
            line = item.line + node_line(item.node, tuple(err["loc"]))
            where = ".".join(str(p) for p in err["loc"]) or "(rule)"
            problems.append(f"{raw.path}:{line}: rule {rule_id!r}: {where}: {err['msg']}")
        return None
    digest = content_hash({"id": rule_id, "params": params.model_dump(mode="json"), "prose": item.prose})
    return Rule(
        id=rule_id,
        kind=kind,
        params=params,
        prose=item.prose,
        section=item.section,
        line=item.line,
        hash=digest,
    )


def _hash_payload(rule: Rule) -> dict[str, object]:
    return {"kind": rule.kind, "hash": rule.hash}


def compile_spec(path: Path) -> CompiledSpec:
    """Read and compile a spec file. Raises SpecError (naming file:line) when it is invalid."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([f"{path}: cannot read spec: {exc}"]) from None
    return compile_text(text, str(path))


def shipped_spec_path(data_format: str | None) -> Path:
    """The shipped spec for a format's data (``FORMAT_SPECS``), KITTI's for an unknown or no format."""
    return SPECS_DIR / FORMAT_SPECS.get(data_format or "", "kitti.md")


@lru_cache(maxsize=16)
def load_spec(path: str | None = None) -> CompiledSpec:
    """Compile once per path: the shipped KITTI spec when ``path`` is None."""
    return compile_spec(Path(path) if path else SPECS_DIR / "kitti.md")
