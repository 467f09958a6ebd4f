"""The manifest of an injected-defect copy: what was changed, where, and how to recognise a find.

``manifest.json`` sits next to the corrupted labels. Every entry names the label that carries the defect
by its id *in the corrupted copy* (``null`` for a dropped object, whose box is kept instead), the ids of
labels a reviewer may reasonably flag for the same defect (``related``), and the family's own
parameters in ``detail`` (the original box, the scale factor …; ``original_label`` is the id *in the
source* of the label the defect was made on, ``source_label`` the label a spawned box was copied from).
Boxes are image pixels ``[x1, y1, x2, y2]``.

Per family: ``dropped`` (missing_object: the label is removed, its box kept here), ``class_flip``
(wrong_class), ``shifted`` (bad_box: IoU with the original box in [0.4, 0.7], 3D box untouched),
``spawned`` (spurious_object: a real box from another frame where no label overlaps, fresh track id),
``duplicate`` (duplicate: a jittered copy, IoU >= 0.7, fresh track id, cuboid moved <= 0.3 m; the
original is ``related``), ``track_break`` (track_id: from this label on, the rest of the track has a
fresh id; the label before the break is ``related``), ``attribute`` (truncation or occlusion moved to
another valid level), ``scaled_3d`` (geometry_3d: h, w, l scaled by one factor in [1.3, 1.8] or
[0.55, 0.77]).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gtqa.domain import Audit, AuditSource, Box2D, IssueType, Label, Verdict

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1


class Family(StrEnum):
    """The defect families the injector knows, in the order they are applied."""

    track_break = "track_break"
    scaled_3d = "scaled_3d"
    attribute = "attribute"
    class_flip = "class_flip"
    shifted = "shifted"
    duplicate = "duplicate"
    dropped = "dropped"
    spawned = "spawned"

    @property
    def issue_type(self) -> IssueType:
        return FAMILY_ISSUE[self]


FAMILY_ISSUE: dict[Family, IssueType] = {
    Family.dropped: IssueType.missing_object,
    Family.class_flip: IssueType.wrong_class,
    Family.shifted: IssueType.bad_box,
    Family.spawned: IssueType.spurious_object,
    Family.duplicate: IssueType.duplicate,
    Family.track_break: IssueType.track_id,
    Family.attribute: IssueType.attribute,
    Family.scaled_3d: IssueType.geometry_3d,
}


def parse_families(values: list[str] | None) -> list[Family]:
    """Family names (repeated or comma-separated); all of them when none are given."""
    if not values:
        return list(Family)
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    known = {f.value: f for f in Family}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown families {unknown}; valid: {', '.join(known)}")
    return [f for f in Family if f.value in names]


Box = tuple[float, float, float, float]


class ManifestEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    family: Family
    issue_type: IssueType
    frame: str
    label: str | None = Field(description="label id in the corrupted copy; None for a dropped object")
    box: Box = Field(description="the defect's box in the copy (the removed box for a dropped object)")
    related: tuple[str, ...] = Field(default=(), description="other label ids a flag may land on")
    detail: dict[str, Any] = Field(default_factory=dict)


class FamilyCount(BaseModel):
    model_config = ConfigDict(frozen=True)

    requested: int
    injected: int


class Manifest(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: int = MANIFEST_VERSION
    source: str = Field(description="the dataset the copy was made from")
    format: str
    seed: int
    rate: float
    spec: str = Field(description="name and content hash of the spec whose taxonomy was used")
    n_reviewed: int = Field(description="reviewed objects (not DontCare) in the source")
    n_requested: int
    families: dict[Family, FamilyCount]
    unsupported: dict[Family, str] = Field(default_factory=dict, description="family -> why it was skipped")
    entries: tuple[ManifestEntry, ...]

    def of_family(self, family: Family) -> list[ManifestEntry]:
        return [e for e in self.entries if e.family == family]


def write_manifest(manifest: Manifest, folder: Path) -> Path:
    path = folder / MANIFEST_NAME
    path.write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return path


def read_manifest(path: Path) -> Manifest:
    """Read a manifest file, or the ``manifest.json`` of a corrupted copy's folder."""
    if path.is_dir():
        path = path / MANIFEST_NAME
    return Manifest.model_validate_json(path.read_text(encoding="utf-8"))


def manifest_audits(manifest: Manifest, dataset: str = "") -> list[Audit]:
    """An injected copy's manifest as audits, so calibration can learn from injected defects: every
    entry is a confirmed defect of its label (or, for a dropped object, of its box); a shifted box
    carries its original box as the correction. The copy was audited exhaustively: every other label
    of every frame is fine (callers pass the copy's frames as exhaustive to ``audit_targets``)."""
    audits = []
    for e in manifest.entries:
        original = e.detail.get("original_box") if e.family is Family.shifted else None
        corrected = None
        if original is not None:
            corrected = Label(
                id=e.label or e.id,
                frame=e.frame,
                cls=str(e.detail.get("class", "")),
                box=Box2D.from_seq(original),
            )
        audits.append(Audit(
            id=f"manifest:{e.id}", dataset=dataset or manifest.source, frame=e.frame, label=e.label,
            box=Box2D.from_seq(e.box), verdict=Verdict.defect, issue_type=e.issue_type, corrected=corrected,
            auditor="injector", source=AuditSource.imported, comment=e.family.value,
        ))  # fmt: skip
    return audits
