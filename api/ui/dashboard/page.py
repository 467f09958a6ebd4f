"""The ops dashboard's routes: the page (HTML with server-drawn charts) and the same numbers as CSV."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from api.deps import ReadSessionDep
from api.exports.csvfile import csv_text
from api.queries.precision import PrecisionRow
from api.ui.access import OpsPage, PageRoute
from api.ui.dashboard import charts
from api.ui.dashboard.board import Dashboard, build
from api.ui.templates import render
from gtqa.storage import ItemStatus
from gtqa.storage.types import utcnow

router = APIRouter(route_class=PageRoute)


@router.get("/ui/dashboard", response_class=HTMLResponse, name="dashboard")
def dashboard(request: Request, viewer: OpsPage, session: ReadSessionDep) -> HTMLResponse:
    board = build(session, utcnow())
    context = {"viewer": viewer, "d": board, "charts": _charts(board), "waiting": ItemStatus}
    return render(request, "dashboard.html", context)


@router.get("/ui/dashboard.csv", name="dashboard_csv")
def dashboard_csv(viewer: OpsPage, session: ReadSessionDep) -> Response:
    """Every number of the dashboard, one per line: section, key, metric, value."""
    text = csv_text([("section", "key", "metric", "value"), *csv_rows(build(session, utcnow()))])
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    headers = {"Content-Disposition": f'attachment; filename="gtqa-dashboard-{stamp}.csv"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)


def csv_rows(d: Dashboard) -> Iterator[tuple[str, str, str, object]]:
    for name, value in asdict(d.headline).items():
        if isinstance(value, dict):  # an interval
            yield from (("headline", "", f"{name}{_suffix(k)}", v) for k, v in value.items())
        else:
            yield "headline", "", name, _cell(value)
    yield from (("queue", "", status, n) for status, n in d.queue.items())
    for section, rows in (("check", d.by_check), ("issue_type", d.by_type)):
        for p in rows:
            yield from (
                (section, p.key, m, _cell(v)) for m, v in (*asdict(p).items(), ("precision", p.precision))
            )
    for section, groups_ in (("vendor", d.by_vendor), ("team", d.by_team), ("batch", d.by_batch)):
        for g in groups_:
            yield from ((section, g.key, m, _cell(v)) for m, v in asdict(g).items() if m != "key")
    for r in d.sla:
        yield from (
            ("sla", str(r.batch.id), m, _cell(v))
            for m, v in (("due_date", r.batch.due_date), ("progress", r.progress), ("expected", r.expected),
                         ("status", r.status))
        )  # fmt: skip
    for i, (n, depth) in enumerate(zip(d.series.decisions, d.series.depth, strict=True)):
        start = (d.series.start + i * d.series.size).isoformat()
        yield ("throughput", start, "decisions", n)
        yield ("queue_depth", start, "waiting", depth)


def _suffix(key: str) -> str:
    return "" if key == "value" else f"_{key}"


def _cell(value: object) -> object:
    return "" if value is None else value


def _charts(d: Dashboard) -> dict[str, Markup]:
    s = d.series
    hourly = s.size.total_seconds() < 86400
    labels = [
        (s.start + i * s.size).strftime("%d %b %H:00" if hourly else "%d %b") for i in range(len(s.depth))
    ]
    unit = "hour" if hourly else "day"
    return {
        "throughput": charts.bars_over_time(
            "throughput", f"Queue decisions per {unit} (UTC)",
            f"Decisions per {unit}, {labels[0]} to {labels[-1]}; the table below has the numbers.",
            labels, s.decisions,
        ),
        "depth": charts.line_over_time(
            "depth", f"Queue depth at the end of each {unit}",
            "Items waiting (pending or claimed) over time; the table below has the numbers.", labels, s.depth,
        ),
        "by_check": _precision_chart("by-check", "Agent precision per check", d.by_check),
        "by_type": _precision_chart("by-type", "Agent precision per issue type", d.by_type),
        "vendors": charts.share_bars(
            "vendors", "Audit pass rate per vendor (spot checks)",
            "Share of spot-checked labels found correct, per vendor.",
            [(g.key, g.pass_rate, f"n={g.spot_checked}") for g in d.by_vendor],
        ),
    }  # fmt: skip


def _precision_chart(ident: str, title: str, rows: list[PrecisionRow]) -> Markup:
    shown = [(r.key, r.precision, f"n={r.defect + r.not_defect}") for r in rows]
    return charts.share_bars(ident, title, "Confirmed defects / (confirmed + rejected) flags.", shown)
