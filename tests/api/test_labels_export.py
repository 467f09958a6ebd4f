"""The corrected-labels export of a batch (``labels.zip``): the delivery's own bytes, from its folder or,
once that is gone, from the copy kept at ingest; refused (409), never degraded, when neither is there."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

from tests.gtqa.av2_synthetic import LOG, SyntheticLog, moving_scene, write_log

V1 = "/api/v1"


def _zip_files(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        return {name: zf.read(name) for name in zf.namelist() if name != "corrections.json"}


def _label_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / "label_2").iterdir())}


def test_the_export_uses_the_kept_source_once_the_delivery_is_gone(api, kitti, ingest_root: Path) -> None:
    source = kitti.write(ingest_root / "acme", {"000001": [_CAR], "000002": [_CAR]})
    (source / "label_2" / "000001.txt").write_bytes(f"{_CAR}\r\nnot a label\r\n{_CAR}".encode())
    body = {"path": "acme", "allow_problems": True}
    batch = api.client.post(f"{V1}/batches", json=body, headers=api.as_("ops")).json()["batch"]
    url = f"{V1}/exports/batches/{batch['id']}/labels.zip"
    expected = _label_files(source)
    first = api.client.get(url, headers=api.as_("ops"))
    assert first.status_code == 200 and _zip_files(first.content) == expected
    shutil.rmtree(source)
    kept = api.client.get(url, headers=api.as_("ops"))
    assert kept.status_code == 200, kept.text
    assert _zip_files(kept.content) == expected  # byte for byte, the rejected line and CRLF included
    shutil.rmtree(api.settings.home / "sources")
    refused = api.client.get(url, headers=api.as_("ops"))
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "source_unavailable"
    assert "source files are gone" in refused.json()["error"]["message"]


_CAR = "Car 0.00 0 -1.58 587.01 173.33 614.12 200.12 1.65 1.67 3.64 -0.65 1.71 46.70 -1.59"


def test_an_av2_batch_exports_its_annotations_feather_from_the_delivery_or_the_kept_copy(
    api, ingest_root: Path
) -> None:
    log = write_log(ingest_root / "logs", SyntheticLog(moving_scene(4)))
    body = {"path": "logs", "allow_problems": True}
    created = api.client.post(f"{V1}/batches", json=body, headers=api.as_("ops"))
    assert created.status_code in (200, 201), created.text
    batch = created.json()["batch"]
    assert batch["format"] == "av2"
    url = f"{V1}/exports/batches/{batch['id']}/labels.zip"
    expected = {f"{LOG}/annotations.feather": (log / "annotations.feather").read_bytes()}
    first = api.client.get(url, headers=api.as_("ops"))
    assert first.status_code == 200 and _zip_files(first.content) == expected
    shutil.rmtree(ingest_root / "logs")
    kept = api.client.get(url, headers=api.as_("ops"))
    assert kept.status_code == 200, kept.text
    assert _zip_files(kept.content) == expected
