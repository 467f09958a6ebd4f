"""Failed chunks are visible per job and ops can re-run them: through the API and the ``gtqa jobs`` CLI."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from api.app import API_PREFIX as V1
from cli.main import app as cli
from gtqa.storage import ChunkStatus, claim_chunk, fail_chunk, job_chunks

runner = CliRunner()


def _job_with_a_failed_chunk(api, kitti, ingest_root: Path) -> tuple[int, int]:
    kitti.small(ingest_root / "acme")
    response = api.client.post(f"{V1}/batches", json={"path": "acme"}, headers=api.as_("ops"))
    job_id = response.json()["job"]["id"]
    with api.sessions.begin() as session:
        chunk_id = job_chunks(session, job_id)[0].id
        claim_chunk(session, chunk_id, "w/1", lease_s=60)
        fail_chunk(session, chunk_id, "w/1", "ValueError: a bad frame", retry=False)
    api.dispatcher.jobs.clear()
    return job_id, chunk_id


def test_a_jobs_failed_chunks_are_listed_with_their_error(api, kitti, ingest_root: Path) -> None:
    job_id, chunk_id = _job_with_a_failed_chunk(api, kitti, ingest_root)
    every = api.client.get(f"{V1}/jobs/{job_id}/chunks", headers=api.as_("spec_author")).json()
    assert [c["status"] for c in every] == ["failed", "pending"]
    failed = api.client.get(f"{V1}/jobs/{job_id}/chunks?status=failed", headers=api.as_("ops")).json()
    assert [(c["id"], c["attempts"], c["last_error"]) for c in failed] == [
        (chunk_id, 1, "ValueError: a bad frame")
    ]
    assert api.client.get(f"{V1}/jobs/999999/chunks", headers=api.as_("ops")).status_code == 404


def test_ops_re_run_the_failed_chunks_with_fresh_attempts(api, kitti, ingest_root: Path) -> None:
    job_id, chunk_id = _job_with_a_failed_chunk(api, kitti, ingest_root)
    response = api.client.post(f"{V1}/jobs/{job_id}/chunks/rerun", headers=api.as_("ops"))
    assert response.status_code == 200, response.text
    assert (response.json()["requeued"], response.json()["enqueued"]) == ([chunk_id], True)
    assert api.dispatcher.jobs == [job_id]
    with api.sessions() as session:
        chunk = job_chunks(session, job_id)[0]
    assert (chunk.status, chunk.attempts) == (ChunkStatus.pending, 0)
    again = api.client.post(f"{V1}/jobs/{job_id}/chunks/rerun", headers=api.as_("ops")).json()
    assert (again["requeued"], again["enqueued"]) == ([], False)


def test_the_cli_lists_and_re_runs_failed_chunks(api, kitti, ingest_root: Path, monkeypatch) -> None:
    job_id, chunk_id = _job_with_a_failed_chunk(api, kitti, ingest_root)
    monkeypatch.setenv("GTQA_DATABASE_URL", api.settings.database_url)
    monkeypatch.setenv("GTQA_HOME", str(api.settings.home))
    monkeypatch.setattr("cli.jobs.enqueue", lambda job, total: print(f"sent {job}"))
    from gtqa.settings import get_settings

    get_settings.cache_clear()
    try:
        listed = runner.invoke(cli, ["jobs", "chunks", str(job_id), "--failed", "--no-migrate"])
        assert listed.exit_code == 0, listed.output
        assert listed.stdout.splitlines() == [
            f"chunk {chunk_id}\tseq 0\tfailed\t1 attempts\t4 frames\t0 findings\tValueError: a bad frame"
        ]
        rerun = runner.invoke(cli, ["jobs", "rerun", str(job_id), "--no-migrate"])
        assert rerun.exit_code == 0, rerun.output
        assert f"chunks {chunk_id} back to pending" in rerun.stdout and f"sent {job_id}" in rerun.stdout
        missing = runner.invoke(cli, ["jobs", "rerun", "999999", "--no-migrate"])
        assert missing.exit_code == 2 and "Traceback" not in missing.output
    finally:
        get_settings.cache_clear()
