from __future__ import annotations

from pathlib import Path

from evals.calibration_data import AuditedSource, collect, group_of
from evals.inject import inject_folder
from evals.inject.manifest import Family, manifest_audits
from gtqa.domain import IssueType, Verdict
from gtqa.spec import load_spec


def test_manifest_entries_become_defect_audits_and_train_targets(shared_data: Path, tmp_path: Path) -> None:
    spec = load_spec()
    copy = tmp_path / "copy"
    manifest = inject_folder(
        shared_data / "kitti_tracking", copy, spec, fmt="kitti-tracking", rate=0.02, seed=5
    )
    audits = manifest_audits(manifest)
    assert len(audits) == len(manifest.entries)
    assert all(a.verdict == Verdict.defect for a in audits)
    shifted = [a for a, e in zip(audits, manifest.entries, strict=True) if e.family is Family.shifted]
    assert shifted and all(a.corrected is not None and a.issue_type is IssueType.bad_box for a in shifted)
    dropped = [a for a, e in zip(audits, manifest.entries, strict=True) if e.family is Family.dropped]
    assert all(a.label is None and a.box is not None for a in dropped)

    data = collect([AuditedSource(copy, copy / "manifest.json")], spec)
    known = [t for t in data.targets if t is not None]
    assert len(known) == len(data.findings) - data.targets.count(None)
    assert 0 < sum(known) <= len(manifest.entries) * 4  # credited flags (a label's flags share a target)
    assert all(g.startswith("0:0016/") for g in data.groups)


def test_sequence_frames_group_in_blocks() -> None:
    assert group_of("0016", 24, "0016/000024") == group_of("0016", 0, "0016/000000")
    assert group_of("0016", 25, "0016/000025") != group_of("0016", 24, "0016/000024")
    assert group_of(None, 3, "000003") == "000003"
