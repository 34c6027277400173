"""错峰生产 The heating season: season plans, one plan's calendar, approve or reject.

- ``/season`` lists the season plan versions (pending, approved, superseded, rejected) with
  their cost and quotas, and holds the forms to post a season file and to re-plan the
  approved version from a date;
- ``/season/{id}`` shows one version: the summary, the quotas met or short, the
  **calendar** (a row per source, a column per day of the season, each run of one measure a
  cell coloured normal / curtailed / partly stopped / stopped, the measure in its title),
  with key-period days, response days and the risk marked in the header; each industry's
  running share per day and its shortfalls; approve or reject a pending version.

Every page calls the service functions of the JSON API (``emergency.service.season``,
``list_responses``, ``list_orders``); this module only groups what they return. The
calendar draws runs (``colspan``), never one element per day and source, so the bundled
season (about 250 planned sources × 121 days) stays a page of a few thousand cells; by
default only sources with a non-normal day are listed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from api.deps import Id, SessionDep
from api.pages.auth import Need, check_csrf, flash
from api.pages.errors import PageRoute
from api.pages.render import render
from emergency.dataset import Dataset
from emergency.errors import InputError
from emergency.service.access import Action, Actor
from emergency.service.errors import Conflict
from emergency.service.orders import list_orders
from emergency.service.planning import loaded_data
from emergency.service.responses import list_responses
from emergency.service.season import (
    SeasonFileErrors,
    approve_season_plan,
    get_season_plan,
    list_season_plans,
    post_season_plan,
    reject_season_plan,
    replan_season,
)
from emergency.service.views import (
    SeasonPlanDetail,
    SeasonPlanIn,
    SeasonReplanIn,
)
from emergency.settings import CITY_OFFSET
from emergency.store.db import store_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)

CanPlanSeason = Annotated[Actor, Depends(Need(Action.plan_season))]
CanApproveSeason = Annotated[Actor, Depends(Need(Action.approve_season))]
FormText = Annotated[str, Form()]

SEASON_STATUS = {
    "pending": "待审核 pending",
    "approved": "已批准 approved",
    "superseded": "已替代 superseded",
    "rejected": "已退回 rejected",
}
SCHEDULE_STATUS = {
    "optimal": "最优 optimal",
    "feasible": "可行 feasible (time limit)",
    "short": "配额不可达 short",
}
MEASURE_KINDS = {
    "normal": "正常生产 normal",
    "curtailed": "限产 curtailed",
    "part": "部分停产 a line stopped",
    "stopped": "全部停产 stopped",
}
QUOTA_KINDS = {"stop_days": "停产天数 stop days", "output_cut": "减产比例 output cut"}
SHORT_SHOWN = 12
"""Lines (or firms) short of a quota named on the page; the rest are counted."""


# ----------------------------------------------------------------------------- the calendar


@dataclass
class DayHead:
    """One column of the calendar: a day of the season and what marks it."""

    date: dt.date
    risk: float
    risk_class: int
    key_period: str | None
    level: str | None
    responses: list[str]

    @property
    def title(self) -> str:
        parts = [self.date.isoformat(), f"风险 risk {self.risk:g}"]
        if self.key_period:
            parts.append(f"重点时段 key period: {self.key_period} ({self.level or '–'})")
        parts.extend(self.responses)
        return " · ".join(parts)


@dataclass
class Cell:
    """A run of days of one source under one measure (``span`` columns)."""

    span: int
    kind: str
    title: str
    measure: str = ""


@dataclass
class CalendarRow:
    source: str
    name: str
    industry: str
    district: str
    cells: list[Cell]
    stop_days: int = 0
    curtailed_days: int = 0
    staggered: bool = False
    """A measure on a day outside the key periods (not only a key period's floor)."""

    @property
    def planned(self) -> bool:
        """Any day not at normal operation."""
        return any(c.kind != "normal" for c in self.cells)


@dataclass
class ShareCell:
    share: float
    band: int
    short: bool
    title: str


@dataclass
class ShareRow:
    industry: str
    required: float | None
    least: float
    cells: list[ShareCell]


@dataclass
class ShareShort:
    """Consecutive days an industry runs below its minimum share."""

    industry: str
    start: dt.date
    end: dt.date
    required: float
    least: float

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


SHOW = {
    "": "错峰生产的污染源 sources with a staggered measure (outside key periods)",
    "measures": "有任何措施的污染源 sources with any measure (key-period floors too)",
    "all": "全部已编制污染源 every planned source",
}


@dataclass
class CalendarFilters:
    industry: str = ""
    district: str = ""
    show: str = ""

    @property
    def any(self) -> bool:
        return bool(self.industry or self.district or self.show)

    def keeps(self, row: CalendarRow) -> bool:
        if self.show == "" and not row.staggered:
            return False
        if self.show == "measures" and not row.planned:
            return False
        return (not self.industry or row.industry == self.industry) and (
            not self.district or row.district == self.district
        )


@dataclass
class Calendar:
    days: list[DayHead]
    months: list[tuple[str, int]]
    rows: list[CalendarRow]
    total_rows: int
    planned_rows: int
    staggered_rows: int
    shares: list[ShareRow]
    share_shorts: list[ShareShort]
    industries: list[str]
    districts: list[str]
    counts: dict[str, int] = field(default_factory=dict)


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def measure_kind(line_loads: dict[str, float]) -> str:
    """normal (every line at 1), stopped (every line at 0), part (some line at 0),
    curtailed (otherwise)."""
    loads = [float(v) for v in line_loads.values()]
    if not loads or all(v >= 1 - 1e-9 for v in loads):
        return "normal"
    if all(v <= 1e-9 for v in loads):
        return "stopped"
    if any(v <= 1e-9 for v in loads):
        return "part"
    return "curtailed"


def _risk_classes(risks: list[float]) -> list[int]:
    """0 (no risk) … 4 (the riskiest quarter of the season's risky days)."""
    positive = sorted(r for r in risks if r > 0)
    if not positive:
        return [0 for _ in risks]
    cuts = [positive[min(len(positive) - 1, int(len(positive) * q))] for q in (0.25, 0.5, 0.75)]
    return [0 if r <= 0 else 1 + sum(r >= c for c in cuts) for r in risks]


def _months(days: list[dt.date]) -> list[tuple[str, int]]:
    months: list[tuple[str, int]] = []
    for day in days:
        label = f"{day:%Y-%m}"
        if months and months[-1][0] == label:
            months[-1] = (label, months[-1][1] + 1)
        else:
            months.append((label, 1))
    return months


def response_days(responses: list[Any], first: dt.date, last: dt.date) -> dict[dt.date, list[str]]:
    """The season's days on which a response was (or is) in force: day → descriptions."""
    marked: dict[dt.date, list[str]] = defaultdict(list)
    for r in responses:
        end = r.end
        if r.released_at is not None:
            end = min(end, r.released_at.astimezone(CITY_OFFSET).date())
        day = max(r.start, first)
        while day <= min(end, last):
            marked[day].append(f"应急响应 response #{r.id} ({r.level})")
            day += dt.timedelta(days=1)
    return marked


def _format_loads(loads: dict[str, float]) -> str:
    return ", ".join(f"{line} {100 * float(v):.0f} %" for line, v in sorted(loads.items()))


def _share_band(share: float) -> int:
    """0 (< 25 %) … 4 (full output)."""
    if share >= 1 - 1e-6:
        return 4
    return min(3, int(share * 4 + 1e-9))


def build_calendar(
    detail: SeasonPlanDetail,
    dataset: Dataset,
    marked: dict[dt.date, list[str]],
    filters: CalendarFilters,
) -> Calendar:
    """The calendar of one season plan version, its rows filtered."""
    schedule = detail.schedule
    day_rows = list(schedule.get("days") or [])
    dates = [_date(d["date"]) for d in day_rows]
    if not dates:
        day = detail.start
        while day <= detail.end:
            dates.append(day)
            day += dt.timedelta(days=1)
        day_rows = [{"date": d.isoformat()} for d in dates]
    risks = [float(d.get("risk") or 0.0) for d in day_rows]
    heads = [
        DayHead(
            date=date,
            risk=risk,
            risk_class=band,
            key_period=d.get("key_period"),
            level=d.get("level"),
            responses=marked.get(date, []),
        )
        for date, risk, band, d in zip(dates, risks, _risk_classes(risks), day_rows, strict=True)
    ]
    index = {date: i for i, date in enumerate(dates)}

    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in schedule.get("assignments") or []:
        runs[str(a["source"])].append(a)
    sources = [s.id for s in dataset.sources if dataset.plan(s.id) is not None]
    known = set(sources)
    sources += sorted(s for s in runs if s not in known)

    rows: list[CalendarRow] = []
    counts = dict.fromkeys(MEASURE_KINDS, 0)
    for source_id in sources:
        src = dataset.by_id.get(source_id)
        plan = dataset.plan(source_id)
        measures = plan.measures_by_id if plan is not None else {}
        cells: list[Cell] = []
        at = 0
        row = CalendarRow(
            source=source_id,
            name=src.name if src else "",
            industry=src.industry if src else "",
            district=src.district if src else "",
            cells=cells,
        )
        for a in sorted(runs.get(source_id, []), key=lambda a: str(a["start"])):
            start, end = _date(a["start"]), _date(a["end"])
            if start not in index or end not in index or index[start] < at:
                continue
            first, last = index[start], index[end]
            if first > at:
                cells.append(Cell(first - at, "normal", f"{source_id} 正常生产 normal"))
            loads = {str(k): float(v) for k, v in (a.get("line_loads") or {}).items()}
            kind = measure_kind(loads)
            measure_id = str(a.get("measure", ""))
            measure = measures.get(measure_id)
            name = f"{measure_id} {measure.name}".strip() if measure else measure_id
            span = last - first + 1
            title = (
                f"{source_id} {row.name} · {start} – {end} ({span} 天 days) · "
                f"{MEASURE_KINDS[kind]}: {name} · {_format_loads(loads)}"
            )
            cells.append(Cell(span, kind, title, measure_id))
            outside = any(heads[i].key_period is None for i in range(first, last + 1))
            row.staggered = row.staggered or (kind != "normal" and outside)
            counts[kind] += span
            if kind in ("stopped", "part"):
                row.stop_days += span
            elif kind == "curtailed":
                row.curtailed_days += span
            at = last + 1
        if at < len(dates):
            cells.append(Cell(len(dates) - at, "normal", f"{source_id} 正常生产 normal"))
        rows.append(row)

    shown = [r for r in rows if filters.keeps(r)]
    shown.sort(key=lambda r: (r.industry, r.district, r.source))

    required = detail.min_running_share
    shorts = {
        (str(s["industry"]), _date(s["date"])): s for s in schedule.get("running_share_short") or []
    }
    industries_shares = sorted({k for d in day_rows for k in (d.get("running_share") or {})})
    shares: list[ShareRow] = []
    for industry in industries_shares:
        if filters.industry and industry != filters.industry:
            continue
        values = [float((d.get("running_share") or {}).get(industry, 1.0)) for d in day_rows]
        need = required.get(industry)
        if need is None and min(values, default=1.0) >= 1 - 1e-6:
            continue
        share_cells = []
        for date, value in zip(dates, values, strict=True):
            short = (industry, date) in shorts
            title = f"{industry} {date}: {100 * value:.1f} %"
            if need is not None:
                title += f" (最低 min {100 * need:.0f} %)"
            if short:
                title += " 不足 short"
            share_cells.append(ShareCell(value, _share_band(value), short, title))
        shares.append(ShareRow(industry, need, min(values, default=1.0), share_cells))

    share_shorts: list[ShareShort] = []
    for (industry, date), s in sorted(shorts.items()):
        if filters.industry and industry != filters.industry:
            continue
        last_short = share_shorts[-1] if share_shorts else None
        if (
            last_short is not None
            and last_short.industry == industry
            and last_short.end + dt.timedelta(days=1) == date
            and abs(last_short.required - float(s["required"])) < 1e-9
        ):
            last_short.end = date
            last_short.least = min(last_short.least, float(s["achieved"]))
        else:
            share_shorts.append(
                ShareShort(industry, date, date, float(s["required"]), float(s["achieved"]))
            )

    return Calendar(
        days=heads,
        months=_months(dates),
        rows=shown,
        total_rows=len(rows),
        planned_rows=sum(r.planned for r in rows),
        staggered_rows=sum(r.staggered for r in rows),
        shares=shares,
        share_shorts=share_shorts,
        industries=sorted({r.industry for r in rows if r.industry}),
        districts=sorted({r.district for r in rows if r.district}),
        counts=counts,
    )


# ----------------------------------------------------------------------------- pages


def _list_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    *,
    season_text: str | None = None,
    risk_csv: str = "",
    error: str | None = None,
    errors: list[str] | None = None,
    replan_error: tuple[int, str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    plans = list_season_plans(session, actor)
    if season_text is None:
        season_text, risk_csv = _folder_season(request)
    context = {
        "nav": "season",
        "plans": plans,
        "SEASON_STATUS": SEASON_STATUS,
        "SCHEDULE_STATUS": SCHEDULE_STATUS,
        "season_text": season_text,
        "risk_csv": risk_csv,
        "error": error,
        "errors": errors or [],
        "replan_error": replan_error,
        "today": _today(session),
    }
    return render(request, "seasons.html", context, status_code=status_code)


def _today(session: SessionDep) -> dt.date:
    """The server's today in the city (the service's clock)."""
    return store_of(session).config.today()


def _folder_season(request: Request) -> tuple[str, str]:
    """The server's data folder's ``plans/season.yaml`` and the risk CSV it names, to start
    the form with ("", "" when there is none); the planner may change both before posting."""
    settings = getattr(request.app.state, "settings", None)
    folder = getattr(settings, "data", None)
    if folder is None:
        return "", ""
    season = Path(folder) / "plans" / "season.yaml"
    try:
        text = season.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return "", ""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return text, ""
    named = data.get("risk") if isinstance(data, dict) else None
    if not isinstance(named, str) or not re.fullmatch(r"[\w.-]+\.csv", named) or ".." in named:
        return text, ""
    try:
        return text, (season.parent / named).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return text, ""


def _pydantic_errors(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]


@router.get("/season", response_class=HTMLResponse)
def seasons_page(request: Request, session: SessionDep, actor: CanPlanSeason) -> Response:
    """错峰生产方案 Season plans: every version, newest first; post or re-plan."""
    return _list_page(request, session, actor)


@router.post("/season")
def post_season(
    request: Request,
    session: SessionDep,
    actor: CanPlanSeason,
    season: FormText = "",
    risk_csv: FormText = "",
    csrf: FormText = "",
) -> Response:
    """Post a season file: validated, scheduled, stored pending (then its page)."""
    check_csrf(request, csrf)
    risk = risk_csv if risk_csv.strip() else None
    try:
        if not season.strip():
            raise InputError("season: paste the season file (plans/season.yaml) / 请填写季节方案")
        body = SeasonPlanIn(season=season, risk_csv=risk)
        done = post_season_plan(session, actor, body)
    except SeasonFileErrors as exc:
        return _list_page(
            request,
            session,
            actor,
            season_text=season,
            risk_csv=risk_csv,
            error=exc.message.splitlines()[0],
            errors=exc.errors,
            status_code=400,
        )
    except ValidationError as exc:
        return _list_page(
            request,
            session,
            actor,
            season_text=season,
            risk_csv=risk_csv,
            error="表单有误 Bad form",
            errors=_pydantic_errors(exc),
            status_code=400,
        )
    except InputError as exc:
        return _list_page(
            request,
            session,
            actor,
            season_text=season,
            risk_csv=risk_csv,
            error=exc.message,
            status_code=400,
        )
    response = RedirectResponse(f"/season/{done.id}", status_code=303)
    flash(
        request,
        response,
        f"已编制 {done.season} 第 {done.number} 版，待审核 "
        f"Planned {done.season} v{done.number}: waiting for approval",
    )
    return response


@router.post("/season/{plan_id}/replan")
def replan(
    request: Request,
    session: SessionDep,
    actor: CanPlanSeason,
    plan_id: Id,
    from_: Annotated[str, Form(alias="from")] = "",
    risk_csv: FormText = "",
    csrf: FormText = "",
) -> Response:
    """Re-plan the approved version from a date (a new pending version)."""
    check_csrf(request, csrf)
    try:
        first = dt.date.fromisoformat(from_.strip()) if from_.strip() else None
    except ValueError:
        return _list_page(
            request,
            session,
            actor,
            replan_error=(plan_id, f"from: {from_!r} is not a date (YYYY-MM-DD)", []),
            status_code=400,
        )
    try:
        body = SeasonReplanIn.model_validate(
            {"from": first, "risk_csv": risk_csv if risk_csv.strip() else None}
        )
        done = replan_season(session, actor, plan_id, body)
    except SeasonFileErrors as exc:
        return _list_page(
            request,
            session,
            actor,
            replan_error=(plan_id, exc.message.splitlines()[0], exc.errors),
            status_code=400,
        )
    except ValidationError as exc:
        return _list_page(
            request,
            session,
            actor,
            replan_error=(plan_id, "表单有误 Bad form", _pydantic_errors(exc)),
            status_code=400,
        )
    except (InputError, Conflict) as exc:
        return _list_page(
            request,
            session,
            actor,
            replan_error=(plan_id, exc.message, []),
            status_code=409 if isinstance(exc, Conflict) else 400,
        )
    response = RedirectResponse(f"/season/{done.id}", status_code=303)
    flash(
        request,
        response,
        f"已从 {done.effective_from} 起重新编制，第 {done.number} 版待审核 "
        f"Re-planned from {done.effective_from}: v{done.number} waits for approval",
    )
    return response


def _plan_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    plan_id: int,
    filters: CalendarFilters,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    detail = get_season_plan(session, actor, plan_id)
    dataset = loaded_data(session).dataset
    marked = response_days(list_responses(session, actor), detail.start, detail.end)
    calendar = build_calendar(detail, dataset, marked, filters)
    orders = (
        list_orders(session, actor, kind="staggered", season_plan_id=plan_id)
        if detail.status in ("approved", "superseded")
        else []
    )
    context = {
        "nav": "season",
        "p": detail,
        "cal": calendar,
        "filters": filters,
        "orders": orders,
        "error": error,
        "SEASON_STATUS": SEASON_STATUS,
        "SCHEDULE_STATUS": SCHEDULE_STATUS,
        "MEASURE_KINDS": MEASURE_KINDS,
        "SHOW": SHOW,
        "QUOTA_KINDS": QUOTA_KINDS,
        "SHORT_SHOWN": SHORT_SHOWN,
        "bound": detail.schedule.get("bound_yuan"),
        "gap": detail.schedule.get("gap"),
        "key_periods": detail.key_periods,
    }
    return render(request, "season_plan.html", context, status_code=status_code)


@router.get("/season/{plan_id}", response_class=HTMLResponse)
def season_plan_page(
    request: Request,
    session: SessionDep,
    actor: CanPlanSeason,
    plan_id: Id,
    industry: str = "",
    district: str = "",
    show: str = "",
) -> Response:
    """一个季节方案 One season plan: summary, quotas, calendar, running shares, decision."""
    filters = CalendarFilters(
        industry=industry, district=district, show=show if show in SHOW else ""
    )
    return _plan_page(request, session, actor, plan_id, filters)


@router.post("/season/{plan_id}/{decision}")
def season_decision(
    request: Request,
    session: SessionDep,
    actor: CanApproveSeason,
    plan_id: Id,
    decision: str,
    note: FormText = "",
    csrf: FormText = "",
) -> Response:
    """批准 approve (staggered orders issued) or 退回 reject (a reason required)."""
    check_csrf(request, csrf)
    filters = CalendarFilters()
    if decision not in ("approve", "reject"):
        return _plan_page(
            request, session, actor, plan_id, filters, error="unknown decision", status_code=404
        )
    try:
        if decision == "approve":
            done = approve_season_plan(session, actor, plan_id, note=note.strip())
            text = (
                f"已批准第 {done.season_plan.number} 版，下达错峰生产指令 {len(done.issued)} 条 "
                f"Approved: {len(done.issued)} staggered orders issued"
                f" ({done.kept} kept, {len(done.superseded)} superseded, {len(done.lifted)} lifted)"
            )
        else:
            rejected = reject_season_plan(session, actor, plan_id, note=note.strip())
            text = f"已退回第 {rejected.number} 版 Rejected: v{rejected.number}"
    except (InputError, Conflict) as exc:
        return _plan_page(
            request,
            session,
            actor,
            plan_id,
            filters,
            error=exc.message,
            status_code=409 if isinstance(exc, Conflict) else 400,
        )
    response = RedirectResponse(f"/season/{plan_id}", status_code=303)
    flash(request, response, text)
    return response
