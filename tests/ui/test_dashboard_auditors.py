"""Auditor quality on the dashboard: every decision goes to a blind second review; ann and ben agree on
3 of 4 items (kappa 1/2, hand-computed below), cat and dan on none of 8 (kappa -1: low); ann answers one
of two gold items right. The auditors table and its CSV rows carry each figure with its interval and n,
and flag the low ones; then the page itself in Chromium (the docs/ screenshot)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from api.ui.dashboard.board import build
from api.ui.dashboard.page import csv_rows
from gtqa.domain import GoldAnswer, IssueType, Verdict
from gtqa.scoring.estimates import wilson
from gtqa.storage import ItemPurpose, claim_next, decide, item_context, seed_gold
from gtqa.storage.models import AuditRow, ReviewItemRow
from gtqa.storage.types import utcnow

SCREENSHOTS = os.environ.get("GTQA_SCREENSHOT_DIR")  # set to docs/ to refresh the picture
DEFECT, FINE = (Verdict.defect, IssueType.bad_box), (Verdict.not_defect, None)


def _first(site: Any, auditor: str, answers: list[tuple[Verdict, IssueType | None]]) -> None:
    for verdict, issue in answers:
        with site.sessions.begin() as session:
            item = claim_next(session, auditor, lease_s=600)
            assert item is not None
            decide(
                session, item.id, auditor, verdict, issue_type=issue, seconds=10.0, second_review_share=1.0
            )


def _second(site: Any, auditor: str, n: int, answer: Any) -> None:
    """``n`` second reviews by ``auditor`` (they are at the head of the queue), each answered
    ``answer(the first decision's verdict)``."""
    for _ in range(n):
        with site.sessions.begin() as session:
            item = claim_next(session, auditor, lease_s=600)
            assert item is not None and item_context(session, item.id).purpose == ItemPurpose.second_review
            first = session.scalar(
                select(AuditRow.verdict)
                .join(ReviewItemRow, ReviewItemRow.review_of == AuditRow.item_id)
                .where(ReviewItemRow.id == item.id)
            )
            verdict, issue = answer(first)
            decide(session, item.id, auditor, verdict, issue_type=issue, seconds=20.0)


def _gold(site: Any, job_id: int, labels: list[tuple[str, str]]) -> None:
    """Gold items (known answer: not a defect) decided by ann, the first right and the second wrong."""
    known = [GoldAnswer(frame=f, label=lb, verdict=Verdict.not_defect) for f, lb in labels]
    with site.sessions.begin() as session:
        gold = seed_gold(session, job_id, known, every=1)
    while gold:
        with site.sessions.begin() as session:
            item = claim_next(session, "ann", lease_s=600)
            assert item is not None
            wrong = item.id in gold and len(gold) == 1
            verdict, issue = DEFECT if wrong else FINE
            decide(session, item.id, "ann", verdict, issue_type=issue, seconds=10.0)
            gold = [g for g in gold if g != item.id]


@pytest.fixture
def rated(store: Any) -> Any:
    delivery = store.seed(name="north", frames=24, labels=3)
    _first(store, "ann", [DEFECT, DEFECT, FINE, FINE])
    defects_seen: list[int] = []

    def ben(first: Verdict) -> tuple[Verdict, IssueType | None]:
        """Agrees on the first of ann's two defects, not the second; on both of her rejections."""
        if first != Verdict.defect:
            return FINE
        defects_seen.append(1)
        return DEFECT if len(defects_seen) == 1 else FINE

    _second(store, "ben", 4, ben)
    _first(store, "cat", [DEFECT, FINE] * 4)
    _second(store, "dan", 8, lambda first: FINE if first == Verdict.defect else DEFECT)
    _gold(store, delivery.job_id, [(f.id, f.labels[2].id) for f in delivery.frames[-2:]])
    return store


def test_the_auditors_table_has_hand_computed_kappa_and_gold_accuracy(rated: Any) -> None:
    """ann against ben: p_o = 3/4, p_e = 1/2 x 1/4 + 1/2 x 3/4 = 1/2, kappa = 1/2 (n = 4). cat against
    dan: p_o = 0, p_e = 1/2, kappa = -1 (n = 8). Calling bad_box over the 12 pairs: first answers 6/12,
    second 5/12, agreeing on 3: kappa = (1/4 - 1/2) / (1 - 1/2) = -1/2. ann's gold: 1 of 2."""
    with rated.sessions() as session:
        board = build(session, utcnow(), rated.settings)
    rows = {a.name: a for a in board.auditors}
    for name, kappa, n in (("ann", 0.5, 4), ("ben", 0.5, 4), ("cat", -1.0, 8), ("dan", -1.0, 8)):
        k = rows[name].kappa
        assert k is not None and k.value == pytest.approx(kappa) and k.n == n and k.low <= kappa <= k.high
    assert [rows[n].agreement for n in ("ann", "ben", "cat", "dan")] == ["watch", "watch", "low", "low"]
    gold = rows["ann"].gold
    assert gold is not None and (gold.value, gold.n) == (0.5, 2) and (gold.low, gold.high) == wilson(0.5, 2)
    assert rows["ann"].gold_flag == "watch" and rows["ben"].gold is None and rows["ben"].gold_flag == ""
    assert rows["ben"].decisions == 4 and rows["ben"].per_hour == pytest.approx(3600 / 20)
    by_type = board.quality.by_type
    assert set(by_type) == {"bad_box"} and by_type["bad_box"] is not None
    assert by_type["bad_box"].value == pytest.approx(-0.5) and by_type["bad_box"].n == 12
    assert board.quality.pairs == 12
    cells = {(s, k, m): v for s, k, m, v in csv_rows(board) if s in ("auditor", "issue_type_agreement")}
    assert cells[("auditor", "dan", "agreement")] == "low" and cells[("auditor", "ann", "kappa_n")] == 4
    assert cells[("auditor", "ann", "gold")] == 0.5 and cells[("auditor", "ben", "gold")] == ""
    assert cells[("issue_type_agreement", "bad_box", "kappa")] == pytest.approx(-0.5)


@pytest.mark.browser
def test_the_dashboard_shows_low_agreement_in_the_auditors_table(
    rated: Any, page: Any, console: Any, login: Any, tmp_path: Path
) -> None:
    from tests.ui.conftest import serve

    with serve(rated.settings) as rated.url:
        login(page, rated, "ops")
        table = page.locator("#auditors")
        dan = table.locator("tr[data-key=dan]")
        assert dan.get_attribute("class") == "low" and dan.locator(".badge.low").inner_text() == "low"
        assert dan.locator("[data-col=kappa]").inner_text().startswith("-1.00 [")
        assert table.locator("tr[data-key=ann] [data-col=gold]").inner_text().startswith("50.0% [")
        assert page.locator("#agreement-by-type tr[data-key=bad_box]").inner_text().endswith("n=12")
        target = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
        page.locator("section[aria-labelledby=auditors-h]").screenshot(
            path=str(target / "dashboard-auditors.png")
        )
        csv_text = page.request.get(f"{rated.url}/ui/dashboard.csv").text()
    low = [
        r for r in csv.DictReader(io.StringIO(csv_text)) if r["metric"] == "agreement" and r["value"] == "low"
    ]
    assert {r["key"] for r in low} == {"cat", "dan"}
    assert console.errors == []
