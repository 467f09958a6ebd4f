"""Specs (read by everyone, uploaded by spec authors) and audit imports (all lines or none)."""

from __future__ import annotations

import json
from pathlib import Path

from gtqa.spec import SPECS_DIR, compile_spec
from gtqa.storage.models import AuditRow

V1 = "/api/v1"
SHIPPED = {"kitti", "bdd100k", "coco", "av2"}  # specs/*.md
MD = {"Content-Type": "text/markdown"}
JSONL = {"Content-Type": "application/x-ndjson"}


def _new_version() -> str:
    """The shipped spec as a new version with a stricter box-size rule (a different hash)."""
    text = (SPECS_DIR / "kitti.md").read_text()
    return text.replace("version: 1\n", "version: 2\n", 1).replace("spec: kitti\n", "spec: kitti-strict\n", 1)


def test_everyone_reads_the_compiled_spec(api) -> None:
    listed = api.client.get(f"{V1}/specs", headers=api.as_("auditor")).json()
    shipped = {compile_spec(path).name for path in SPECS_DIR.glob("*.md")}
    assert listed[0]["name"] == "kitti" and {s["name"] for s in listed} == shipped  # the default first
    assert [s["default"] for s in listed] == [True] + [False] * (len(listed) - 1)
    full = api.client.get(f"{V1}/specs/{listed[0]['hash'][:12]}", headers=api.as_("auditor")).json()
    assert full["hash"] == listed[0]["hash"] and "taxonomy" in [r["id"] for r in full["rules"]]
    assert all(r["prose"] is not None and r["line"] > 0 for r in full["rules"])
    by_name = api.client.get(f"{V1}/specs/kitti", headers=api.as_("auditor")).json()
    assert by_name["hash"] == full["hash"]
    assert (
        api.client.get(f"{V1}/specs/nope", headers=api.as_("auditor")).json()["error"]["code"]
        == "unknown_spec"
    )


def test_a_spec_author_uploads_a_version_that_batches_can_then_name(api, kitti, ingest_root: Path) -> None:
    response = api.client.post(
        f"{V1}/specs", content=_new_version(), headers={**MD, **api.as_("spec_author")}
    )
    assert response.status_code == 201, response.text
    uploaded = response.json()
    assert (uploaded["name"], uploaded["version"], uploaded["default"]) == ("kitti-strict", "2", False)
    assert (api.settings.home / "specs" / f"{uploaded['hash']}.md").is_file()
    names = {s["name"] for s in api.client.get(f"{V1}/specs", headers=api.as_("ops")).json()}
    assert names == {*SHIPPED, "kitti-strict"}
    kitti.small(ingest_root / "acme")
    ingested = api.client.post(
        f"{V1}/batches", json={"path": "acme", "spec": "kitti-strict"}, headers=api.as_("ops")
    ).json()
    assert ingested["job"]["spec_hash"] == uploaded["hash"] and ingested["batch"]["spec_version"] == "2"


def test_an_invalid_spec_is_refused_with_file_and_line(api) -> None:
    broken = _new_version().replace("kind: taxonomy", "kind: taxonomie", 1)
    response = api.client.post(f"{V1}/specs", content=broken, headers={**MD, **api.as_("admin")})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_spec" and error["details"][0].startswith("spec.md:")
    assert "unknown kind 'taxonomie'" in error["details"][0]
    names = {s["name"] for s in api.client.get(f"{V1}/specs", headers=api.as_("admin")).json()}
    assert names == SHIPPED, "an invalid spec is not kept"


def test_spec_uploads_need_markdown_within_the_limit(api) -> None:
    headers = api.as_("spec_author")
    json_body = api.client.post(f"{V1}/specs", json={"spec": "x"}, headers=headers)
    assert json_body.status_code == 415
    huge = api.client.post(f"{V1}/specs", content="x" * ((1 << 20) + 1), headers={**MD, **headers})
    assert huge.status_code == 413
    not_utf8 = api.client.post(f"{V1}/specs", content=b"\xff\xfe", headers={**MD, **headers})
    assert not_utf8.status_code == 422


def _audit(audit_id: str, **extra: object) -> str:
    record = {
        "id": audit_id,
        "frame": "000001",
        "label": "000001:0",
        "verdict": "defect",
        "issue_type": "bad_box",
    }
    return json.dumps({**record, "created_at": "2026-11-26T10:00:00Z", **extra})


def test_audits_import_all_or_nothing(api) -> None:
    good = "\n".join(
        ["# past audits", _audit("a-1"), "", _audit("a-2", verdict="not_defect", issue_type=None)]
    )
    response = api.client.post(f"{V1}/audits/import", content=good, headers={**JSONL, **api.as_("ops")})
    assert response.json() == {"read": 2, "stored": 2}
    again = api.client.post(f"{V1}/audits/import", content=good, headers={**JSONL, **api.as_("ops")})
    assert again.json() == {"read": 2, "stored": 0}, "ids already stored are left alone"
    listed = api.client.get(f"{V1}/audits?source=imported", headers=api.as_("spec_author")).json()
    assert [a["id"] for a in listed["items"]] == ["a-1", "a-2"]


def test_a_bad_audit_line_rejects_the_file_with_its_line(api) -> None:
    lines = [
        _audit("b-1"),
        _audit("b-2", verdict="maybe"),
        _audit("b" * 65),  # longer than the id column
        _audit("b-4", created_at="2026-11-26T10:00:00"),  # no time zone
        _audit("b-5", comment="nul\u0000byte"),
        "not json",
    ]
    before = api.count(AuditRow)
    response = api.client.post(
        f"{V1}/audits/import", content="\n".join(lines), headers={**JSONL, **api.as_("ops")}
    )
    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert [d["line"] for d in details] == [2, 3, 4, 5, 6]
    assert "verdict" in details[0]["message"] and "longer than 64" in details[1]["message"]
    assert api.count(AuditRow) == before


def test_an_audit_import_names_an_existing_batch_and_text(api) -> None:
    headers = {**JSONL, **api.as_("ops")}
    response = api.client.post(f"{V1}/audits/import?batch_id=4242", content=_audit("c-1"), headers=headers)
    assert response.status_code == 422 and response.json()["error"]["code"] == "unknown_batch"
    response = api.client.post(f"{V1}/audits/import", content=_audit("c-1"), headers={**api.as_("ops")})
    assert response.status_code == 415
    assert api.count(AuditRow) == 0
