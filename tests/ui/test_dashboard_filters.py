"""The dashboard's filter (date range, vendor, team, batch) and its burndown: the figures of a filtered
dashboard are those of its part of the database (plain SQL, written here independently), on both
stacks; the burndown's points on a hand-made timeline; a skipped item stays in what is left to decide;
the acceptance report reads only its batch. No server, no browser (one browser test for the form)."""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import HTTPException
from sqlalchemy import event, text

from api.ui.dashboard.board import acceptance_of, build
from api.ui.dashboard.filters import read_filter
from gtqa.domain import IssueType, Verdict
from gtqa.storage import Scope, activity, claim_next, decide, skip
from gtqa.storage.types import utcnow

SCREENSHOTS = os.environ.get("GTQA_SCREENSHOT_DIR")
BOTH = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
QUEUE = "a.source IN ('queue', 'spot_check')"
EARLIER = date(2026, 11, 2)  # the day some decisions are moved to


def _decide(site: Any, auditor: str, n: int) -> None:
    """``n`` claims: flags confirmed and rejected in turn (bad box chosen), spot checks found correct."""
    for i in range(n):
        with site.sessions.begin() as session:
            item = claim_next(session, auditor, lease_s=600)
            assert item is not None
            spot = item.kind.value == "spot_check"
            verdict = Verdict.not_defect if spot or i % 2 else Verdict.defect
            issue = IssueType.bad_box if verdict == Verdict.defect else None
            decide(session, item.id, auditor, verdict, issue_type=issue, seconds=5.0 + i)


@pytest.fixture
def programme(store: Any) -> dict[str, int]:
    """Three deliveries: acme/red, acme/blue and zenith/blue, each partly decided; zenith's first three
    decisions moved to an earlier day. The batch ids by name."""
    due = date.today() + timedelta(days=5)
    ids = {}
    for name, vendor, team in (
        ("north", "acme", "red"),
        ("east", "acme", "blue"),
        ("south", "zenith", "blue"),
    ):
        ids[name] = store.seed(name=name, frames=10, labels=6, vendor=vendor, team=team, due=due,
                               spot_check_share=0.1).batch_id  # fmt: skip
    _decide(store, "ann", 26)  # the flags first, then spot checks (queue order): 40 of 45 items
    _decide(store, "ben", 14)
    with store.sessions.begin() as session:
        moved = session.execute(
            text("SELECT id FROM audits WHERE batch_id = :b ORDER BY id LIMIT 3"), {"b": ids["south"]}
        ).scalars()
        at = datetime(EARLIER.year, EARLIER.month, EARLIER.day, 10, tzinfo=UTC)
        for audit_id in list(moved):
            session.execute(
                text("UPDATE audits SET created_at = :at WHERE id = :i"), {"at": at, "i": audit_id}
            )
    return ids


def _sql(site: Any, where: str, **params: Any) -> tuple[int, int, set[int], set[str]]:
    """(queue decisions, confirmed defects, batch ids, auditors) of the batches and audits ``where`` keeps."""
    with site.sessions() as session:
        rows = session.execute(
            text(f"SELECT a.batch_id, a.auditor, a.verdict FROM audits a JOIN batches b ON b.id = a.batch_id "
                 f"WHERE {QUEUE} AND {where}"), params,
        ).all()  # fmt: skip
    return len(rows), sum(v == "defect" for *_, v in rows), {b for b, *_ in rows}, {a for _, a, _ in rows}


def _shown(board: Any) -> tuple[int, int, set[int], set[str]]:
    return (board.headline.decisions, board.headline.defects, {r.batch.id for r in board.sla},
            {a.name for a in board.auditors if a.decisions})  # fmt: skip


@BOTH
def test_a_vendor_team_or_batch_filter_shows_only_that_parts_figures(
    store: Any, programme: dict[str, int]
) -> None:
    now = utcnow()
    with store.sessions() as session:
        whole = build(session, now)
        acme = build(session, now, scope=Scope(vendor="acme"))
        blue = build(session, now, scope=Scope(team="blue"))
        one = build(session, now, scope=Scope(batch=programme["east"]))
    assert _shown(acme) == _sql(store, "b.vendor = 'acme'")
    assert _shown(blue) == _sql(store, "b.team = 'blue'")
    assert _shown(one) == _sql(store, "b.id = :b", b=programme["east"])
    assert _shown(whole) == _sql(store, "1 = 1") != _shown(acme)
    assert [g.key for g in acme.by_vendor] == ["acme"] and [g.key for g in blue.by_team] == ["blue"]
    assert {v.vendor for v in whole.vendor_days} == {"acme", "zenith"}, whole.vendor_days
    assert {v.vendor for v in acme.vendor_days} == {"acme"}
    with store.sessions() as session:
        (waiting,) = session.execute(
            text("SELECT count(*) FROM review_items i JOIN batches b ON b.id = i.batch_id "
                 "WHERE b.vendor = 'acme' AND i.status IN ('pending', 'claimed')"),
        ).one()  # fmt: skip
    assert acme.queue["pending"] + acme.queue["claimed"] == waiting == acme.series.depth[-1]
    assert sum(acme.defects_by_chosen_type.values()) == _sql(store, "b.vendor = 'acme'")[1]


