"""A re-check table as past audits: the crowd re-check of KITTI pedestrians (``kitti_rechecked``).

``recheck.csv`` has columns ``filename,probability,xmin,ymin,xmax,ymax,height``: each row is a candidate
box (from the original labels and from detector proposals) shown to several crowd workers;
``probability`` is the share who judged it a correctly placed object. The protocol of its SOURCE.md:

* a re-checked box is a real object when ``probability >= 0.5``; it is ignored when it is lower than
  25 px (the ``height`` column) or when at least half of it lies inside one DontCare region;
* a real object whose best IoU with every original label of the class is below 0.5 is a label error:
  *overlooked* when that IoU is 0, *misfitting* otherwise.

As audits (``recheck_audits``): every error is a ``defect`` audit (overlooked: a missing object with the
box; misfitting: a ``bad_box`` of the best-overlapping label, the re-checked box as its correction); a
real object matched by a label confirms that label (``not_defect``); a box the crowd rejected that no
label matches says there is no object there (``not_defect``, no label: a proposal there is wrong); a
rejected box that matches a label is recorded as ``unsure``, because the protocol does not judge it.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np

from gtqa.domain import Audit, AuditSource, Box2D, Dataset, InputFormatError, IssueType, Label, Verdict
from gtqa.domain.boxes import coverage_matrix, iou_matrix

Box = tuple[float, float, float, float]
_COLUMNS = ("filename", "probability", "xmin", "ymin", "xmax", "ymax", "height")


class ErrorKind(StrEnum):
    overlooked = "overlooked"
    misfitting = "misfitting"


@dataclass(frozen=True)
class RecheckProtocol:
    cls: str = "Pedestrian"
    dontcare: str = "DontCare"
    min_probability: float = 0.5
    min_height_px: float = 25.0
    max_dontcare_inside: float = 0.5  # ignored when at least this share lies in one DontCare region
    error_iou: float = 0.5  # a real object with best IoU below this is a label error
    find_iou: float = 0.1  # a flag finds an error with IoU above this


@dataclass(frozen=True)
class RecheckRow:
    frame: str
    box: Box
    probability: float
    height: float
    line: int = 0


@dataclass(frozen=True)
class RecheckError:
    frame: str
    box: Box
    probability: float
    best_iou: float
    kind: ErrorKind


def read_recheck(path: Path) -> list[RecheckRow]:
    """Read the table; the frame id is the file name's stem. Errors name the file and line."""
    rows: list[RecheckRow] = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InputFormatError(str(path), 1, f"missing columns {missing}; expected {', '.join(_COLUMNS)}")
        for line, row in enumerate(reader, start=2):
            try:
                box = (float(row["xmin"]), float(row["ymin"]), float(row["xmax"]), float(row["ymax"]))
                probability, height = float(row["probability"]), float(row["height"])
            except (TypeError, ValueError):
                raise InputFormatError(str(path), line, "a value is not a number") from None
            rows.append(RecheckRow(Path(row["filename"]).stem, box, probability, height, line))
    return rows


@dataclass(frozen=True)
class _Judged:
    row: RecheckRow
    real: bool
    best_iou: float
    best_label: Label | None


def _judge_rows(rows: Sequence[RecheckRow], dataset: Dataset, protocol: RecheckProtocol) -> list[_Judged]:
    """Each row the protocol does not ignore, with its best-matching label of the class."""
    frames = {f.id: f for f in dataset.frames}
    out: list[_Judged] = []
    for row in rows:
        if row.height < protocol.min_height_px:
            continue
        frame = frames.get(row.frame)
        labels = frame.labels if frame is not None else ()
        box = np.array([row.box], dtype=np.float64)
        dontcare = _boxes([lab for lab in labels if lab.cls == protocol.dontcare])
        if len(dontcare) and coverage_matrix(box, dontcare).max() >= protocol.max_dontcare_inside:
            continue
        objects = [lab for lab in labels if lab.cls == protocol.cls]
        ious = iou_matrix(box, _boxes(objects))[0] if objects else np.zeros(0)
        best = int(ious.argmax()) if len(ious) else -1
        out.append(
            _Judged(
                row,
                row.probability >= protocol.min_probability,
                float(ious[best]) if best >= 0 else 0.0,
                objects[best] if best >= 0 else None,
            )
        )
    return out


def _boxes(labels: Sequence[Label]) -> np.ndarray:
    return np.array([lab.box.as_list() for lab in labels], dtype=np.float64).reshape(-1, 4)


def recheck_errors(
    rows: Sequence[RecheckRow], dataset: Dataset, protocol: RecheckProtocol = RecheckProtocol()
) -> list[RecheckError]:
    """The label errors of the dataset's original labels according to the re-check."""
    return [
        RecheckError(j.row.frame, j.row.box, j.row.probability, j.best_iou,
                     ErrorKind.overlooked if j.best_iou == 0.0 else ErrorKind.misfitting)
        for j in _judge_rows(rows, dataset, protocol)
        if j.real and j.best_iou < protocol.error_iou
    ]  # fmt: skip


def recheck_audits(
    rows: Sequence[RecheckRow],
    dataset: Dataset,
    *,
    source: str = "recheck",
    protocol: RecheckProtocol = RecheckProtocol(),
    spec_hash: str | None = None,
) -> list[Audit]:
    """The re-check as audits (see the module docstring for the mapping)."""
    return [
        _audit(j, dataset.name, source, protocol, spec_hash) for j in _judge_rows(rows, dataset, protocol)
    ]


def _audit(j: _Judged, dataset: str, source: str, protocol: RecheckProtocol, spec_hash: str | None) -> Audit:
    row, matched = j.row, j.best_iou >= protocol.error_iou
    box = Box2D.from_seq(row.box)
    common = {
        "id": f"{source}:{row.line}",
        "dataset": dataset,
        "frame": row.frame,
        "box": box,
        "auditor": "crowd",
        "spec_hash": spec_hash,
        "source": AuditSource.imported,
        "comment": f"crowd probability {row.probability:.2f}, best label IoU {j.best_iou:.2f}",
    }
    label_id = j.best_label.id if j.best_label is not None and j.best_iou > 0 else None
    if j.real and not matched:
        corrected = Label(id=label_id or f"{source}:{row.line}", frame=row.frame, cls=protocol.cls, box=box)
        issue = IssueType.bad_box if label_id else IssueType.missing_object
        return Audit(**common, label=label_id, verdict=Verdict.defect, issue_type=issue, corrected=corrected)
    if j.real:
        return Audit(**common, label=label_id, verdict=Verdict.not_defect)
    if matched:
        return Audit(**common, label=label_id, verdict=Verdict.unsure)
    return Audit(**common, label=None, verdict=Verdict.not_defect)
