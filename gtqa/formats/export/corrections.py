"""Corrected labels: a dataset's label files with its auditors' decisions applied, written back in
its own format by patching its source files (the one writer of ``gtqa export`` and the API's
``labels.zip``), with a ``corrections.json`` that says what each audit did.

With no audit that changes anything, every label file written is its source file, byte for byte. A
changed label changes only its own line or record, and there only the fields the audit changed (see
``lines`` and ``json_patch``). The source must be readable and still hold the labels the dataset was
read with; otherwise the export is refused with an error naming the path, never written from what
gtqa modelled of it (that would drop polygons, unknown fields and every record the reader skipped).

What a *defect* audit does (other verdicts change nothing): with a correction, the label is replaced
by it (same id and place; a missing object's correction is added to its frame); without one, a
``spurious_object`` label is removed and anything else is reported as not applied. A label audited
more than once takes its latest decision.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gtqa.domain import Audit, Dataset, InputFormatError, IssueType, Label, SourceRef, Verdict
from gtqa.formats._json import Places
from gtqa.formats.av2 import read_av2
from gtqa.formats.bdd.read import read_bdd_places
from gtqa.formats.bdd.write import bdd_patch_format
from gtqa.formats.coco.read import read_coco_places
from gtqa.formats.coco.write import coco_patch_format
from gtqa.formats.export.feather import patch_av2
from gtqa.formats.export.json_patch import patch_json
from gtqa.formats.export.lines import patch_kitti, patch_kitti_tracking
from gtqa.formats.kitti import read_kitti
from gtqa.formats.kitti_tracking import read_kitti_tracking

MANIFEST = "corrections.json"
Patch = Callable[[Dataset, Dataset, Places, Path], dict[str, str]]


def _with_places(read: Callable[[Path], Dataset]) -> Callable[[Path], tuple[Dataset, Places]]:
    return lambda root: (read(root), Places())


SOURCES: dict[str, Callable[[Path], tuple[Dataset, Places]]] = {
    "kitti": _with_places(read_kitti),
    "kitti-tracking": _with_places(read_kitti_tracking),
    "coco": read_coco_places,
    "bdd": read_bdd_places,
    "av2": _with_places(read_av2),
}
PATCHES: dict[str, Patch] = {
    "kitti": lambda original, corrected, _, out: patch_kitti(original, corrected, out),
    "kitti-tracking": lambda original, corrected, _, out: patch_kitti_tracking(original, corrected, out),
    "coco": lambda original, corrected, places, out: patch_json(
        original, corrected, places, out, coco_patch_format()
    ),
    "bdd": lambda original, corrected, places, out: patch_json(
        original, corrected, places, out, bdd_patch_format(corrected)
    ),
    "av2": lambda original, corrected, _, out: patch_av2(original, corrected, out),
}


@dataclass(frozen=True)
class Applied:
    audit: str
    frame: str
    label: str | None
    action: str  # replaced | added | removed | not_applied
    reason: str = ""


def apply_audits(dataset: Dataset, audits: Iterable[Audit]) -> tuple[Dataset, list[Applied]]:
    """The dataset with ``audits`` (oldest first) applied, and what each defect audit did."""
    frames = {frame.id: list(frame.labels) for frame in dataset.frames}
    report = [_apply(frames, audit) for audit in _latest_defects(audits)]
    updated = tuple(f.model_copy(update={"labels": tuple(frames[f.id])}) for f in dataset.frames)
    return dataset.model_copy(update={"frames": updated}), report


def export_labels(dataset: Dataset, audits: Iterable[Audit], out: Path) -> dict[str, Any]:
    """Write ``dataset``'s label files with ``audits`` (oldest first) applied under ``out``, each at its
    source's relative path, and ``corrections.json``; returns that manifest. Raises InputFormatError
    (nothing written) when the source cannot be read or no longer holds the dataset's labels."""
    original, places = read_source(dataset)
    corrected, report = apply_audits(original, audits)
    out.mkdir(parents=True, exist_ok=True)
    ids = PATCHES[dataset.format](original, corrected, places, out)
    sources = {label.id: label.source for label in original.labels()}
    manifest: dict[str, Any] = {
        "dataset": dataset.name,
        "format": dataset.format,
        "applied": [{**asdict(a), "source": _source_of(a, sources, Path(original.root))} for a in report],
        "label_ids": ids,  # label id in the batch -> label id in the written files
    }
    if (out / MANIFEST).exists():
        raise InputFormatError(str(out / MANIFEST), 0, "a label file has the manifest's name")
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