@BOTH
def test_a_date_range_keeps_the_decisions_made_in_it(store: Any, programme: dict[str, int]) -> None:
    day = datetime(EARLIER.year, EARLIER.month, EARLIER.day, tzinfo=UTC)
    with store.sessions() as session:
        board = build(session, utcnow(), scope=Scope(start=day, end=day + timedelta(days=1)))
        later = build(session, utcnow(), scope=Scope(start=day + timedelta(days=1)))
    expected = _sql(store, "a.created_at >= :s AND a.created_at < :e", s=day, e=day + timedelta(days=1))
    assert _shown(board) == expected and expected[0] == 3  # zenith's three moved decisions
    assert {r.batch.id for r in board.sla} == {programme["south"]}
    assert sum(board.series.decisions) == 3 and len(board.series.decisions) == 24  # hourly over the day
    assert _shown(later) == _sql(store, "a.created_at >= :s", s=day + timedelta(days=1))


T0 = datetime(2026, 11, 30, tzinfo=UTC)


def _at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


@BOTH
def test_the_burndown_on_a_hand_made_timeline(store: Any) -> None:
    """Eight items queued at 08:30; two decided at 09:45, one skipped at 11:20, one decided at 11:40."""
    made = store.seed(name="timeline", frames=8, labels=4, vendor="acme", due=date(2026, 12, 1))
    batch = made.batch_id
    store.seed(name="other", frames=5, labels=4, vendor="zenith")  # another vendor's: filtered out
    with store.sessions.begin() as session:
        session.execute(
            text("UPDATE review_items SET created_at = :t WHERE batch_id = :b"), {"t": _at(8.5), "b": batch}
        )
        for when, action in ((9.75, "decide"), (9.75, "decide"), (11.33, "skip"), (11.67, "decide")):
            item = claim_next(session, "ann", lease_s=600, job_id=made.job_id, now=_at(when))
            assert item is not None and item.batch_id == batch
            if action == "skip":
                skip(session, item.id, "ann", reason="no image", now=_at(when))
            else:
                decide(session, item.id, "ann", Verdict.not_defect, seconds=20.0, now=_at(when))
    scope = Scope(start=T0, end=T0 + timedelta(days=1), vendor="acme")
    with store.sessions() as session:
        series = activity(session, utcnow(), scope)
        board = build(session, utcnow(), scope=scope)
    assert (series.start, series.size, len(series.left)) == (T0, timedelta(hours=1), 24)
    assert series.left == [0] * 8 + [8, 6, 6] + [5] * 13  # the skipped item is still left to decide
    assert series.skipped == [0] * 11 + [1] * 13
    assert series.depth == [n - k for n, k in zip(series.left, series.skipped, strict=True)]
    assert series.decisions == [0] * 9 + [2, 0, 1] + [0] * 12
    b = board.burndown
    assert (b.items, b.left, b.skipped, b.due) == (8, 5, 1, date(2026, 12, 1))
    assert board.sla[0].progress == pytest.approx(3 / 8)  # skipped: not done
    first = _at(9.75)
    expected = board.now + (board.now - first) * 5 / 3  # 5 left at 3 decided per (now − first decision)
    assert b.finish is not None and abs((b.finish - expected).total_seconds()) < 1
    assert b.late is True


def test_the_acceptance_report_reads_only_its_batch(store: Any, programme: dict[str, int]) -> None:
    south = programme["south"]
    statements: list[Any] = []
    engine = store.sessions.kw["bind"]

    def seen(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if "SELECT" in statement:
            statements.append((statement, params))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with store.sessions() as session:
            row = acceptance_of(session, south)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    with store.sessions() as session:
        whole = {r.batch.id: r for r in build(session, utcnow()).acceptance}
    assert row == whole[south]
    assert len(statements) >= 8  # the facts' reads: batches, items, decisions, judge, sample, seconds, types
    assert all(south in _values(p) for _, p in statements), statements  # each read only that batch's rows


def _spread(site: Any, batch: int) -> None:
    """The batch's queue made 40 hours ago, its nine decisions one every four hours since, one pending item
    skipped 10 hours ago, and due tomorrow: a burndown with a shape (the decisions of a test are seconds
    apart)."""
    start = utcnow() - timedelta(hours=40)
    with site.sessions.begin() as session:
        session.execute(
            text("UPDATE review_items SET created_at = :t WHERE batch_id = :b"), {"t": start, "b": batch}
        )
        session.execute(text("UPDATE batches SET due_date = :d WHERE id = :b"),
                        {"d": date.today() + timedelta(days=1), "b": batch})  # fmt: skip
        decided = session.execute(
            text("SELECT id FROM review_items WHERE batch_id = :b AND status = 'decided' ORDER BY id"),
            {"b": batch},
        ).scalars()
        for k, item in enumerate(list(decided)):
            at = {"t": start + timedelta(hours=4 * (k + 1)), "i": item}
            session.execute(text("UPDATE review_items SET decided_at = :t WHERE id = :i"), at)
            session.execute(text("UPDATE audits SET created_at = :t WHERE item_id = :i"), at)
        session.execute(
            text("UPDATE review_items SET status = 'skipped', decided_at = :t WHERE id = (SELECT min(id) "
                 "FROM review_items WHERE batch_id = :b AND status = 'pending')"),
            {"t": utcnow() - timedelta(hours=10), "b": batch},
        )  # fmt: skip


def _values(params: Any) -> list[Any]:
    return list(params.values()) if isinstance(params, dict) else list(params)


def test_the_filter_reads_its_query_and_names_a_bad_value() -> None:
    shown = read_filter("2026-12-01", "2026-12-07", "acme", "", "3")
    assert shown.scope == Scope(
        datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 8, tzinfo=UTC), "acme", None, 3
    )
    assert shown.query == "?from=2026-12-01&to=2026-12-07&vendor=acme&batch=3"
    with pytest.raises(HTTPException, match="from: not a date"):
        read_filter("1 Dec", "", "", "", "")
    with pytest.raises(HTTPException, match="after to"):
        read_filter("2026-12-08", "2026-12-07", "", "", "")
    with pytest.raises(HTTPException, match="batch: not a batch id"):
        read_filter("", "", "", "", "x")


