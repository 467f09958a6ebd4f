"""The first decisions of a fresh queue already give the ops estimates: spot checks come every tenth
claim, so after 30 decisions the miss rate is shown with its 95% interval and its n (no browser for the
numbers, Chromium for the page)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from api.ui.dashboard.board import build
from api.ui.dashboard.numbers import finish_estimate
from gtqa.domain import IssueType, Verdict
from gtqa.storage import BatchFacts, ItemKind, claim_next, decide
from gtqa.storage.types import utcnow

SCREENSHOTS = os.environ.get("GTQA_SCREENSHOT_DIR")
FIRST = 30


def _first_decisions(site: Any, n: int) -> int:
    """``n`` claims decided in queue order (flags confirmed or rejected in turn; the first spot check
    found defective, the others correct, so the rate is neither 0 nor 1): the spot checks decided."""
    spots = 0
    for i in range(n):
        with site.sessions.begin() as session:
            item = claim_next(session, "ann", lease_s=600)
            assert item is not None
            if item.kind == ItemKind.spot_check:
                verdict = Verdict.defect if spots == 0 else Verdict.not_defect
                issue = IssueType.bad_box if verdict == Verdict.defect else None
                spots += 1
            else:
                verdict, issue = (Verdict.defect, Verdict.not_defect)[i % 2], None
            decide(session, item.id, "ann", verdict, issue_type=issue, seconds=5.0 + i % 7)
    return spots


@pytest.fixture
def fresh(store: Any) -> Any:
    # two deliveries of 24 frames of 10 labels, one flag per frame, 2% spot checks (5 per delivery)
    store.seed(name="east", frames=24, labels=10, spot_check_share=0.02, vendor="acme")
    store.seed(name="west", frames=24, labels=10, spot_check_share=0.02, vendor="zenith")
    return store


def test_thirty_decisions_of_a_fresh_queue_give_a_miss_rate_with_its_interval(fresh: Any) -> None:
    spots = _first_decisions(fresh, FIRST)
    # each job's spot checks are every 10th of its items; two jobs' items merge by priority
    assert spots >= FIRST // 10 - 1
    with fresh.sessions() as session:
        miss = build(session, utcnow()).headline.miss_rate
    assert miss is not None and miss.n == spots
    assert miss.low < miss.value < miss.high
    assert miss.text().endswith(f"n={spots}")


@pytest.mark.browser
def test_the_dashboard_shows_the_miss_rate_with_its_interval_after_thirty_decisions(
    fresh: Any, page: Any, console: Any, login: Any, tmp_path: Path
) -> None:
    from tests.ui.conftest import serve

    spots = _first_decisions(fresh, FIRST)
    with serve(fresh.settings) as fresh.url:
        login(page, fresh, "ops")
        card = page.locator(".card", has=page.locator("[data-metric=miss_rate]"))
        assert page.locator("[data-metric=miss_rate]").get_attribute("data-value")
        assert card.locator("[data-n=miss_rate]").inner_text() == f"n={spots}"
        assert "–" in card.locator("[data-interval=miss_rate]").inner_text()
        target = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
        card.locator("xpath=..").screenshot(path=str(target / "dashboard-estimates.png"))
    assert console.errors == []


def test_the_backlog_is_the_waiting_flags_worth_an_auditor_hour(fresh: Any) -> None:
    _first_decisions(fresh, FIRST)
    # 40 per hour, a defect worth 0.5 and about 8 s per flag: break-even near p = 0.17 per item, so the
    # flags below it (scores fall from 0.95 by 0.04 a frame) are left behind
    fresh.settings.auditor_hour_cost, fresh.settings.defect_value = 40.0, 0.5
    with fresh.sessions() as session:
        board = build(session, utcnow(), fresh.settings)
    unlimited = fresh.settings.model_copy(update={"auditor_hour_cost": None, "defect_value": None})
    with fresh.sessions() as session:
        every = build(session, utcnow(), unlimited).backlog
    b = board.backlog
    assert every.depth == every.waiting == b.waiting > 0  # the waiting flags (spot checks have no p)
    assert 0 < b.depth < b.waiting and board.seconds_measured and b.left_behind > 0
    assert b.expected_found + b.left_behind == pytest.approx(every.expected_found)


def test_a_batch_finishes_at_its_pace_since_its_first_decision() -> None:
    now = utcnow()
    facts = BatchFacts(1, "d", "acme", "red", 500, None, now - timedelta(hours=3), items=100, done=20)
    assert finish_estimate(facts, now) is None  # no decision yet
    facts.first_decision = now - timedelta(hours=2)
    # 20 decided in 2 h: 80 left take 8 h more
    assert finish_estimate(facts, now) == now + timedelta(hours=8)
