"""The whole path on real KITTI data, on SQLite and on PostgreSQL: ingest through the API, review with
the workers' own chunk function (``workers.review.review_chunk``, what the Celery task runs, called
here in-process), then audit in the queue and export findings, audits and corrected labels."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from gtqa.domain import Finding
from gtqa.formats import load_dataset
from gtqa.formats.audits import read_audits
from gtqa.settings import Settings
from gtqa.storage import chunk_ids
from workers.review import review_chunk
from workers.runtime import WorkerRuntime

V1 = "/api/v1"
NEW_BOX = {"x1": 100.0, "y1": 120.0, "x2": 160.0, "y2": 240.0}


@pytest.fixture
def settings(
    tmp_path: Path, database_url: str, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)  # the heuristic review only: no judge endpoint
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        ingest_root=shared_data,
        chunk_size=8,
        spot_check_share=0.05,
        second_review_share=0.0,
        judge_api_key=None,
        judge_base_url=None,
    )


def _run_workers(settings: Settings, api, job_id: int) -> None:
    runtime = WorkerRuntime(settings)
    try:
        with api.sessions() as session:
            pending = chunk_ids(session, job_id)
        for chunk_id in pending:
            assert review_chunk(runtime, chunk_id, "test-worker").status == "done"
    finally:
        runtime.close()


def _get(api, url: str, who: str = "ops"):
    response = api.client.get(url, headers=api.as_(who))
    assert response.status_code == 200, response.text
    return response


def test_ingest_review_audit_export(api, settings: Settings, tmp_path: Path) -> None:
    body = {"path": "kitti_object", "predictions": ["predictions/box2d.list"], "vendor": "kitti", "team": "a"}
    ingested = api.client.post(f"{V1}/batches", json=body, headers=api.as_("ops"))
    assert ingested.status_code == 201, ingested.text
    job_id = ingested.json()["job"]["id"]
    assert ingested.json()["job"]["chunks_total"] == 3 and api.dispatcher.jobs == [job_id]

    _run_workers(settings, api, job_id)
    job = _get(api, f"{V1}/jobs/{job_id}").json()
    assert (job["status"], job["progress"], job["frames_done"]) == ("done", 1.0, 17)
    assert job["findings_count"] > 0
    counts = _get(api, f"{V1}/queue").json()
    assert counts["pending"] >= job["findings_count"], "the worker built the queue when the job completed"

    first = api.client.post(f"{V1}/queue/next", headers=api.as_("auditor")).json()
    assert first["width"] and first["height"] and first["image_url"]
    image = _get(api, first["image_url"], "auditor")
    assert image.headers["content-type"] == "image/png" and image.content.startswith(b"\x89PNG")
    if first["label"] is None:  # a missing object: the correction adds a label
        correction = {"cls": first["finding"]["cls"] or "Car", "box": NEW_BOX}
    else:
        correction = {"box": NEW_BOX}
    issue = first["finding"]["type"] if first["finding"] else "bad_box"  # a spot check has no flag
    decided = api.client.post(
        f"{V1}/queue/items/{first['item']['id']}/decision",
        json={"verdict": "defect", "issue_type": issue, "corrected": correction, "seconds": 9.5},
        headers=api.as_("auditor"),
    )
    assert decided.status_code == 201, decided.text
    second = api.client.post(f"{V1}/queue/next", headers=api.as_("auditor")).json()
    rejected = api.client.post(
        f"{V1}/queue/items/{second['item']['id']}/decision",
        json={"verdict": "not_defect"},
        headers=api.as_("auditor"),
    )
    assert rejected.status_code == 201

    _check_findings_exports(api, job_id, job["findings_count"])
    _check_audit_exports(api, tmp_path)
    _check_corrected_labels(api, ingested.json()["batch"]["id"], decided.json(), tmp_path)
    _check_cli_export_gives_the_same_bytes(settings, tmp_path)
    _check_metrics(api, first["finding"], second["finding"])


def _check_findings_exports(api, job_id: int, expected: int) -> None:
    lines = _get(api, f"{V1}/exports/findings.jsonl?job_id={job_id}", "spec_author").text.splitlines()
    findings = [Finding.model_validate_json(line) for line in lines]
    assert len(findings) == expected
    assert list(json.loads(lines[0]))[:7] == ["frame", "label", "type", "score", "box", "check", "message"]
    rows = list(csv.DictReader(io.StringIO(_get(api, f"{V1}/exports/findings.csv?job_id={job_id}").text)))
    assert len(rows) == expected and {r["frame"] for r in rows} == {f.frame for f in findings}
    page = _get(api, f"{V1}/findings?job_id={job_id}&limit=5").json()
    assert page["total"] == expected and len(page["items"]) == 5
    scores = [f["priority"] for f in page["items"]]
    assert scores == sorted(scores, reverse=True)


def _check_audit_exports(api, tmp_path: Path) -> None:
    exported = tmp_path / "audits.jsonl"
    exported.write_text(_get(api, f"{V1}/exports/audits.jsonl").text)
    audits = read_audits(exported)
    assert sorted(a.verdict.value for a in audits) == ["defect", "not_defect"]
    assert {a.auditor for a in audits} == {"auditor"} and {a.source.value for a in audits} <= {
        "queue",
        "spot_check",
    }
    rows = list(csv.DictReader(io.StringIO(_get(api, f"{V1}/exports/audits.csv").text)))
    assert sorted(r["verdict"] for r in rows) == ["defect", "not_defect"]


def _check_corrected_labels(api, batch_id: int, audit: dict[str, Any], tmp_path: Path) -> None:
    response = _get(api, f"{V1}/exports/batches/{batch_id}/labels.zip")
    assert response.headers["content-type"] == "application/zip"
    out = tmp_path / "corrected"
    zipfile.ZipFile(io.BytesIO(response.content)).extractall(out)
    manifest = json.loads((out / "corrections.json").read_text())
    applied = {a["audit"]: a for a in manifest["applied"]}
    assert applied[audit["id"]]["action"] in ("replaced", "added")
    written_id = manifest["label_ids"][applied[audit["id"]]["label"]]
    corrected = load_dataset(out, "kitti")
    assert len(corrected.frames) == 17
    label = next(lb for lb in corrected.labels() if lb.id == written_id)
    assert label.box.model_dump() == NEW_BOX


def _check_cli_export_gives_the_same_bytes(settings: Settings, tmp_path: Path) -> None:
    """``gtqa export`` with the audits the API exported writes the zip's files, byte for byte (one
    writer); labels no audit changed are the source's own bytes."""
    out = tmp_path / "cli-export"
    assert settings.ingest_root is not None
    source = settings.ingest_root / "kitti_object"
    args = ["export", str(source), "--audits", str(tmp_path / "audits.jsonl"), "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert _files(out) == _files(tmp_path / "corrected")
    changed = json.loads((out / "corrections.json").read_text())["applied"][0]["frame"]
    untouched = {k: v for k, v in _files(source / "label_2").items() if k != f"{changed}.txt"}
    assert untouched.items() <= {k: v for k, v in _files(out / "label_2").items()}.items()


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _check_metrics(api, confirmed: dict[str, Any] | None, rejected: dict[str, Any] | None) -> None:
    summary = _get(api, f"{V1}/metrics/summary").json()
    assert summary["audits"]["total"] == 2 and summary["queue"]["decided"] == 2
    by_type = {p["type"]: p for p in summary["precision"]}
    flags = [(f["type"], "defect") for f in [confirmed] if f] + [
        (f["type"], "not_defect") for f in [rejected] if f
    ]
    for issue, verdict in flags:  # spot checks are not flags: they count for recall, not precision
        assert by_type[issue][verdict] >= 1
    assert sum(p["defect"] + p["not_defect"] for p in summary["precision"]) == len(flags)
    text = _get(api, "/metrics").text
    assert 'gtqa_queue_items{status="decided"} 2.0' in text
    assert 'gtqa_review_jobs{status="done"} 1.0' in text
    # the job's three chunks were reviewed by a worker: their wall times, and no judge (none configured)
    gauges = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines() if line[:1] != "#"}
    assert 0 < gauges['gtqa_chunk_seconds{quantile="0.5"}'] <= gauges['gtqa_chunk_seconds{quantile="0.99"}']
    assert gauges["gtqa_judge_calls"] == 0.0 and gauges["gtqa_judge_cost_usd"] == 0.0
