"""The learning queue's calibration history on the pages: the dashboard's Calibration section and the
spec page list the versions with their gate evaluation and the queue's precision before and after a
promotion (checked against the database), and ops roll the version in use back with the button (the
form carries the session's CSRF token). The screenshot is docs/calibration-history.png."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from gtqa.settings import Settings
from gtqa.spec import CompiledSpec
from gtqa.storage import claim_next, current_calibration, decide, queue_precision
from tests.workers.learning_world import queue_synthetic, quick_fitter
from workers.learning import refit

SCREENSHOTS = os.environ.get("GTQA_SCREENSHOT_DIR")


@dataclass
class _Ctx:
    settings: Settings
    sessions: sessionmaker[Session]
    reads: sessionmaker[Session]
    specs: _Specs


class _Specs:
    def __init__(self, spec: CompiledSpec) -> None:
        self.spec = spec

    def get(self, spec_hash: str) -> CompiledSpec:
        return self.spec


def _decide(sessions: sessionmaker[Session], truth: dict[str, bool], n: int) -> None:
    for _ in range(n):
        with sessions.begin() as session:
            item = claim_next(session, "auditor", lease_s=600)
            assert item is not None and item.label_key is not None
            decide(session, item.id, "auditor", "defect" if truth[item.label_key] else "not_defect")


@pytest.fixture
def history(site) -> tuple[int, int]:
    """Audits, a promoted refit, audits of the queue it ordered, then a refused refit."""
    _, truth = queue_synthetic(site.sessions, site.spec, 60, 5)
    ctx = _Ctx(
        site.settings.model_copy(update={"refit_min_audits": 60}),
        site.sessions,
        site.sessions,
        _Specs(site.spec),
    )
    _decide(site.sessions, truth, 120)
    promoted = refit(ctx, site.spec.name, "kitti", owner="w1", fitter=quick_fitter())
    assert promoted.status == "promoted" and promoted.version_id is not None, promoted.reason
    _decide(site.sessions, truth, 40)
    refused = refit(ctx, site.spec.name, "kitti", owner="w1", fitter=quick_fitter(flip=True))
    assert refused.status == "refused" and refused.version_id is not None, refused.reason
    return promoted.version_id, refused.version_id


@pytest.mark.browser
def test_the_calibration_history_and_its_rollback(
    site, history, page, console, login, tmp_path: Path
) -> None:
    promoted, refused = history
    with site.sessions() as session:
        tally = queue_precision(session, site.spec.name, "kitti")
    login(page, site, "ops")
    rows = page.locator("#calibrations tbody tr")
    assert rows.count() == 2
    assert page.locator(f'#calibrations tr[data-key="{refused}"]').get_attribute("data-status") == "refused"
    row = page.locator(f'#calibrations tr[data-key="{promoted}"]')
    assert row.get_attribute("data-status") == "promoted"
    before, after = (row.locator("td").nth(i).get_attribute("data-value") for i in (5, 6))
    (n0, d0), (n1, d1) = tally[None], tally[promoted]
    assert (n0, n1) == (120, 40)
    assert float(before or "nan") == pytest.approx(d0 / n0) and float(after or "nan") == pytest.approx(
        d1 / n1
    )
    assert d1 / n1 > d0 / n0  # the learnt order finds more real defects per decision
    section = page.locator("section[aria-labelledby=calibration-h]")
    target = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    section.screenshot(path=str(target / "calibration-history.png"))

    page.goto(f"{site.url}/ui/specs/{site.spec.hash}")
    assert page.locator("#calibrations tbody tr").count() == 2
    page.goto(f"{site.url}/ui/dashboard")
    with page.expect_navigation():
        row.get_by_role("button", name="Roll back").click()
    assert (
        page.locator(f'#calibrations tr[data-key="{promoted}"]').get_attribute("data-status") == "rolled_back"
    )
    with site.sessions() as session:
        assert current_calibration(session, site.spec.name, "kitti") is None
    assert console.errors == []


def test_the_rollback_form_needs_the_csrf_token(site, history) -> None:
    import httpx

    promoted, _ = history
    with httpx.Client(base_url=site.url) as client:
        login = client.post("/ui/login", data={"token": site.tokens["ops"]})
        assert login.status_code == 303
        refused = client.post(f"/ui/calibrations/{promoted}/rollback", data={"csrf": "0" * 64})
        assert refused.status_code == 403
        rows = set(client.get("/ui/dashboard.csv").text.splitlines())
    with site.sessions() as session:
        decided, defects = queue_precision(session, site.spec.name, "kitti")[promoted]
    assert f"calibration,{promoted},status,promoted" in rows
    assert f"calibration,{promoted},precision_after,{defects / decided}" in rows
    with site.sessions() as session:
        head = current_calibration(session, site.spec.name, "kitti")
    assert head is not None and head.id == promoted
