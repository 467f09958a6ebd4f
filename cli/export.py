"""``gtqa export``: a dataset's label files with audits' corrections applied, written by the same code
as the API's ``labels.zip`` (``gtqa.formats.export``). Without audits every label file written is its
source file, byte for byte (JSON formats: the same file); ``corrections.json`` says what each audit did."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from cli.scan import load_or_exit
from cli.voice import fail, fail_input, note
from gtqa.domain import Audit, InputFormatError
from gtqa.formats import known_formats
from gtqa.formats.audits import read_audits
from gtqa.formats.export.corrections import MANIFEST, export_labels


def export(
    dataset: Annotated[Path, typer.Argument(help="dataset folder or file (its source files are patched)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="folder to write (new or empty)")],
    format: Annotated[
        str | None, typer.Option("--format", "-f", help=f"one of: {known_formats()} (default: recognised)")
    ] = None,
    audits: Annotated[
        Path | None, typer.Option("--audits", "-a", help="gtqa audit JSONL whose corrections to apply")
    ] = None,
) -> None:
    """Write the dataset in its own format with the audits' corrections applied; only what an audit
    changed differs from the input, and what gtqa does not read is carried through untouched."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise fail(f"{out}: not an empty folder; give a new or empty --out")
    data = load_or_exit(dataset, format, [])
    decisions = _audits_or_exit(audits) if audits is not None else []
    try:
        manifest = export_labels(data, decisions, out)
    except InputFormatError as exc:
        raise fail_input(exc) from None
    actions = Counter(a["action"] for a in manifest["applied"])
    summary = ", ".join(f"{n} {action}" for action, n in sorted(actions.items())) or "no audit applied"
    note(f"wrote {data.format} labels to {out} ({summary}; see {out / MANIFEST})")


def _audits_or_exit(path: Path) -> list[Audit]:
    try:
        return read_audits(path)
    except InputFormatError as exc:
        raise fail_input(exc) from None