@pytest.mark.browser
def test_the_filter_form_keeps_the_scope_in_the_url_and_every_chart_has_a_visible_title(
    site: Any, programme: dict[str, int], page: Any, console: Any, login: Any, tmp_path: Path
) -> None:
    login(page, site, "ops")
    page.goto(f"{site.url}/ui/dashboard")
    whole = page.locator("[data-metric=defects]").get_attribute("data-value")
    page.locator("select[name=vendor]").focus()
    page.keyboard.press("ArrowDown")  # all → acme
    page.keyboard.press("ArrowDown")  # acme → zenith
    page.get_by_role("button", name="Apply").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**vendor=zenith**")
    assert "Showing vendor zenith" in page.locator("#scope").inner_text()
    target = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    page.screenshot(
        path=str(target / "dashboard-filter.png"), clip={"x": 0, "y": 0, "width": 1400, "height": 520}
    )
    (defects,) = _sql(site, "b.vendor = 'zenith'")[1:2]
    assert float(page.locator("[data-metric=defects]").get_attribute("data-value") or "nan") == defects
    assert page.locator("[data-metric=defects]").get_attribute("data-value") != whole
    href = page.get_by_text("Export as CSV").get_attribute("href") or ""
    assert "vendor=zenith" in href
    rows = list(csv.DictReader(io.StringIO(page.request.get(f"{site.url}{href}").text())))
    assert {r["key"] for r in rows if r["section"] == "vendor"} == {"zenith"}
    assert next(r["value"] for r in rows if r["section"] == "scope") == "vendor zenith"
    charts = page.locator("figure:has(svg.chart)")
    assert charts.count() == 7 and charts.locator("figcaption").count() == 7
    assert all(t.strip() for t in charts.locator("figcaption").all_inner_texts())
    _spread(site, programme["north"])
    page.goto(f"{site.url}/ui/dashboard")
    page.locator(f"#sla tr[data-key='{programme['north']}'] a", has_text="burndown").click()
    page.wait_for_url(f"**batch={programme['north']}")
    left = page.locator("#burndown tbody tr td:nth-child(2)").all_text_contents()
    with site.sessions() as session:
        items, undecided = session.execute(
            text("SELECT count(*), sum(CASE WHEN status <> 'decided' THEN 1 ELSE 0 END) FROM review_items "
                 "WHERE batch_id = :b"), {"b": programme["north"]},
        ).one()  # fmt: skip
    assert int(left[-1]) == undecided and max(map(int, left)) == items  # the skipped one is still left
    assert page.locator("#burndown tbody tr td:nth-child(3)").all_text_contents()[-1] == "1"
    assert "1 skipped, not done" in page.locator(".cards").inner_text()
    page.locator("section[aria-labelledby=burndown-h]").screenshot(
        path=str(target / "dashboard-burndown.png")
    )
    page.goto(f"{site.url}/ui/dashboard?from={EARLIER.isoformat()}&to={EARLIER.isoformat()}")
    assert "Showing 2 Nov 2026. Decisions made in those dates" in page.locator("#scope").inner_text()
    assert (
        float(page.locator("[data-metric=defects]").get_attribute("data-value") or "nan")
        == _sql(site, "a.created_at >= :s AND a.created_at < :e", s=EARLIER, e=EARLIER + timedelta(days=1))[1]
    )
    assert console.errors == []
    bad = page.request.get(f"{site.url}/ui/dashboard?batch={programme['north']}&from=2026-12-40")
    assert bad.status == 422 and "from: not a date" in bad.text()
