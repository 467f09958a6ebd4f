"""Corrected labels: a batch's labels with its auditors' decisions applied, written back in the
batch's own format (``gtqa.formats.WRITERS``) and returned as a zip with a ``corrections.json``.

What a *defect* audit does (other verdicts change nothing): with a correction, the label is replaced
by it (same id and place; a missing object's correction is added to its frame); without one, a
``spurious_object`` label is removed and anything else is reported as not applied. A label audited
more than once takes its latest decision.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from gtqa.domain import Audit, Dataset, IssueType, Label, Verdict
from gtqa.formats import WRITERS


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


def write_corrected(dataset: Dataset, audits: Iterable[Audit], folder: Path) -> Path:
    """Write the corrected labels under ``folder`` and zip them; the zip's path."""
    corrected, report = apply_audits(dataset, audits)
    out = folder / "labels"
    ids = WRITERS[dataset.format](corrected, out)
    manifest = {
        "dataset": dataset.name,
        "format": dataset.format,
        "applied": [asdict(a) for a in report],
        "label_ids": ids,  # label id in the batch -> label id in the written files
    }
    (out / "corrections.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
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
