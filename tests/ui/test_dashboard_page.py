"""The ops dashboard: two vendors' deliveries, with flags and spot checks decided by two auditors, and
every number checked against plain SQL on the database (written here independently of the dashboard's
own queries): first what the page is built from (``api.ui.dashboard.board``, no server, no browser,
fast), then the page itself in Chromium; the CSV export carries the same numbers."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from api.ui.dashboard.board import build
from gtqa.domain import IssueType, JudgeOpinion, Verdict
from gtqa.storage import claim_next, decide, skip
from gtqa.storage.types import utcnow

SCREENSHOTS = os.environ.get("GTQA_SCREENSHOT_DIR")
QUEUE = "source IN ('queue', 'spot_check')"


def _decide_some(site, auditor: str, n: int, offset: int) -> None:
    """``n`` claims by ``auditor``: flags confirmed, rejected or unsure in turn, one spot check in five
    found defective, one item skipped; 4 to 30 seconds each."""
    for i in range(n):
        with site.sessions.begin() as session:
            item = claim_next(session, auditor, lease_s=600)
            assert item is not None
            k = i + offset
            if k == 5:
                skip(session, item.id, auditor, reason="cannot be judged")
                continue
            if item.kind.value == "spot_check":
                verdict = Verdict.defect if k % 5 == 0 else Verdict.not_defect
            else:
                verdict = (Verdict.defect, Verdict.not_defect, Verdict.defect, Verdict.unsure)[k % 4]
            issue = (
                IssueType.bad_box if verdict == Verdict.defect and item.kind.value == "spot_check" else None
            )
            decide(session, item.id, auditor, verdict, issue_type=issue, seconds=4.0 + (7 * k) % 27)


@pytest.fixture
def reviewed(store) -> None:
    site = store
    today = date.today()
    site.seed(name="north", frames=16, labels=8, vendor="acme", team="red", due=today + timedelta(days=3),
              spot_check_share=0.05, judge_costs=(0.0021, 0.0, None))  # fmt: skip
    site.seed(name="south", frames=14, labels=8, vendor="zenith", team="blue", due=today - timedelta(days=1),
              spot_check_share=0.05, judge_costs=(0.0013, None))  # fmt: skip
    _decide_some(site, "ann", 14, 0)
    _decide_some(site, "ben", 9, 100)


def _one(site, sql: str) -> Any:
    with site.sessions() as session:
        return session.execute(text(sql)).one()


def _rows(site, sql: str) -> list[Any]:
    with site.sessions() as session:
        return list(session.execute(text(sql)))


def _expected(site) -> dict[str, float]:
    """The headline numbers, from SQL."""
    decisions, defects, seconds = _one(
        site, f"SELECT count(*), sum(CASE WHEN verdict = 'defect' THEN 1 ELSE 0 END), sum(seconds) "
        f"FROM audits WHERE {QUEUE}",
    )  # fmt: skip
    flag_yes, flag_no = _one(
        site, "SELECT sum(CASE WHEN verdict = 'defect' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN verdict = 'not_defect' THEN 1 ELSE 0 END) FROM audits WHERE source = 'queue'",
    )  # fmt: skip
    spot_seconds, spot_n = _one(
        site, "SELECT sum(seconds), count(*) "
        "FROM audits WHERE source = 'spot_check'",
    )  # fmt: skip
    (labels,) = _one(site, "SELECT sum(label_count) FROM batches")
    (flagged,) = _one(site, "SELECT count(DISTINCT label_id) FROM review_items WHERE kind = 'flag'")
    (waiting,) = _one(site, "SELECT count(*) FROM review_items WHERE status IN ('pending', 'claimed')")
    (cost,) = _one(site, "SELECT sum(judge_cost_usd) FROM findings")
    opinions = [o for (o,) in _rows(site, "SELECT judge FROM findings WHERE judge IS NOT NULL")]
    calls = sum(not JudgeOpinion.model_validate_json(_json(o)).cached for o in opinions)
    hours = seconds / 3600
    precision, miss = flag_yes / (flag_yes + flag_no), _stratified_miss_rate(site)
    rate = (precision * flagged + miss * (labels - flagged)) / labels
    random_hours = defects / rate * (spot_seconds / spot_n) / 3600
    return {
        "decisions": decisions, "defects": defects, "hours": hours, "defects_per_hour": defects / hours,
        "precision": precision, "miss_rate": miss, "waiting": waiting, "hours_saved": random_hours - hours,
        "judge_cost_per_1k": 1000 * cost / labels, "judge_calls_per_1k": 1000 * calls / labels,
    }  # fmt: skip


def _stratified_miss_rate(site) -> float:
    """m: per batch, the unflagged stratum's size (sum of 1 / inclusion probability over its sampled items)
    times its decided spot checks' defect rate, summed, over the summed sizes (batches with a decision)."""
    sizes = dict(_rows(
        site, "SELECT batch_id, sum(1.0 / inclusion_probability) FROM review_items "
        "WHERE stratum = 'unflagged' GROUP BY batch_id",
    ))  # fmt: skip
    audited = _rows(
        site, "SELECT i.batch_id, count(DISTINCT a.item_id), "
        "count(DISTINCT CASE WHEN a.verdict = 'defect' THEN a.item_id END) FROM audits a "
        "JOIN review_items i ON i.id = a.item_id WHERE i.stratum = 'unflagged' "
        "AND a.verdict IN ('defect', 'not_defect') GROUP BY i.batch_id",
    )  # fmt: skip
    weights = {batch: round(sizes[batch]) for batch, n, _ in audited if n}
    return float(sum(weights[b] * d / n for b, n, d in audited if n) / sum(weights.values()))


