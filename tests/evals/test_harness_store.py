"""The eval store (append-only runs and their index) and eval datasets (checksums, sources)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evals.harness.dataset import EvalDataset, audit_checksum, from_audits, from_file, from_store
from evals.harness.store import list_runs, load_run, save_run, trends
from evals.harness.testing import flag, make_run
from gtqa.domain import Audit, Box2D, Dataset, Frame, IssueType, Verdict
from gtqa.formats.audits import write_audits


def _audits() -> list[Audit]:
    return [
        Audit(id="a1", dataset="acme", frame="f1", label="f1:0", verdict=Verdict.defect,
              issue_type=IssueType.bad_box, box=Box2D(x1=0, y1=0, x2=10, y2=20)),
        Audit(id="a2", dataset="acme", frame="f2", label="f2:0", verdict=Verdict.not_defect),
        Audit(id="a3", dataset="other", frame="f2", label="f2:1", verdict=Verdict.not_defect),
        Audit(id="a4", dataset="other", frame="f2", label="f2:2", verdict=Verdict.not_defect),
    ]  # fmt: skip


def test_runs_are_stored_once_and_listed_with_headlines(tmp_path: Path) -> None:
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    items = [flag("f", "1", 0.9, 1), flag("f", "2", 0.8, 0)]
    first = make_run(items, run_id="r1", started_at=t0, prompts=[{"id": "review-flag", "version": 1}])
    second = make_run(items[:1], run_id="r2", started_at=t0 + timedelta(days=1),
                      prompts=[{"id": "review-flag", "version": 2}])  # fmt: skip
    for run in (second, first):
        save_run(run, tmp_path)
    with pytest.raises(FileExistsError):
        save_run(first, tmp_path)  # append-only: a run file is never replaced
    runs = list_runs(tmp_path)
    assert [r.id for r in runs] == ["r1", "r2"]  # oldest first
    assert runs[0].headline["precision"] == 0.5 and runs[1].headline["precision"] == 1.0
    assert runs[1].prompts == {"review-flag": 2}
    assert list_runs(tmp_path, audit_checksum="other") == []
    groups = trends(tmp_path)
    assert len(groups) == 2 and all("review-flag.v" in key for key in groups)
    assert load_run("r1", tmp_path) == first


def test_a_missing_store_lists_nothing_and_a_bad_line_is_skipped(tmp_path: Path) -> None:
    assert list_runs(tmp_path) == []
    save_run(make_run([flag("f", "1", 0.9, 1)], run_id="ok"), tmp_path)
    with (tmp_path / "evals" / "index.jsonl").open("a") as fh:
        fh.write("{not json\n")
    assert [r.id for r in list_runs(tmp_path)] == ["ok"]


def test_the_checksum_covers_the_audits_not_when_they_were_read() -> None:
    audits = _audits()
    later = [a.model_copy(update={"created_at": datetime(2030, 1, 1, tzinfo=UTC)}) for a in audits]
    assert audit_checksum(audits) == audit_checksum(list(reversed(later)))
    changed = [audits[0].model_copy(update={"verdict": Verdict.not_defect}), *audits[1:]]
    assert audit_checksum(changed) != audit_checksum(audits)
    assert audit_checksum(audits, ["f1"]) != audit_checksum(audits)


def test_vendors_and_restriction() -> None:
    evals = from_audits("t", _audits(), exhaustive=["f1", "f2"])
    assert evals.vendors() == {"f1": "acme", "f2": "other"}  # the frame's most common audit source
    half = evals.restricted(["f2"])
    assert half.frames == {"f2"} and half.exhaustive == {"f2"} and half.checksum != evals.checksum


def test_jsonl_audits_are_not_exhaustive_unless_said(tmp_path: Path) -> None:
    write_audits(tmp_path / "a.jsonl", _audits())
    data = Dataset(name="d", format="kitti", root=".", frames=(Frame(id="f1"), Frame(id="f2")))
    assert from_file(tmp_path / "a.jsonl", data).exhaustive == frozenset()
    assert from_file(tmp_path / "a.jsonl", data, exhaustive=True).exhaustive == {"f1", "f2"}


def test_the_review_queue_database_is_an_eval_dataset(tmp_path: Path) -> None:
    from gtqa.storage import import_audits, make_engine, make_session_factory, upgrade

    url = f"sqlite:///{tmp_path / 'gtqa.sqlite'}"
    upgrade(url)
    sessions = make_session_factory(make_engine(url))
    with sessions.begin() as session:
        import_audits(session, _audits())
    with sessions() as session:
        evals = from_store(session, name="queue")
    assert isinstance(evals, EvalDataset) and evals.sources == ("database:queue",)
    assert {a.id for a in evals.audits} == {"a1", "a2", "a3", "a4"}
    assert evals.checksum == from_audits("queue", _audits()).checksum
