"""Batch acceptance on the dashboard and the vendor report: the vendor's plan from the settings, the
decision from the batch's spot checks, checked against the hand-computed boundaries of
tests/gtqa/scoring/test_acceptance.py (AQL 1%, LTPD 5%: two defects in the first spot checks reject,
and 55 clean ones would accept)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

import pytest

from api.ui.dashboard.board import build
from gtqa.domain import IssueType, Verdict
from gtqa.scoring.acceptance import Decision
from gtqa.storage import ItemKind, claim_next, decide
from gtqa.storage.types import utcnow


def _spot_checks_found(site: Any, defective: int) -> None:
    """Claim in queue order until ``defective`` spot checks were found defective (flags rejected)."""
    found = 0
    while found < defective:
        with site.sessions.begin() as session:
            item = claim_next(session, "ann", lease_s=600)
            assert item is not None
            if item.kind == ItemKind.spot_check:
                decide(session, item.id, "ann", Verdict.defect, issue_type=IssueType.bad_box, seconds=9.0)
                found += 1
            else:
                decide(session, item.id, "ann", Verdict.not_defect, seconds=6.0)


@pytest.fixture
def delivered(store: Any) -> Any:
    store.settings.vendor_quality_levels = {"acme": (0.01, 0.05)}
    store.seed(name="east", frames=24, labels=10, spot_check_share=0.05, vendor="acme")
    store.seed(name="west", frames=24, labels=10, spot_check_share=0.05, vendor="zenith")
    return store


def test_two_defective_spot_checks_reject_a_batch_under_its_vendors_plan(delivered: Any) -> None:
    with delivered.sessions() as session:
        before = {r.batch.vendor: r for r in build(session, utcnow(), delivered.settings).acceptance}
    assert before["acme"].sprt.decision == Decision.keep_sampling and before["acme"].audited == 0
    assert (before["acme"].single.n, before["acme"].single.c) == (132, 3)  # the hand-computed plan
    assert (before["zenith"].plan.aql, before["zenith"].plan.ltpd) == (0.02, 0.08)  # the defaults
    _spot_checks_found(delivered, 4)
    with delivered.sessions() as session:
        after = {r.batch.vendor: r for r in build(session, utcnow(), delivered.settings).acceptance}
    # acme (1%, 5%): each defect adds ln 5 = 1.609, two reach ln 18 = 2.890; zenith (2%, 8%): ln 4 = 1.386,
    # three are needed. Of the 4 defects one batch has enough.
    needed = {"acme": 2, "zenith": 3}
    for vendor, row in after.items():
        reject = row.defects >= needed[vendor]
        assert row.sprt.decision == (Decision.reject if reject else Decision.keep_sampling), vendor
    assert any(row.sprt.decision == Decision.reject for row in after.values())
    acme = after["acme"]
    assert acme.defects == acme.audited and acme.defects_by_type.get("bad_box") == acme.defects
    assert acme.single_decision == (Decision.reject if acme.defects > 3 else Decision.keep_sampling)


@pytest.mark.browser
def test_the_vendor_report_is_served_as_html_and_csv(
    delivered: Any, page: Any, console: Any, login: Any, tmp_path: Path
) -> None:
    from tests.ui.conftest import serve

    _spot_checks_found(delivered, 4)
    with delivered.sessions() as session:
        rows = {r.batch.id: r for r in build(session, utcnow(), delivered.settings).acceptance}
    with serve(delivered.settings) as delivered.url:
        login(page, delivered, "ops")
        assert page.locator("#acceptance tbody tr").count() == len(rows)
        shots = Path(os.environ.get("GTQA_SCREENSHOT_DIR") or tmp_path)
        page.locator("section[aria-labelledby=acceptance-h]").screenshot(path=str(shots / "acceptance.png"))
        batch_id, row = next(iter(rows.items()))
        page.goto(f"{delivered.url}/ui/batches/{batch_id}/acceptance")
        assert page.locator("[data-decision=sprt]").inner_text() == row.sprt.decision.value
        assert "AQL" in page.locator("main").inner_text()
        page.screenshot(path=str(shots / "acceptance-report.png"), full_page=True)
        response = page.request.get(f"{delivered.url}/ui/batches/{batch_id}/acceptance.csv")
        assert response.ok and response.headers["content-type"].startswith("text/csv")
        got = {r["metric"]: r["value"] for r in csv.DictReader(io.StringIO(response.text()))}
        assert got["sprt_decision"] == row.sprt.decision.value
        assert int(got["spot_checks_decided"]) == row.audited and int(got["defects"]) == row.defects
        assert page.request.get(f"{delivered.url}/ui/batches/999999/acceptance").status == 404
    assert console.errors == []