def _per_check(site) -> list[Any]:
    """(check, confirmed, rejected) of the flags decided in the queue."""
    return _rows(
        site, "SELECT f.\"check\", sum(CASE WHEN a.verdict = 'defect' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN a.verdict = 'not_defect' THEN 1 ELSE 0 END) FROM audits a "
        "JOIN review_items i ON i.id = a.item_id JOIN findings f ON f.id = i.finding_id "
        "WHERE a.source = 'queue' GROUP BY f.\"check\"",
    )  # fmt: skip


def _per_vendor(site) -> list[Any]:
    """(vendor, spot checks passed, spot checks decided, spot-check defects, labels) per vendor."""
    return _rows(
        site, "SELECT b.vendor, sum(CASE WHEN a.verdict = 'not_defect' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN a.verdict IN ('defect', 'not_defect') THEN 1 ELSE 0 END), "
        "sum(CASE WHEN a.verdict = 'defect' THEN 1 ELSE 0 END), max(b.label_count) "
        "FROM audits a JOIN batches b ON b.id = a.batch_id WHERE a.source = 'spot_check' GROUP BY b.vendor",
    )  # fmt: skip


def _rework(site) -> list[Any]:
    """(vendor, confirmed defects, labels) per vendor, queue decisions of both kinds."""
    return _rows(
        site, f"SELECT b.vendor, sum(CASE WHEN a.verdict = 'defect' THEN 1 ELSE 0 END), max(b.label_count) "
        f"FROM audits a JOIN batches b ON b.id = a.batch_id WHERE a.{QUEUE} GROUP BY b.vendor",
    )  # fmt: skip


def _sla(site) -> list[Any]:
    """(batch id, items decided, items) per batch: a skipped item is not done."""
    return _rows(
        site, "SELECT batch_id, sum(CASE WHEN status = 'decided' THEN 1 ELSE 0 END), count(*) "
        "FROM review_items GROUP BY batch_id",
    )  # fmt: skip


