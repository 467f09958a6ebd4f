"""The auditors' queue over HTTP: claim, look, decide, release, skip, extend; and every way a decision
can be wrong (unknown verdict, no claim, an expired claim, twice), refused with nothing stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from api.ui.review_data import payload
from gtqa.domain import Finding, IssueType
from gtqa.spec import load_spec
from gtqa.storage import Role, build_review_items, chunk_ids, claim_chunk, finish_chunk
from gtqa.storage.models import AuditRow, GoldAnswerRow, ReviewItemRow

V1 = "/api/v1"


@pytest.fixture
def queued(api, kitti, ingest_root: Path) -> dict[str, int]:
    """A reviewed batch of 6 frames with 2 labels each and 3 flags queued (what workers would leave)."""
    kitti.small(ingest_root / "acme")
    ingested = api.client.post(
        f"{V1}/batches", json={"path": "acme", "vendor": "acme"}, headers=api.as_("ops")
    )
    job_id = ingested.json()["job"]["id"]
    spec = load_spec(None)
    flags = {
        "000000": [_flag("000000", "000000:0", IssueType.bad_box, 0.9)],
        "000001": [_flag("000001", "000001:1", IssueType.wrong_class, 0.6)],
        "000004": [_flag("000004", None, IssueType.missing_object, 0.3)],
    }
    with api.sessions.begin() as session:
        for chunk_id in chunk_ids(session, job_id):
            lease = claim_chunk(session, chunk_id, "worker", lease_s=60)
            assert lease is not None
            found = [f for key in lease.frame_keys for f in flags.get(key, [])]
            finish_chunk(session, chunk_id, "worker", found, spec)
        build_review_items(session, job_id, spec, spot_check_share=0.0)
    api.add_user("bob", Role.auditor)
    return {"job": job_id, "batch": ingested.json()["batch"]["id"]}


def _flag(frame: str, label: str | None, issue: IssueType, score: float) -> Finding:
    box = (587.0, 173.0, 614.0, 200.0)
    return Finding(
        frame=frame, label=label, type=issue, score=score, box=box, check="test_check",
        message="flagged by the test", rule_ids=("box-size", "not-a-rule"),
    )  # fmt: skip


def _next(api, who: str = "auditor") -> dict[str, Any]:
    response = api.client.post(f"{V1}/queue/next", headers=api.as_(who))
    assert response.status_code == 200, response.text
    context: dict[str, Any] = response.json()
    return context


def _decide(api, item_id: int, body: dict[str, Any], who: str = "auditor"):
    return api.client.post(f"{V1}/queue/items/{item_id}/decision", json=body, headers=api.as_(who))


def _item_state(api, item_id: int) -> tuple[str, str | None, int]:
    with api.sessions() as session:
        row = session.get_one(ReviewItemRow, item_id)
        audits = session.query(AuditRow).filter(AuditRow.item_id == item_id).count()
        return row.status.value, row.claimed_by, audits


def test_claim_gives_the_highest_priority_item_with_its_context(api, queued) -> None:
    ctx = _next(api)
    assert ctx["item"]["status"] == "claimed" and ctx["item"]["claimed_by"] == "auditor"
    assert ctx["finding"]["type"] == "bad_box" and ctx["label"]["id"] == "000000:0"
    assert [lb["id"] for lb in ctx["neighbours"]] == ["000000:1"]
    assert ctx["image_url"] is None and ctx["width"] is None  # labels-only data
    assert [r["id"] for r in ctx["rules"]] == ["box-size"] and ctx["rules"][0]["prose"]
    second = _next(api, "bob")
    assert second["finding"]["type"] == "wrong_class", "two auditors never get the same item"


def test_a_confirmed_defect_with_a_correction_is_stored_as_an_audit(api, queued) -> None:
    item_id = _next(api)["item"]["id"]
    body = {
        "verdict": "defect",
        "corrected": {"box": {"x1": 580, "y1": 170, "x2": 620, "y2": 205}},
        "seconds": 12,
    }
    response = _decide(api, item_id, body)
    assert response.status_code == 201, response.text
    audit = response.json()
    assert (audit["verdict"], audit["issue_type"], audit["auditor"]) == ("defect", "bad_box", "auditor")
    assert audit["corrected"]["id"] == "000000:0" and audit["corrected"]["cls"] == "Car"
    assert audit["corrected"]["box"] == {"x1": 580.0, "y1": 170.0, "x2": 620.0, "y2": 205.0}
    assert _item_state(api, item_id) == ("decided", "auditor", 1)
    counts = api.client.get(f"{V1}/queue", headers=api.as_("auditor")).json()
    assert counts == {"pending": 2, "claimed": 0, "decided": 1, "skipped": 0}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"verdict": "maybe"}, 422, "validation_error"),
        ({"verdict": "defect", "issue_type": "ugly"}, 422, "validation_error"),
        ({"verdict": "not_defect", "issue_type": "bad_box"}, 422, "invalid_decision"),
        ({"verdict": "unsure", "corrected": {"cls": "Van"}}, 422, "invalid_decision"),
        ({"verdict": "defect", "seconds": -1}, 422, "validation_error"),
        ({"verdict": "defect", "surprise": 1}, 422, "validation_error"),
    ],
)
def test_invalid_decisions_are_refused_and_the_claim_stays(
    api, queued, body: dict[str, Any], status: int, code: str
) -> None:
    item_id = _next(api)["item"]["id"]
    response = _decide(api, item_id, body)
    assert response.status_code == status and response.json()["error"]["code"] == code, response.text
    assert _item_state(api, item_id) == ("claimed", "auditor", 0)


def test_a_missing_object_correction_needs_a_class_and_a_box(api, queued) -> None:
    for _ in range(3):
        ctx = _next(api)
        if ctx["finding"]["type"] == "missing_object":
            break
    item_id = ctx["item"]["id"]
    response = _decide(api, item_id, {"verdict": "defect", "corrected": {"cls": "Car"}})
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_decision"
    box = {"x1": 10, "y1": 10, "x2": 50, "y2": 40}
    response = _decide(api, item_id, {"verdict": "defect", "corrected": {"cls": "Car", "box": box}})
    assert response.status_code == 201, response.text
    assert response.json()["corrected"]["id"] == f"000004:added-{item_id}"


def test_deciding_without_a_claim_is_a_conflict(api, queued) -> None:
    item_id = _next(api, "bob")["item"]["id"]
    response = _decide(api, item_id, {"verdict": "not_defect"})
    assert response.status_code == 409 and response.json()["error"]["code"] == "lease_lost"
    assert "claimed by bob" in response.json()["error"]["message"]
    assert _item_state(api, item_id) == ("claimed", "bob", 0)


def test_deciding_after_the_lease_expired_is_a_conflict(api, queued) -> None:
    item_id = _next(api)["item"]["id"]
    with api.sessions.begin() as session:
        past = datetime.now(UTC) - timedelta(seconds=1)
        session.execute(
            update(ReviewItemRow).where(ReviewItemRow.id == item_id).values(lease_expires_at=past)
        )
    response = _decide(api, item_id, {"verdict": "not_defect"})
    assert response.status_code == 409 and "expired" in response.json()["error"]["message"]
    assert _item_state(api, item_id) == ("claimed", "auditor", 0)
    assert (
        api.client.post(f"{V1}/queue/items/{item_id}/extend", headers=api.as_("auditor")).status_code == 409
    )


def test_deciding_twice_is_a_conflict_and_stores_one_audit(api, queued) -> None:
    item_id = _next(api)["item"]["id"]
    assert _decide(api, item_id, {"verdict": "not_defect"}).status_code == 201
    again = _decide(api, item_id, {"verdict": "defect"})
    assert again.status_code == 409 and "decided" in again.json()["error"]["message"]
    assert _item_state(api, item_id) == ("decided", "auditor", 1)


def test_release_skip_and_extend(api, queued) -> None:
    first = _next(api)["item"]
    released = api.client.post(f"{V1}/queue/items/{first['id']}/release", headers=api.as_("auditor"))
    assert released.json() == {"item_id": first["id"], "status": "pending"}
    assert _next(api, "bob")["item"]["id"] == first["id"], "a released item is claimable again"
    assert (
        api.client.post(f"{V1}/queue/items/{first['id']}/release", headers=api.as_("auditor")).status_code
        == 409
    )
    mine = _next(api)["item"]
    extended = api.client.post(f"{V1}/queue/items/{mine['id']}/extend", headers=api.as_("auditor")).json()
    assert datetime.fromisoformat(extended["lease_expires_at"]) >= datetime.fromisoformat(
        mine["lease_expires_at"]
    )
    skipped = api.client.post(
        f"{V1}/queue/items/{mine['id']}/skip", json={"reason": "no image"}, headers=api.as_("auditor")
    )
    assert skipped.json()["status"] == "skipped"
    assert api.client.post(f"{V1}/queue/items/999999/release", headers=api.as_("auditor")).status_code == 404


def test_an_empty_queue_answers_no_content(api, queued) -> None:
    for _ in range(3):
        _next(api)
    assert api.client.post(f"{V1}/queue/next", headers=api.as_("auditor")).status_code == 204


def test_auditors_read_only_what_they_review(api, queued) -> None:
    findings = api.client.get(f"{V1}/findings", headers=api.as_("auditor")).json()
    assert findings["total"] == 0, "an auditor sees no batch before working on it"
    assert api.client.get(f"{V1}/findings", headers=api.as_("ops")).json()["total"] == 3
    bobs = _next(api, "bob")["item"]["id"]
    assert api.client.get(f"{V1}/queue/items/{bobs}", headers=api.as_("auditor")).status_code == 404
    assert api.client.get(f"{V1}/queue/items/{bobs}", headers=api.as_("bob")).status_code == 200
    assert api.client.get(f"{V1}/queue/items/{bobs}", headers=api.as_("ops")).status_code == 200
    assert _decide(api, bobs, {"verdict": "not_defect"}, "bob").status_code == 201
    assert api.client.get(f"{V1}/findings", headers=api.as_("bob")).json()["total"] == 3
    assert api.client.get(f"{V1}/audits", headers=api.as_("auditor")).json()["total"] == 0
    assert api.client.get(f"{V1}/audits?auditor=bob", headers=api.as_("auditor")).json()["total"] == 0
    assert api.client.get(f"{V1}/audits", headers=api.as_("bob")).json()["total"] == 1
    assert api.client.get(f"{V1}/audits", headers=api.as_("spec_author")).json()["total"] == 1


def test_findings_filters_and_pages(api, queued) -> None:
    def total(query: str) -> int:
        response = api.client.get(f"{V1}/findings?{query}", headers=api.as_("ops"))
        assert response.status_code == 200, response.text
        return int(response.json()["total"])

    assert total("min_score=0.5") == 2
    assert total("type=missing_object") == 1
    assert total("frame=000001") == 1
    assert total("vendor=acme") == 3 and total("vendor=other") == 0
    assert total(f"batch_id={queued['batch']}&check=test_check") == 3
    page = api.client.get(f"{V1}/findings?limit=2&offset=1", headers=api.as_("ops")).json()
    assert [f["score"] for f in page["items"]] == [0.6, 0.3] and page["total"] == 3
    assert api.client.get(f"{V1}/findings?min_score=2", headers=api.as_("ops")).status_code == 422
    for query in ("min_scroe=0.9", "limit=1&limit=2"):  # a misspelt filter must not return everything
        refused = api.client.get(f"{V1}/findings?{query}", headers=api.as_("ops"))
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_query"


def test_batches_jobs_and_rebuilding_the_queue(api, queued) -> None:
    batches = api.client.get(f"{V1}/batches", headers=api.as_("spec_author")).json()
    assert [(b["id"], b["vendor"], b["frame_count"]) for b in batches] == [(queued["batch"], "acme", 6)]
    jobs = api.client.get(f"{V1}/jobs?batch_id={queued['batch']}&status=done", headers=api.as_("ops")).json()
    assert jobs["total"] == 1
    assert (jobs["items"][0]["progress"], jobs["items"][0]["findings_count"]) == (1.0, 3)
    assert api.client.get(f"{V1}/jobs?status=running", headers=api.as_("ops")).json()["total"] == 0
    _next(api)  # one item claimed: a rebuild keeps it
    rebuilt = api.client.post(f"{V1}/jobs/{queued['job']}/queue", headers=api.as_("ops")).json()
    assert rebuilt == {"job_id": queued["job"], "flags": 2, "spot_checks": 0, "removed": 2}
    counts = api.client.get(f"{V1}/queue?job_id={queued['job']}", headers=api.as_("ops")).json()
    assert counts == {"pending": 2, "claimed": 1, "decided": 0, "skipped": 0}


def test_an_auditor_holds_at_most_the_claim_cap(api, queued) -> None:
    api.app.state.settings = api.settings.model_copy(update={"max_claims_per_auditor": 2})
    first, _second = _next(api)["item"], _next(api)
    capped = api.client.post(f"{V1}/queue/next", headers=api.as_("auditor"))
    assert (capped.status_code, capped.json()["error"]["code"]) == (409, "claim_cap")
    assert _next(api, "bob")["item"], "the cap is per auditor: another may still claim"
    api.client.post(f"{V1}/queue/items/{first['id']}/release", headers=api.as_("auditor"))
    assert _next(api)["item"]["id"] == first["id"], "deciding or releasing one makes room"


def test_ops_return_skipped_items_to_the_queue(api, queued) -> None:
    item = _next(api)["item"]
    api.client.post(
        f"{V1}/queue/items/{item['id']}/skip", json={"reason": "no image"}, headers=api.as_("auditor")
    )
    assert _item_state(api, item["id"])[0] == "skipped"
    body = {"job_id": queued["job"]}
    returned = api.client.post(f"{V1}/queue/skipped/return", json=body, headers=api.as_("ops"))
    assert returned.status_code == 200 and returned.json() == {"returned": 1}
    assert _item_state(api, item["id"])[:2] == ("pending", None)
    assert _next(api, "bob")["item"]["id"] == item["id"], "a returned item is claimable again"
    again = api.client.post(f"{V1}/queue/skipped/return", headers=api.as_("ops"))
    assert again.json() == {"returned": 0}


def test_a_second_review_is_blind_in_the_api_and_the_review_page(api, queued) -> None:
    """With every decision sent to a second review: bob gets the item the auditor decided, and neither
    its API context nor its review page carries the first decision, while the first item's page does."""
    api.app.state.settings = api.settings.model_copy(update={"second_review_share": 1.0})
    first = _next(api)["item"]["id"]
    secret = "the first auditor thinks the box is too small"
    assert (
        _decide(api, first, {"verdict": "defect", "issue_type": "bad_box", "comment": secret}).status_code
        == 201
    )
    second = _next(api, "bob")
    assert second["item"]["id"] != first and second["item"]["frame"] == "000000"
    assert second["item"]["label"] == "000000:0" and second["item"]["kind"] == "flag"
    with api.sessions() as session:
        audit_id = session.scalars(select(AuditRow.id).where(AuditRow.item_id == first)).one()
        shown = payload(session, api.settings, second["item"]["id"], "bob", datetime.now(UTC))
        earlier = payload(session, api.settings, first, "ops", datetime.now(UTC))
    looked = api.client.get(f"{V1}/queue/items/{second['item']['id']}", headers=api.as_("bob")).text
    for text in (json.dumps(second), looked, shown.model_dump_json()):
        assert secret not in text and audit_id not in text
    assert shown.history == [] and [h.comment for h in earlier.history] == [secret]
    assert _decide(api, second["item"]["id"], {"verdict": "not_defect"}, "bob").status_code == 201
    audits = api.client.get(f"{V1}/audits?source=second_review", headers=api.as_("ops")).json()
    assert [(a["auditor"], a["verdict"]) for a in audits["items"]] == [("bob", "not_defect")]


