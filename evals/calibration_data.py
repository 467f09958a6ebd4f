"""Assembling calibration data: scan each audited dataset with the spec's priors, then say which flags
were real defects (``gtqa.scoring.targets``) and group flags so cross-validation never splits a frame
(or a stretch of a sequence) across folds.

Audits come as gtqa audit JSONL, a re-check table (``.csv``), or an injected copy's ``manifest.json``.
A re-check judged every candidate of the frames it covers, and an injected copy knows all its
defects, so their frames count as audited exhaustively; a JSONL file's frames only with ``exhaustive``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from evals.inject.manifest import MANIFEST_NAME, manifest_audits, read_manifest
from gtqa.domain import Audit, Dataset, Finding
from gtqa.formats import load_dataset
from gtqa.formats.audits import load_audits
from gtqa.review import review_dataset
from gtqa.scoring.targets import audit_targets
from gtqa.spec import CompiledSpec

# Frames of a sequence are grouped in blocks this long: neighbouring frames share objects, so a fold
# must not hold out a frame whose twin it trained on.
SEQUENCE_BLOCK = 25


@dataclass(frozen=True)
class AuditedSource:
    dataset: Path
    audits: Path
    predictions: tuple[Path, ...] = ()
    format: str | None = None
    exhaustive: bool = False


@dataclass
class CalibrationData:
    findings: list[Finding] = field(default_factory=list)
    targets: list[float | None] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    datasets: list[Dataset] = field(default_factory=list)
    audits: list[list[Audit]] = field(default_factory=list)


def read_source_audits(
    source: AuditedSource, dataset: Dataset, spec: CompiledSpec
) -> tuple[list[Audit], set[str]]:
    """The source's audits and the frames they cover exhaustively."""
    path = source.audits
    if path.name == MANIFEST_NAME or (path.is_dir() and (path / MANIFEST_NAME).is_file()):
        return manifest_audits(read_manifest(path), dataset.name), {f.id for f in dataset.frames}
    audits = load_audits(path, dataset, spec_hash=spec.hash)
    exhaustive = path.suffix == ".csv" or source.exhaustive
    return audits, ({a.frame for a in audits} if exhaustive else set())


def collect(sources: Sequence[AuditedSource], spec: CompiledSpec) -> CalibrationData:
    data = CalibrationData()
    for n, source in enumerate(sources):
        dataset = load_dataset(source.dataset, source.format, source.predictions)
        audits, exhaustive = read_source_audits(source, dataset, spec)
        findings = review_dataset(dataset, spec).findings
        data.findings.extend(findings)
        data.targets.extend(audit_targets(findings, audits, exhaustive_frames=exhaustive))
        index = {f.id: f for f in dataset.frames}
        data.groups.extend(
            f"{n}:{group_of(index[f.frame].sequence, index[f.frame].index, f.frame)}" for f in findings
        )
        data.datasets.append(dataset)
        data.audits.append(audits)
    return data


def group_of(sequence: str | None, index: int, frame: str) -> str:
    return frame if sequence is None else f"{sequence}/{index // SEQUENCE_BLOCK}"