def test_what_the_dashboard_shows_is_the_databases(store, reviewed) -> None:
    """The numbers the page renders, straight from ``build`` (no server, no browser)."""
    with store.sessions() as session:
        board = build(session, utcnow())
    expected, h = _expected(store), board.headline
    shown = {
        "decisions": h.decisions, "defects": h.defects, "hours": h.hours,
        "defects_per_hour": h.defects_per_hour, "precision": h.precision,
        "miss_rate": h.miss_rate.value if h.miss_rate else None,
        "waiting": board.queue["pending"] + board.queue["claimed"], "hours_saved": h.hours_saved,
        "judge_cost_per_1k": h.judge_cost_per_1k, "judge_calls_per_1k": h.judge_calls_per_1k,
    }  # fmt: skip
    for name, value in expected.items():
        assert shown[name] == pytest.approx(value, rel=1e-9), name
    precision = {r.key: r.precision for r in board.by_check}
    per_check = _per_check(store)
    assert per_check and set(precision) == {check for check, *_ in per_check}
    for check, yes, no in per_check:
        assert precision[check] == (pytest.approx(yes / (yes + no)) if yes + no else None), check
    vendors = {g.key: g for g in board.by_vendor}
    assert set(vendors) == {"acme", "zenith"}
    for vendor, passed, checked, _, _ in _per_vendor(store):
        assert vendors[vendor].pass_rate == pytest.approx(passed / checked), vendor
    for vendor, defects, labels in _rework(store):
        assert vendors[vendor].rework_rate == pytest.approx(defects / labels), vendor
    progress = {r.batch.id: r.progress for r in board.sla}
    for batch_id, done, items in _sla(store):
        assert progress[batch_id] == pytest.approx(done / items), batch_id
    skipped = dict(
        _rows(store, "SELECT batch_id, count(*) FROM review_items WHERE status = 'skipped' GROUP BY batch_id")
    )
    assert sum(skipped.values()) == 1  # ann skips one item: counted, and not done
    assert {r.batch.id: r.batch.skipped for r in board.sla} == {b: skipped.get(b, 0) for b in progress}
    assert sorted(r.status for r in board.sla) == ["on track", "overdue"]
    assert len(board.series.depth) == len(board.series.decisions) == 48  # hourly over two days
    assert sum(board.series.decisions) == expected["decisions"]
    assert board.series.depth[-1] == expected["waiting"]


@pytest.mark.browser
def test_prometheus_reports_the_judges_calls_and_spend_of_the_database(site, reviewed) -> None:
    (cost,) = _one(site, "SELECT sum(judge_cost_usd) FROM findings")
    opinions = [o for (o,) in _rows(site, "SELECT judge FROM findings WHERE judge IS NOT NULL")]
    calls = sum(not JudgeOpinion.model_validate_json(_json(o)).cached for o in opinions)
    assert calls > 0 and cost > 0
    scraped = httpx.get(f"{site.url}/metrics", headers={"Authorization": f"Bearer {site.tokens['ops']}"})
    assert scraped.status_code == 200
    gauges = {
        line.split(" ")[0]: float(line.split(" ")[1]) for line in scraped.text.splitlines() if line[:1] != "#"
    }
    assert gauges["gtqa_judge_calls"] == calls
    assert gauges["gtqa_judge_cost_usd"] == pytest.approx(cost, rel=1e-9)


def _json(value: Any) -> str:
    """A JSON column as text (SQLite gives text, PostgreSQL the decoded value)."""
    return value if isinstance(value, str) else json.dumps(value)


def _metric(page: Any, name: str) -> float:
    value = page.locator(f"[data-metric={name}]").get_attribute("data-value")
    assert value, f"the dashboard shows no {name}"
    return float(value)


def _cell(page: Any, table: str, key: str, column: int) -> float:
    cell = page.locator(f"#{table} tr[data-key='{key}'] td").nth(column)
    return float(cell.get_attribute("data-value") or "nan")


@pytest.mark.browser
def test_the_dashboard_numbers_are_the_databases(
    site, reviewed, page, console, login, tmp_path: Path
) -> None:
    login(page, site, "ops")
    assert page.url.endswith("/ui/dashboard")
    expected = _expected(site)
    for name in ("defects", "hours", "defects_per_hour", "precision", "miss_rate", "waiting", "hours_saved",
                 "judge_cost_per_1k", "judge_calls_per_1k"):  # fmt: skip
        assert _metric(page, name) == pytest.approx(expected[name], rel=1e-9), name
    assert f"({expected['decisions']} decisions)" in page.locator(".cards").inner_text()

    per_check = _per_check(site)
    assert per_check
    for check, yes, no in per_check:
        shown = _cell(page, "precision-check", check, 4)
        assert (shown == pytest.approx(yes / (yes + no))) if yes + no else shown != shown, check

    per_vendor = _per_vendor(site)
    assert {v for v, *_ in per_vendor} == {"acme", "zenith"}
    for vendor, passed, checked, _, _ in per_vendor:
        assert _cell(page, "quality-vendor", vendor, 5) == pytest.approx(passed / checked), vendor
    for vendor, defects, labels in _rework(site):
        assert _cell(page, "quality-vendor", vendor, 6) == pytest.approx(defects / labels), vendor

    for batch_id, done, items in _sla(site):
        assert _cell(page, "sla", str(batch_id), 6) == pytest.approx(done / items)
    statuses = page.locator("#sla .badge").all_inner_texts()
    assert sorted(statuses) == ["on track", "overdue"]  # south is past due; north was ingested just now

    assert page.locator("svg.chart").count() == 7  # with the burndown and the vendors over time
    assert page.locator("figure figcaption").count() == 7  # every chart's title is visible
    assert page.locator("#series tbody tr").count() == 48  # hourly over two days: a young queue
    target = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    page.screenshot(path=str(target / "dashboard.png"), full_page=True)
    assert (target / "dashboard.png").stat().st_size < 1_000_000
    assert console.errors == []


