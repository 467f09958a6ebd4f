"""The ops dashboard's routes: the page (HTML with server-drawn charts) and the same numbers as CSV."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from api.deps import ReadSessionDep, SettingsDep
from api.exports.csvfile import csv_text
from api.queries.precision import PrecisionRow
from api.ui.access import OpsPage, PageRoute
from api.ui.dashboard import charts
from api.ui.dashboard.board import Dashboard, acceptance_of, build
from api.ui.dashboard.filters import Filter, read_filter
from api.ui.dashboard.numbers import AcceptanceRow
from api.ui.templates import render
from gtqa.storage import ItemStatus, Series, choices
from gtqa.storage.types import utcnow

router = APIRouter(route_class=PageRoute)
FilterDep = Annotated[Filter, Depends(read_filter)]


@router.get("/ui/dashboard", response_class=HTMLResponse, name="dashboard")
def dashboard(
    request: Request, viewer: OpsPage, session: ReadSessionDep, settings: SettingsDep, shown: FilterDep
) -> HTMLResponse:
    """The dashboard of the scope the query asks for (``filters``: date range, vendor, team, batch)."""
    board = build(session, utcnow(), settings, shown.scope)
    options = choices(session)
    context = {"viewer": viewer, "d": board, "charts": _charts(board), "waiting": ItemStatus,
               "unit": period(board.series), "f": shown, "options": options,
               "scope_text": shown.describe(options)}  # fmt: skip
    return render(request, "dashboard.html", context)


@router.get("/ui/dashboard.csv", name="dashboard_csv")
def dashboard_csv(
    viewer: OpsPage, session: ReadSessionDep, settings: SettingsDep, shown: FilterDep
) -> Response:
    """Every number of the dashboard (of the same scope), one per line: section, key, metric, value."""
    rows = csv_rows(build(session, utcnow(), settings, shown.scope))
    rows = iter([("scope", "", "shown", shown.describe(choices(session))), *rows])
    text = csv_text([("section", "key", "metric", "value"), *rows])
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    headers = {"Content-Disposition": f'attachment; filename="gtqa-dashboard-{stamp}.csv"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/ui/batches/{batch_id}/acceptance", response_class=HTMLResponse, name="acceptance_report")
def acceptance_report(
    request: Request, batch_id: int, viewer: OpsPage, session: ReadSessionDep, settings: SettingsDep
) -> HTMLResponse:
    """A batch's acceptance decision, its evidence and its confirmed defects by type: a report for the
    vendor."""
    now = utcnow()
    row = acceptance_of(session, batch_id, settings)
    return render(request, "acceptance.html", {"viewer": viewer, "r": row, "now": now})


@router.get("/ui/batches/{batch_id}/acceptance.csv", name="acceptance_report_csv")
def acceptance_report_csv(
    batch_id: int, viewer: OpsPage, session: ReadSessionDep, settings: SettingsDep
) -> Response:
    """The same report as CSV: metric, value."""
    row = acceptance_of(session, batch_id, settings)
    text = csv_text([("metric", "value"), *acceptance_rows(row)])
    headers = {"Content-Disposition": f'attachment; filename="gtqa-acceptance-{batch_id:06d}.csv"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)


def acceptance_rows(r: AcceptanceRow) -> Iterator[tuple[str, object]]:
    yield from (("batch", r.key), ("vendor", r.batch.vendor), ("labels", r.batch.labels))
    yield from (("aql", r.plan.aql), ("ltpd", r.plan.ltpd), ("alpha", r.plan.alpha), ("beta", r.plan.beta))
    yield from (("spot_checks_decided", r.audited), ("defects", r.defects))
    yield from (("sprt_decision", r.sprt.decision.value), ("sprt_llr", r.sprt.llr))
    yield from (("sprt_accept_at", r.sprt.accept_at), ("sprt_reject_at", r.sprt.reject_at))
    yield from (
        ("single_n", r.single.n),
        ("single_c", r.single.c),
        ("single_decision", r.single_decision.value),
    )
    yield from ((f"defects_{issue}", n) for issue, n in r.defects_by_type.items())


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
    yield from (("chosen_issue_type", k, "defects", n) for k, n in d.defects_by_chosen_type.items())
    for vd in d.vendor_days:
        key = f"{vd.vendor} {vd.day.isoformat()}"
        yield from (("vendor_day", key, f"defect_rate{_suffix(k)}", v) for k, v in asdict(vd.rate).items())
    for au in d.auditors:
        yield from (("auditor", au.name, m, v) for m, v in _flat(asdict(au)) if m != "name")
    for t, k in d.quality.by_type.items():
        yield from (("issue_type_agreement", t, m, v) for m, v in _flat({"kappa": asdict(k) if k else None}))
    for a in d.acceptance:
        yield from (("acceptance", a.key, m, _cell(v)) for m, v in acceptance_rows(a) if m != "batch")
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
        yield ("burndown", start, "left", d.series.left[i])
        yield ("burndown", start, "skipped", d.series.skipped[i])
    b = d.burndown
    for metric, value in (("items", b.items), ("left", b.left), ("skipped", b.skipped), ("finish", b.finish),
                          ("due_date", b.due), ("late", b.late)):  # fmt: skip
        yield ("burndown", "", metric, _cell(value))
    yield from _calibration_rows(d)


def _calibration_rows(d: Dashboard) -> Iterator[tuple[str, str, str, object]]:
    """Each calibration version: status, audits, the gate's figures, queue precision before and after."""
    for v in d.calibrations:
        key = str(v.id)
        yield from (("calibration", key, m, x) for m, x in (("spec", v.spec_name), ("format", v.data_format),
                    ("status", v.status.value), ("current", v.current), ("audits", v.n_audits)))  # fmt: skip
        for metric in ("delta", "lo", "hi", "n"):
            yield ("calibration", key, f"gate_{metric}", _cell((v.evaluation or {}).get(metric)))
        for side, q in (("before", v.precision_before), ("after", v.precision_after)):
            yield ("calibration", key, f"precision_{side}", _cell(q.precision if q else None))
            yield ("calibration", key, f"decided_{side}", _cell(q.decided if q else None))