def _source_of(applied: Applied, sources: dict[str, SourceRef | None], root: Path) -> str | None:
    """Where the audited label was read, relative to the dataset (``label_2/000001.txt:3``,
    ``annotations/instances_val2017.json``), or None for a label that was not in the source."""
    source = sources.get(applied.label or "")
    if source is None:
        return None
    path = Path(source.path)
    rel = (
        path.name
        if root.is_file()
        else path.relative_to(root).as_posix()
        if path.is_relative_to(root)
        else str(path)
    )
    return f"{rel}:{source.line}" if source.line else rel


def read_source(dataset: Dataset) -> tuple[Dataset, Places]:
    """The dataset read again from its source, with where each record is, or an error saying why a
    lossless export cannot be made."""
    root = Path(dataset.root)
    if dataset.format not in SOURCES:
        raise InputFormatError(str(root), 0, f"no lossless writer for format {dataset.format!r}")
    if not root.exists():
        message = "the source files are gone: a lossless export patches them, so nothing was written"
        raise InputFormatError(str(root), 0, message)
    original, places = SOURCES[dataset.format](root)
    differ = _label_ids(original) ^ _label_ids(dataset)
    if differ:
        message = (
            f"the source no longer holds the labels the dataset was read with ({len(differ)} differ, "
            f"e.g. {sorted(differ)[0]}): nothing was written"
        )
        raise InputFormatError(str(root), 0, message)
    return original, places


def _label_ids(dataset: Dataset) -> set[tuple[str, str]]:
    return {(label.frame, label.id) for label in dataset.labels()}


def write_corrected(dataset: Dataset, audits: Iterable[Audit], folder: Path) -> Path:
    """Export the corrected labels under ``folder`` and zip them; the zip's path."""
    out = folder / "labels"
    export_labels(dataset, audits, out)
    archive = folder / "corrected.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(out.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(out).as_posix())
    return archive


def scratch_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="gtqa-export-"))


def _latest_defects(audits: Iterable[Audit]) -> list[Audit]:
    latest: dict[tuple[str, str], Audit] = {}
    for audit in audits:
        key = (audit.frame, audit.label) if audit.label is not None else (audit.frame, f"audit:{audit.id}")
        latest[key] = audit  # oldest first: a later decision on the same label wins
    return [a for a in latest.values() if a.verdict == Verdict.defect]


def _apply(frames: dict[str, list[Label]], audit: Audit) -> Applied:
    labels = frames.get(audit.frame)
    if labels is None:
        return Applied(audit.id, audit.frame, audit.label, "not_applied", "the frame is not in this batch")
    at = next((i for i, lb in enumerate(labels) if lb.id == audit.label), None)
    if audit.corrected is not None:
        return _correct(labels, at, audit, audit.corrected)
    if audit.issue_type == IssueType.spurious_object and at is not None:
        del labels[at]
        return Applied(audit.id, audit.frame, audit.label, "removed")
    return Applied(audit.id, audit.frame, audit.label, "not_applied", "a defect without a correction")


def _correct(labels: list[Label], at: int | None, audit: Audit, corrected: Label) -> Applied:
    if audit.label is None:
        taken = {lb.id for lb in labels}
        new_id = corrected.id if corrected.id not in taken else f"{corrected.id}#{audit.id[:8]}"
        labels.append(corrected.model_copy(update={"id": new_id, "frame": audit.frame, "source": None}))
        return Applied(audit.id, audit.frame, new_id, "added")
    if at is None:
        return Applied(audit.id, audit.frame, audit.label, "not_applied", "the label is not in this batch")
    old = labels[at]
    labels[at] = corrected.model_copy(update={"id": old.id, "frame": old.frame, "source": old.source})
    return Applied(audit.id, audit.frame, audit.label, "replaced")