@pytest.mark.browser
def test_the_csv_export_has_the_same_numbers(site, reviewed, page, login) -> None:
    login(page, site, "ops")
    response = page.request.get(f"{site.url}/ui/dashboard.csv")
    assert response.ok and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text())))
    headline = {r["metric"]: r["value"] for r in rows if r["section"] == "headline"}
    expected = _expected(site)
    for name in ("defects", "hours", "precision", "hours_saved", "judge_cost_per_1k"):
        assert float(headline[name]) == pytest.approx(expected[name], rel=1e-9), name
    assert float(headline["miss_rate"]) == pytest.approx(expected["miss_rate"])
    vendors = {r["key"] for r in rows if r["section"] == "vendor"}
    assert vendors == {"acme", "zenith"}
    queue = {r["metric"]: int(r["value"]) for r in rows if r["section"] == "queue"}
    assert queue["pending"] + queue["claimed"] == expected["waiting"]


def test_each_auditors_throughput_and_median_time_are_the_databases(store, reviewed) -> None:
    with store.sessions() as session:
        rows = {a.name: a for a in build(session, utcnow()).auditors}
    expected = _rows(
        store, f"SELECT auditor, count(*), sum(CASE WHEN verdict = 'defect' THEN 1 ELSE 0 END), "
        f"count(seconds), sum(seconds) FROM audits WHERE {QUEUE} GROUP BY auditor",
    )  # fmt: skip
    assert set(rows) == {"ann", "ben"} == {name for name, *_ in expected}
    for name, n, defects, timed, seconds in expected:
        times = sorted(s for (s,) in _rows(store, f"SELECT seconds FROM audits WHERE auditor = '{name}'"))
        middle = (times[(len(times) - 1) // 2] + times[len(times) // 2]) / 2
        row = rows[name]
        assert (row.decisions, row.timed) == (n, timed)
        assert row.defect_share == pytest.approx(defects / n)
        assert row.median_seconds == pytest.approx(middle)
        assert row.per_hour == pytest.approx(timed / (seconds / 3600))


def test_the_defects_table_counts_the_type_the_auditor_chose(store, reviewed) -> None:
    with store.sessions() as session:
        shown = build(session, utcnow()).defects_by_chosen_type
    expected = _rows(
        store, f"SELECT coalesce(issue_type, 'not given'), count(*) FROM audits "
        f"WHERE {QUEUE} AND verdict = 'defect' GROUP BY coalesce(issue_type, 'not given')",
    )  # fmt: skip
    assert shown == dict(expected) and sum(shown.values()) > 0


def test_each_vendors_defect_rate_per_day_is_the_databases(store, reviewed) -> None:
    with store.sessions() as session:
        shown = {(v.vendor, v.day.isoformat()): v.rate for v in build(session, utcnow()).vendor_days}
    expected = _rows(
        store, "SELECT b.vendor, a.created_at, a.verdict FROM audits a JOIN batches b ON b.id = a.batch_id "
        "WHERE a.source = 'spot_check' AND a.verdict IN ('defect', 'not_defect')",
    )  # fmt: skip
    counts: dict[tuple[str, str], list[int]] = {}
    for vendor, at, verdict in expected:
        c = counts.setdefault((vendor, str(at)[:10]), [0, 0])
        c[0], c[1] = c[0] + 1, c[1] + (verdict == "defect")
    assert counts and set(shown) == set(counts)
    for key, (n, defects) in counts.items():
        assert shown[key].n == n and shown[key].value == pytest.approx(defects / n)
        assert shown[key].low <= shown[key].value <= shown[key].high
