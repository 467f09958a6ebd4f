"""Eval datasets: a set of past audits, versioned by a checksum of the audits themselves.

Where audits come from:

* an audit JSONL file (``gtqa.formats.audits``), e.g. an export of the review queue's database;
* a re-check table (``.csv``, ``gtqa.formats.recheck``), judged against the dataset's labels;
* the review queue's database directly: ``from_store`` (the hook the service uses; it reads
  ``gtqa.storage.audits.export_audits``).

``exhaustive`` frames were audited completely (every object judged, as in a re-check): a flag there
that no defect audit explains is a false alarm. Elsewhere such a flag is unknown. By default a re-check
table's frames are exhaustive and a JSONL file's are not.

The checksum covers every audit's content (id, frame, label, box, verdict, issue type, correction,
spec hash, source …) except ``created_at`` (a re-check table's audits are made when read), plus the
exhaustive frames: two runs with the same checksum were measured against the same truth.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from evals.harness.records import UNKNOWN, sequence_of
from gtqa.domain import Audit, Dataset
from gtqa.formats.audits import load_audits
from gtqa.spec import content_hash

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class EvalDataset:
    name: str
    audits: tuple[Audit, ...]
    exhaustive: frozenset[str] = frozenset()
    sources: tuple[str, ...] = ()

    @property
    def checksum(self) -> str:
        return audit_checksum(self.audits, self.exhaustive)

    @property
    def frames(self) -> frozenset[str]:
        return frozenset(a.frame for a in self.audits)

    def vendors(self) -> dict[str, str]:
        """Frame -> vendor or batch: the most common ``dataset`` field of the frame's audits."""
        by_frame: dict[str, Counter[str]] = {}
        for a in self.audits:
            by_frame.setdefault(a.frame, Counter())[a.dataset or UNKNOWN] += 1
        return {frame: counts.most_common(1)[0][0] for frame, counts in by_frame.items()}

    def restricted(self, frames: Iterable[str]) -> EvalDataset:
        """The audits of these frames only (a held-out split)."""
        keep = set(frames)
        return EvalDataset(
            name=self.name,
            audits=tuple(a for a in self.audits if a.frame in keep),
            exhaustive=self.exhaustive & keep,
            sources=self.sources,
        )


def audit_checksum(audits: Sequence[Audit], exhaustive: Iterable[str] = ()) -> str:
    rows = sorted(
        (a.model_dump(mode="json", exclude={"created_at"}) for a in audits), key=lambda r: str(r["id"])
    )
    return content_hash({"audits": rows, "exhaustive": sorted(exhaustive)})


def from_file(
    path: Path, dataset: Dataset, *, exhaustive: bool | None = None, spec_hash: str | None = None
) -> EvalDataset:
    """Audits from a JSONL file or a re-check table (see the module docstring for ``exhaustive``)."""
    audits = tuple(load_audits(path, dataset, spec_hash=spec_hash))
    if exhaustive is None:
        exhaustive = path.suffix == ".csv"
    frames = frozenset(a.frame for a in audits) if exhaustive else frozenset()
    return EvalDataset(name=path.stem, audits=audits, exhaustive=frames, sources=(str(path),))


def from_audits(name: str, audits: Iterable[Audit], *, exhaustive: Iterable[str] = ()) -> EvalDataset:
    return EvalDataset(name=name, audits=tuple(audits), exhaustive=frozenset(exhaustive))


def from_store(
    session: Session, *, name: str = "review-queue", spec_hash: str | None = None, batch_id: int | None = None
) -> EvalDataset:
    """Audits made in the review queue (the service's database): the queue's own eval dataset."""
    from gtqa.storage.audits import export_audits

    audits = export_audits(session, spec_hash=spec_hash, batch_id=batch_id)
    return EvalDataset(name=name, audits=tuple(audits), sources=(f"database:{name}",))


def audited_frames(dataset: Dataset, evals: EvalDataset) -> Dataset:
    """The dataset cut to the sequences holding an audited frame (whole sequences, so temporal checks
    keep their context; a frame of KITTI object data is its own sequence)."""
    wanted = {sequence_of(f) for f in evals.frames}
    frames = tuple(f for f in dataset.frames if sequence_of(f.id) in wanted)
    return dataset.model_copy(update={"frames": frames})


def read_frame_list(path: Path) -> list[str]:
    """One frame id per line; blank lines and ``#`` comments skipped."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [s for line in lines if (s := line.strip()) and not s.startswith("#")]