def _flat(values: dict[str, object]) -> Iterator[tuple[str, object]]:
    """Cells of a row: an interval (a dict) as ``name``, ``name_low``, ``name_high``, ``name_n``."""
    for name, value in values.items():
        if isinstance(value, dict):
            yield from ((f"{name}{_suffix(k)}", v) for k, v in value.items())
        else:
            yield name, _cell(value)


def _suffix(key: str) -> str:
    return "" if key == "value" else f"_{key}"


def _cell(value: object) -> object:
    return "" if value is None else value


def period(s: Series) -> str:
    """The series' period in words: hour, day, week or "N days" (a long date range)."""
    names = {3600: "hour", 86400: "day", 7 * 86400: "week"}
    seconds = int(s.size.total_seconds())
    return names.get(seconds, f"{seconds // 86400} days")


def _charts(d: Dashboard) -> dict[str, Markup]:
    s = d.series
    hourly = s.size.total_seconds() < 86400
    labels = [
        (s.start + i * s.size).strftime("%d %b %H:00" if hourly else "%d %b") for i in range(len(s.depth))
    ]
    unit = period(s)
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
        "burndown": charts.burndown(
            "burndown", "Burndown: items left to decide",
            "Items not yet decided (skipped included) and, dashed, items skipped, at the end of each "
            f"{unit}; the estimated finish and the due date are marked. The table below has the numbers.",
            _timeline(d),
        ),
        "vendor_days": _vendor_days_chart(d),
        "vendors": charts.share_bars(
            "vendors", "Audit pass rate per vendor (spot checks)",
            "Share of spot-checked labels found correct, per vendor.",
            [(g.key, g.pass_rate, f"n={g.spot_checked}") for g in d.by_vendor],
        ),
    }  # fmt: skip


def _vendor_days_chart(d: Dashboard) -> Markup:
    """Each vendor's spot-check defect rate per UTC day of decision (percent), one line per vendor."""
    days = sorted({v.day for v in d.vendor_days})
    rates: dict[str, dict[date, float]] = {}
    for v in d.vendor_days:
        rates.setdefault(v.vendor, {})[v.day] = 100.0 * v.rate.value
    lines = [(vendor, [by_day.get(day) for day in days]) for vendor, by_day in sorted(rates.items())]
    return charts.lines_over_time(
        "vendor-days", "Defect rate of each vendor's spot checks per day (%)",
        "Spot checks of unflagged labels found defective, per cent, per vendor and UTC day of decision; "
        "the table below has the numbers with their intervals and n.",
        [day.strftime("%d %b") for day in days], lines,
    )  # fmt: skip


def _timeline(d: Dashboard) -> charts.Timeline:
    """The burndown's points: each period's end (the last one is now), from the series, from the period
    before the first item was queued (a burndown starts where its queue does)."""
    s, b = d.series, d.burndown
    ends = [min(s.start + (i + 1) * s.size, d.now) for i in range(len(s.left))]
    first = next((i for i, n in enumerate(s.left) if n or s.skipped[i]), len(ends) - 1)
    keep = slice(max(first - 1, 0), None)
    return charts.Timeline(ends[keep], s.left[keep], s.skipped[keep], d.now, b.finish, b.due_end)


def _precision_chart(ident: str, title: str, rows: list[PrecisionRow]) -> Markup:
    shown = [(r.key, r.precision, f"n={r.defect + r.not_defect}") for r in rows]
    return charts.share_bars(ident, title, "Confirmed defects / (confirmed + rejected) flags.", shown)
