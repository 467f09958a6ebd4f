"""Ingestion through the API: by path under the ingest root, and by uploaded archive. Every refusal is a
clear 4xx and leaves no rows (and, for archives, no files) behind."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from gtqa.storage.models import BatchRow, FrameRow, JobChunkRow, LabelRow, ReviewJobRow

V1 = "/api/v1"
CAR = "Car 0.00 0 -1.58 587.01 173.33 614.12 200.12 1.65 1.67 3.64 -0.65 1.71 46.70 -1.59"
TABLES = (BatchRow, FrameRow, LabelRow, ReviewJobRow, JobChunkRow)


def _counts(api) -> tuple[int, ...]:
    return tuple(api.count(t) for t in TABLES)


def _zip(members: dict[str, bytes], *, links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return buffer.getvalue()


def _tar(members: dict[str, bytes], *, special: list[tarfile.TarInfo] = ()) -> bytes:  # type: ignore[assignment]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for info in special:
            tf.addfile(info)
    return buffer.getvalue()


def _dataset_members(kitti, tmp_path: Path, top: str = "kitti") -> dict[str, bytes]:
    folder = kitti.small(tmp_path / "src")
    return {f"{top}/label_2/{p.name}": p.read_bytes() for p in sorted((folder / "label_2").iterdir())}


def _upload(api, data: bytes, *, name: str = "delivery.zip", ctype: str = "application/zip", **fields):
    files = {"archive": (name, data, ctype)}
    return api.client.post(f"{V1}/batches/upload", files=files, data=fields, headers=api.as_("ops"))


def _refused(api, response, status: int, code: str, before: tuple[int, ...]) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    assert body["code"] == code, body
    assert _counts(api) == before, "a refused ingest stored rows"
    assert not any((api.settings.home / "ingest").glob("*/*")), "a refused upload left files behind"
    assert api.dispatcher.jobs == []
    return body


# --- by path ---------------------------------------------------------------------------------------


def test_path_ingest_stores_the_batch_and_its_job_and_enqueues_it(api, kitti, ingest_root: Path) -> None:
    kitti.small(ingest_root / "acme-0001")
    body = {"path": "acme-0001", "vendor": "acme", "team": "night shift", "due_date": "2026-12-01"}
    response = api.client.post(f"{V1}/batches", json=body, headers=api.as_("ops"))
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["batch"]["frame_count"] == 6 and result["batch"]["label_count"] == 12
    assert (result["batch"]["vendor"], result["batch"]["team"]) == ("acme", "night shift")
    assert result["job"]["chunks_total"] == 2 and result["job"]["status"] == "pending"
    assert result["enqueued"] is True and api.dispatcher.jobs == [result["job"]["id"]]
    assert _counts(api) == (1, 6, 12, 1, 2)


@pytest.mark.parametrize("path", ["../outside", "/etc", "acme/../../outside", "linked-out"])
def test_path_ingest_refuses_anything_outside_the_root(api, kitti, ingest_root: Path, path: str) -> None:
    kitti.small(ingest_root.parent / "outside")
    (ingest_root / "linked-out").symlink_to(ingest_root.parent / "outside")
    before = _counts(api)
    response = api.client.post(f"{V1}/batches", json={"path": path}, headers=api.as_("ops"))
    _refused(api, response, 422, "path_outside_root", before)


def test_path_ingest_refuses_a_label_file_linked_outside_the_root(api, kitti, ingest_root: Path) -> None:
    secret = ingest_root.parent / "secret.txt"
    secret.write_text("Car 0 0 0 1 1 2 2 1 1 1 1 1 1 0\n")
    folder = kitti.small(ingest_root / "acme")
    (folder / "label_2" / "000099.txt").symlink_to(secret)
    before = _counts(api)
    response = api.client.post(f"{V1}/batches", json={"path": "acme"}, headers=api.as_("ops"))
    body = _refused(api, response, 422, "path_outside_root", before)
    assert "label_2/000099.txt" in body["message"]


def test_path_ingest_refuses_predictions_outside_the_root(api, kitti, ingest_root: Path) -> None:
    kitti.small(ingest_root / "acme")
    before = _counts(api)
    body = {"path": "acme", "predictions": ["../../../etc/hostname"]}
    response = api.client.post(f"{V1}/batches", json=body, headers=api.as_("ops"))
    _refused(api, response, 422, "path_outside_root", before)


def test_path_ingest_of_a_missing_folder_or_without_a_root(api, settings) -> None:
    response = api.client.post(f"{V1}/batches", json={"path": "nothing-here"}, headers=api.as_("ops"))
    assert response.status_code == 422 and response.json()["error"]["code"] == "no_such_path"
    api.settings.ingest_root = None  # the app holds this very settings object
    response = api.client.post(f"{V1}/batches", json={"path": "nothing-here"}, headers=api.as_("ops"))
    assert response.status_code == 422 and response.json()["error"]["code"] == "path_ingest_disabled"


def test_a_malformed_record_rejects_the_whole_batch_with_its_file_and_line(
    api, kitti, ingest_root: Path
) -> None:
    folder = kitti.small(ingest_root / "acme")
    (folder / "label_2" / "000003.txt").write_text(f"{CAR}\nCar not a number\n")
    before = _counts(api)
    response = api.client.post(f"{V1}/batches", json={"path": "acme"}, headers=api.as_("ops"))
    body = _refused(api, response, 422, "invalid_dataset", before)
    assert body["details"][0]["where"] == "acme/label_2/000003.txt:2"
    assert str(ingest_root) not in response.text, "server paths leak into the report"
    response = api.client.post(
        f"{V1}/batches", json={"path": "acme", "allow_problems": True}, headers=api.as_("ops")
    )
    assert response.status_code == 201
    assert [p["line"] for p in response.json()["batch"]["problems"]] == [2]
    assert response.json()["batch"]["label_count"] == 12 - 1
    assert response.json()["batch"]["dropped"] == {"label": 1}  # recorded with the batch
    batch_id = response.json()["batch"]["id"]
    assert api.client.get(f"{V1}/batches/{batch_id}", headers=api.as_("ops")).json()["dropped"] == {
        "label": 1
    }


def test_unstorable_values_are_reported_not_half_stored(api, kitti, ingest_root: Path) -> None:
    long_class = "C" * 65  # longer than the class column: PostgreSQL would refuse the insert
    kitti.write(ingest_root / "acme", {"000000": [f"{long_class} 0.00 0 -1.58 1 1 20 20 1 1 1 1 1 10 0"]})
    before = _counts(api)
    response = api.client.post(f"{V1}/batches", json={"path": "acme"}, headers=api.as_("ops"))
    body = _refused(api, response, 422, "invalid_dataset", before)
    assert body["details"][0]["where"] == "acme/label_2/000000.txt:1"


@pytest.mark.parametrize(
    ("extra", "code"),
    [({"checks": ["no_such_check"]}, "unknown_check"), ({"spec": "no-such-spec"}, "unknown_spec")],
)
def test_unknown_checks_and_specs_are_refused(
    api, kitti, ingest_root: Path, extra: dict[str, Any], code: str
) -> None:
    kitti.small(ingest_root / "acme")
    before = _counts(api)
    response = api.client.post(f"{V1}/batches", json={"path": "acme", **extra}, headers=api.as_("ops"))
    _refused(api, response, 422, code, before)


def test_a_failed_enqueue_keeps_the_batch_and_can_be_retried(api, kitti, ingest_root: Path) -> None:
    from api.deps import get_dispatcher

    class Down:
        def enqueue_job(self, job_id: int) -> None:
            raise ConnectionError("broker down")

    api.app.dependency_overrides[get_dispatcher] = Down
    kitti.small(ingest_root / "acme")
    response = api.client.post(f"{V1}/batches", json={"path": "acme"}, headers=api.as_("ops"))
    assert response.status_code == 201
    assert response.json()["enqueued"] is False and "broker down" in response.json()["enqueue_error"]
    job_id = response.json()["job"]["id"]
    api.app.dependency_overrides[get_dispatcher] = lambda: api.dispatcher
    again = api.client.post(f"{V1}/jobs/{job_id}/enqueue", headers=api.as_("ops"))
    assert again.json()["enqueued"] is True and api.dispatcher.jobs == [job_id]


def test_a_job_says_how_the_workers_score_its_flags(api, kitti, ingest_root: Path) -> None:
    from api.spec_lookup import job_spec
    from gtqa.scoring.calibration import default_scorer

    kitti.small(ingest_root / "acme")
    ingested = api.client.post(f"{V1}/batches", json={"path": "acme"}, headers=api.as_("ops")).json()
    job = api.client.get(f"{V1}/jobs/{ingested['job']['id']}", headers=api.as_("ops")).json()
    spec = job_spec(api.settings, job["spec_hash"])
    assert job["scoring"] == default_scorer(spec, ingested["batch"]["format"]).note
    listed = api.client.get(f"{V1}/jobs", headers=api.as_("ops")).json()["items"]
    assert [j["scoring"] for j in listed] == [None], "the listing does not load specs"


def test_polling_a_job_reads_its_calibration_file_at_most_once(
    api, kitti, ingest_root: Path, calibration_reads: list[Path]
) -> None:
    kitti.small(ingest_root / "acme")
    ingested = api.client.post(f"{V1}/batches", json={"path": "acme"}, headers=api.as_("ops")).json()
    polls = [api.client.get(f"{V1}/jobs/{ingested['job']['id']}", headers=api.as_("ops")) for _ in range(3)]
    assert {p.json()["scoring"] for p in polls} != {None}
    assert len(calibration_reads) <= 1, "the spec's calibration file is read once, not on every poll"


# --- by upload -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_an_uploaded_archive_is_unpacked_under_home_and_stored(api, kitti, tmp_path: Path, kind: str) -> None:
    members = _dataset_members(kitti, tmp_path)
    data = _zip(members) if kind == "zip" else _tar(members)
    ctype = "application/zip" if kind == "zip" else "application/gzip"
    response = _upload(api, data, name=f"acme-0042.{kind}", ctype=ctype, vendor="acme")
    assert not list((api.settings.home / "ingest").glob("*/.unfinished")), "a stored upload is still marked"
    assert response.status_code == 201, response.text
    batch = response.json()["batch"]
    assert (batch["dataset"], batch["frame_count"], batch["vendor"]) == ("acme-0042", 6, "acme")
    unpacked = list((api.settings.home / "ingest").glob("*/files/kitti/label_2/*.txt"))
    assert len(unpacked) == 6
    assert api.dispatcher.jobs == [response.json()["job"]["id"]]


def test_octet_stream_is_accepted_when_the_bytes_are_an_archive(api, kitti, tmp_path: Path) -> None:
    data = _tar(_dataset_members(kitti, tmp_path))
    assert _upload(api, data, name="x.tgz", ctype="application/octet-stream").status_code == 201


@pytest.mark.parametrize(
    "name", ["../evil.txt", "kitti/../../evil.txt", "/tmp/evil.txt", "C:/evil.txt", "kitti\\..\\evil.txt"]
)
@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_unsafe_member_names_are_refused(api, kitti, tmp_path: Path, name: str, kind: str) -> None:
    members = {**_dataset_members(kitti, tmp_path), name: b"Car 0 0 0 1 1 2 2 1 1 1 1 1 1 0\n"}
    data = _zip(members) if kind == "zip" else _tar(members)
    before = _counts(api)
    body = _refused(api, _upload(api, data, ctype="application/octet-stream"), 422, "bad_archive", before)
    assert "unsafe member name" in body["message"]
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/evil.txt").exists()


def test_symlinks_and_hard_links_are_refused(api, kitti, tmp_path: Path) -> None:
    members = _dataset_members(kitti, tmp_path)
    before = _counts(api)
    zipped = _zip(members, links={"kitti/label_2/000009.txt": "/etc/passwd"})
    body = _refused(api, _upload(api, zipped), 422, "bad_archive", before)
    assert "symlink" in body["message"]
    for kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
        link = tarfile.TarInfo("kitti/label_2/000009.txt")
        link.type, link.linkname = kind, "/etc/passwd"
        response = _upload(api, _tar(members, special=[link]), name="x.tar.gz", ctype="application/gzip")
        assert "link" in _refused(api, response, 422, "bad_archive", before)["message"]


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_a_zip_bomb_stops_at_the_unpacked_limit(api, kitti, tmp_path: Path, kind: str) -> None:
    zeros = bytes(2 * 1024 * 1024)  # 2 MiB unpacked, a few KiB packed; the limit is 1 MiB
    members = {**_dataset_members(kitti, tmp_path), "kitti/padding.bin": zeros}
    data = _zip(members) if kind == "zip" else _tar(members)
    assert len(data) < api.settings.max_upload_bytes
    before = _counts(api)
    body = _refused(api, _upload(api, data, ctype="application/octet-stream"), 422, "bad_archive", before)
    assert "unpacks to more than" in body["message"] or "bytes unpacked, more than" in body["message"]


def test_too_many_members_are_refused(api) -> None:
    data = _zip({f"kitti/label_2/{i:06d}.txt": b"" for i in range(api.settings.max_archive_members + 1)})
    before = _counts(api)
    assert "members" in _refused(api, _upload(api, data), 422, "bad_archive", before)["message"]


def test_an_oversized_upload_is_refused(api) -> None:
    data = b"PK\x03\x04" + os.urandom(api.settings.max_upload_bytes + 1024)
    before = _counts(api)
    _refused(api, _upload(api, data), 413, "payload_too_large", before)


def test_a_chunked_upload_without_a_length_is_refused(api) -> None:
    headers = {**api.as_("ops"), "content-type": "multipart/form-data; boundary=x"}
    response = api.client.post(f"{V1}/batches/upload", content=iter([b"--x--\r\n"]), headers=headers)
    assert response.status_code == 411


@pytest.mark.parametrize(
    ("data", "ctype", "status", "code"),
    [
        (b"Car 0 0 0 1 1 2 2 1 1 1 1 1 1 0\n", "text/plain", 415, "unsupported_media_type"),
        (_tar({"kitti/label_2/000000.txt": b""}), "application/zip", 415, "unsupported_media_type"),
        (b"just some bytes", "application/octet-stream", 422, "bad_archive"),
        (b"PK\x03\x04" + b"\x00" * 100, "application/zip", 422, "bad_archive"),
        (_tar({"kitti/label_2/000000.txt": os.urandom(5000)})[:2000], "application/gzip", 422, "bad_archive"),
        (_zip({}), "application/zip", 422, "bad_archive"),
    ],
    ids=["text", "gzip-declared-zip", "not-an-archive", "corrupt-zip", "truncated-tar", "empty-zip"],
)
def test_wrong_types_and_malformed_archives_are_refused(
    api, data: bytes, ctype: str, status: int, code: str
) -> None:
    before = _counts(api)
    _refused(api, _upload(api, data, ctype=ctype), status, code, before)


def test_a_json_body_or_a_missing_file_is_refused(api) -> None:
    response = api.client.post(f"{V1}/batches/upload", json={"path": "x"}, headers=api.as_("ops"))
    assert response.status_code == 415
    form = {"vendor": "acme"}
    response = api.client.post(
        f"{V1}/batches/upload", data=form, files={"other": ("a", b"a")}, headers=api.as_("ops")
    )
    assert response.status_code == 422


def test_bad_form_fields_are_refused_before_unpacking(api, kitti, tmp_path: Path) -> None:
    data = _zip(_dataset_members(kitti, tmp_path))
    before = _counts(api)
    body = _refused(api, _upload(api, data, due_date="not a date"), 422, "validation_error", before)
    assert body["details"][0]["loc"] == ["due_date"]
    _refused(api, _upload(api, data, colour="blue"), 422, "validation_error", before)


def test_a_bad_label_file_in_an_archive_names_the_archive_member(api, kitti, tmp_path: Path) -> None:
    members = _dataset_members(kitti, tmp_path)
    members["kitti/label_2/000002.txt"] = b"Car 0.00 0\n"
    before = _counts(api)
    body = _refused(api, _upload(api, _zip(members)), 422, "invalid_dataset", before)
    assert body["details"][0]["where"] == "kitti/label_2/000002.txt:1"


def test_a_retry_with_the_same_idempotency_key_returns_the_first_batch(api, kitti, ingest_root: Path) -> None:
    kitti.small(ingest_root / "acme")
    headers = {**api.as_("ops"), "Idempotency-Key": "3f1c2b9e-delivery-0042"}
    first = api.client.post(f"{V1}/batches", json={"path": "acme"}, headers=headers)
    assert first.status_code == 201 and first.json()["replayed"] is False
    before = _counts(api)
    again = api.client.post(f"{V1}/batches", json={"path": "acme"}, headers=headers)
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert (again.json()["batch"]["id"], again.json()["job"]["id"]) == (
        first.json()["batch"]["id"], first.json()["job"]["id"]
    )  # fmt: skip
    assert _counts(api) == before and api.dispatcher.jobs == [first.json()["job"]["id"]]
    other = api.client.post(
        f"{V1}/batches", json={"path": "acme"}, headers={**api.as_("ops"), "Idempotency-Key": "another"}
    )
    assert other.status_code == 201 and other.json()["batch"]["id"] != first.json()["batch"]["id"]


def test_an_upload_retried_with_its_idempotency_key_is_not_read_again(api, kitti, tmp_path: Path) -> None:
    data = _zip(_dataset_members(kitti, tmp_path))
    files = {"archive": ("acme.zip", data, "application/zip")}
    headers = {**api.as_("ops"), "Idempotency-Key": "upload-1"}
    first = api.client.post(f"{V1}/batches/upload", files=files, headers=headers)
    assert first.status_code == 201, first.text
    again = api.client.post(f"{V1}/batches/upload", content=b"not even multipart", headers=headers)
    assert again.status_code == 200 and again.json()["batch"]["id"] == first.json()["batch"]["id"]