def test_ops_seed_gold_items_from_a_csv_and_bad_lines_are_named(api, queued) -> None:
    csv_ = {"Content-Type": "text/csv", **api.as_("ops")}
    url = f"{V1}/queue/gold?job_id={queued['job']}"
    good = "frame,label,verdict,issue_type\n000002,000002:0,defect,bad_box\n000003,000003:1,not_defect,\n"
    seeded = api.client.post(url, content=good, headers=csv_)
    assert seeded.status_code == 201, seeded.text
    ids = seeded.json()["item_ids"]
    assert seeded.json()["read"] == 2 and len(ids) == 2
    bad = "frame,label,verdict\n000002,000002:0,defect\n000003,000003:1,maybe\n"
    refused = api.client.post(url, content=bad, headers=csv_)
    assert refused.status_code == 422 and "<upload>:3" in refused.json()["error"]["message"]
    unknown = api.client.post(url, content="frame,label,verdict\n000002,000002:7,defect\n", headers=csv_)
    assert unknown.status_code == 422 and "<upload>:2" in unknown.json()["error"]["message"]
    assert api.count(GoldAnswerRow) == 2
    shown = api.client.get(f"{V1}/queue/items/{ids[0]}", headers=api.as_("ops")).json()
    assert "gold" not in json.dumps(shown["item"])
    while (claimed := api.client.post(f"{V1}/queue/next", headers=api.as_("auditor"))).status_code == 200:
        item = claimed.json()["item"]
        assert _decide(api, item["id"], {"verdict": "not_defect"}).status_code == 201
    mine = api.client.get(f"{V1}/audits?limit=50", headers=api.as_("auditor")).json()["items"]
    assert len(mine) == 5 and {a["source"] for a in mine} == {"queue", "spot_check"}  # gold not told
    spots = api.client.get(f"{V1}/audits?source=spot_check", headers=api.as_("auditor")).json()["items"]
    assert sorted(a["label"] for a in spots) == ["000002:0", "000003:1"]  # unflagged: shown as spot checks
    for source in ("gold", "second_review"):
        assert api.client.get(f"{V1}/audits?source={source}", headers=api.as_("auditor")).json()["total"] == 0
    assert api.client.get(f"{V1}/audits?source=gold", headers=api.as_("ops")).json()["total"] == 2


