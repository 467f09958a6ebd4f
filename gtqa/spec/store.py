"""Spec versions on disk: the shipped specs (``specs/*.md``) and uploaded ones, stored content-addressed
as ``<folder>/<hash>.md`` (the service's folder is ``<settings.home>/specs``). A review job names its
spec by hash; the API and the workers resolve it here. Stored files are never rewritten, so compiling
one is cached for good (``load_spec``)."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from gtqa.spec.compile import SPECS_DIR, compile_text, load_spec
from gtqa.spec.compiled import CompiledSpec
from gtqa.spec.errors import SpecError

_HASH = re.compile(r"[0-9a-f]{64}")  # a sha256 hex digest, and so a safe file name


def spec_folder(home: Path) -> Path:
    """The service's spec store under its home folder (shared by the API and the workers)."""
    return home / "specs"


class UnknownSpecError(LookupError):
    """No stored or shipped spec answers to the reference."""


def save_spec(text: str, folder: Path, *, source: str = "<upload>") -> CompiledSpec:
    """Validate and store a spec text; the compiled spec (``SpecError`` naming ``source``:line if it is
    invalid). Storing the same content twice is a no-op."""
    compiled = compile_text(text, source)  # errors name the upload, not the stored file
    path = folder / f"{compiled.hash}.md"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, text)
    return load_spec(str(path))


def pin_spec(spec: CompiledSpec, folder: Path) -> CompiledSpec:
    """Keep a copy of ``spec`` (e.g. a shipped one, which a later release may edit) in ``folder`` so
    that work created under it can be resolved by hash; the spec as stored."""
    if (folder / f"{spec.hash}.md").is_file():
        return spec
    try:
        text = Path(spec.path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([f"{spec.path}: cannot read spec: {exc}"]) from None
    return save_spec(text, folder, source=spec.path)


def stored_specs(folder: Path) -> list[CompiledSpec]:
    """Uploaded specs, oldest first."""
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.md"), key=lambda p: (p.stat().st_mtime, p.name))
    return [load_spec(str(p)) for p in files]


def shipped_specs() -> list[CompiledSpec]:
    """The specs of this release that compile (a broken one is a release bug, reported by tests)."""
    specs = []
    for path in sorted(SPECS_DIR.glob("*.md")):
        try:
            specs.append(load_spec(str(path)))
        except SpecError:
            continue
    return specs


def all_specs(folder: Path, extra: Sequence[CompiledSpec] = ()) -> list[CompiledSpec]:
    """``extra`` (e.g. the configured default spec), shipped, then uploaded; each hash once."""
    seen: dict[str, CompiledSpec] = {}
    for spec in [*extra, *shipped_specs(), *stored_specs(folder)]:
        seen.setdefault(spec.hash, spec)
    return list(seen.values())


def find_spec(ref: str, folder: Path, extra: Sequence[CompiledSpec] = ()) -> CompiledSpec:
    """A spec by full hash, unique hash prefix (8+ characters) or name (its newest upload, else the
    shipped or ``extra`` one)."""
    specs = all_specs(folder, extra)
    if len(ref) >= 8:
        by_hash = [s for s in specs if s.hash.startswith(ref)]
        if len(by_hash) == 1:
            return by_hash[0]
    named = [s for s in specs if s.name == ref]
    if named:
        return named[-1]
    raise UnknownSpecError(f"no spec {ref!r}; known: {', '.join(f'{s.name}@{s.hash[:12]}' for s in specs)}")


def spec_by_hash(spec_hash: str, folder: Path, extra: Sequence[CompiledSpec] = ()) -> CompiledSpec:
    """The spec a job was created under (what a worker reviews it with): ``extra`` or a shipped spec
    when one has that hash (the same text, at the path its default calibration sits beside), else the
    stored copy."""
    for spec in [*extra, *shipped_specs()]:
        if spec.hash == spec_hash:
            return spec
    path = folder / f"{spec_hash[:64]}.md"
    if _HASH.fullmatch(spec_hash) and path.is_file():
        return load_spec(str(path))
    raise UnknownSpecError(f"no spec with hash {spec_hash[:12]}… in {folder} or the shipped specs")


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-", suffix=".md")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