def test_the_cli_seeds_gold_from_audit_jsonl_and_names_a_bad_line(
    api, queued, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from cli.main import app as cli
    from gtqa.settings import get_settings

    good = tmp_path / "gold.jsonl"
    good.write_text('{"id": "g1", "frame": "000002", "label": "000002:0", "verdict": "defect"}\n')
    bad = tmp_path / "bad.jsonl"
    bad.write_text('# known answers\n{"id": "g2", "frame": "000002", "verdict": "unsure"}\n')
    monkeypatch.setenv("GTQA_DATABASE_URL", api.settings.database_url)
    monkeypatch.setenv("GTQA_HOME", str(api.settings.home))
    get_settings.cache_clear()
    try:
        seeded = CliRunner().invoke(
            cli, ["gold", "seed", str(good), "--job", str(queued["job"]), "--no-migrate"]
        )
        refused = CliRunner().invoke(
            cli, ["gold", "seed", str(bad), "--job", str(queued["job"]), "--no-migrate"]
        )
    finally:
        get_settings.cache_clear()
    assert seeded.exit_code == 0, seeded.output
    (item_id,) = [int(line) for line in seeded.stdout.split()]
    with api.sessions() as session:
        assert session.get_one(GoldAnswerRow, item_id).verdict == "defect"
    assert refused.exit_code == 2 and f"{bad}:2" in refused.output and "Traceback" not in refused.output
