"""The planner's review pages: warning, responses, curtailment list, source, map, orders,
compliance. Every page calls the service functions the JSON API calls.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from api.caching import REVALIDATE, etag_matches, not_modified
from api.deps import MAX_ID, Id, SessionDep
from api.downloads import report_download
from api.pages import views
from api.pages.auth import FLASH_COOKIE, CanSupervise, CanView, PageActor, csrf_token
from api.pages.errors import PageRoute
from api.pages.plan_list import material, page_of
from api.pages.render import SECURITY_HEADERS, pages_version, render
from api.pages.source import source_page
from api.pages.svgmap import MapLegend, source_map
from api.pages.timeline import timeline
from emergency.notify.deliveries import delivery_summaries
from emergency.service.access import Action, allowed
from emergency.service.compliance import compliance
from emergency.service.etags import etag
from emergency.service.orders import list_orders
from emergency.service.planning import loaded_data
from emergency.service.responses import (
    get_plan,
    get_response_detail,
    list_responses,
    public_warning,
)
from emergency.service.stored_plans import plan_ref
from emergency.store.db import store_of
from emergency.vocabulary import OrderStatus

router = APIRouter(route_class=PageRoute, include_in_schema=False)

Version = Annotated[int | None, Query(ge=1, le=MAX_ID)]
"""A plan version: outside 1..MAX_ID a 404 page (it cannot exist), never a query."""
PageNumber = Annotated[int, Query(ge=1, le=MAX_ID)]
"""A page of the list (from 1; past the last page: the last page)."""


def tag_page(page: Response, tag: str) -> Response:
    """A page that may be kept by the browser, revalidated on every use (``ETag``)."""
    page.headers["ETag"] = tag
    page.headers["Cache-Control"] = REVALIDATE
    return page


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep, actor: PageActor) -> HTMLResponse:
    """预警 Warning: the warning in force, its timeline and the advice to the public."""
    warning = public_warning(session)
    context: dict[str, object] = {
        "nav": "warning",
        "warning": warning,
        "detail": None,
        "events": [],
        "responses": [],
    }
    if allowed(actor, Action.read_responses):
        responses = list_responses(session, actor)
        shown = next((r for r in responses if r.status == "open"), None) or (
            responses[0] if responses else None
        )
        if shown is not None:
            detail = get_response_detail(session, actor, shown.id)
            context.update(detail=detail, events=timeline(session, actor, detail))
        context["responses"] = responses[:8]
    return render(request, "dashboard.html", context)


@router.get("/responses", response_class=HTMLResponse)
def responses_page(request: Request, session: SessionDep, actor: CanView) -> HTMLResponse:
    """响应 Responses: every response, newest first."""
    return render(
        request,
        "responses.html",
        {"nav": "responses", "responses": list_responses(session, actor)},
    )


@router.get("/responses/{response_id}", response_class=HTMLResponse)
def plan_page(
    request: Request,
    session: SessionDep,
    actor: CanView,
    response_id: Id,
    version: Version = None,
    district: str = "",
    industry: str = "",
    grade: str = "",
    kind: str = "",
    day: str = "",
    q: str = "",
    deepened: str = "",
    sort: str = views.DEFAULT_SORT,
    order: str = "",
    page: PageNumber = 1,
) -> Response:
    """清单 Curtailment list: filters, sorting, totals against targets, costs; the rows that
    pass the filters in pages of ``PAGE_ROWS``. With an ETag (the response's state, the
    plan version shown, the data, the session, the query): 304 on ``If-None-Match``."""
    ref = plan_ref(session, actor, response_id, version, with_data_key=True)
    tag = None
    if not request.cookies.get(FLASH_COOKIE):  # a page showing a flash is never kept
        tag = etag(
            "list-page", ref.response_version, ref.current, ref.stamp, ref.data_key,
            csrf_token(request), request.url.query, pages_version(),
        )  # fmt: skip
        if etag_matches(request.headers.get("if-none-match"), tag):
            return not_modified(tag, headers=SECURITY_HEADERS)
    detail = get_response_detail(session, actor, response_id)
    made = material(session, actor, ref)
    plan = made.plan
    filters = views.Filters(
        district=district,
        industry=industry,
        grade=grade,
        kind=kind,
        day=day,
        q=q,
        deepened=deepened not in ("", "0"),
        sort=sort,
        order=order,
    )
    chosen_day = views.parse_day(filters.day, plan)
    if chosen_day is None:
        filters.day = ""
    passed = made.passing(chosen_day, filters)
    shown = page_of(passed, page)
    answer = render(
        request,
        "plan.html",
        {
            "nav": "list",
            "response_id": response_id,
            "detail": detail,
            "plan": plan,
            "version": ref.number,
            "current": ref.number == detail.plan_version,
            "filters": filters,
            "options": made.options,
            "rows": shown.rows,
            "page": shown,
            "totals": made.totals(chosen_day, filters, passed),
            "all_totals": made.all_totals,
            "charts": made.charts,
            "sort_keys": views.SORT_KEYS,
            "can_override": allowed(actor, Action.override) and detail.status == "open",
            "can_approve": allowed(actor, Action.approve) and detail.status == "open",
            "can_release": allowed(actor, Action.release) and detail.status == "open",
        },
    )
    return tag_page(answer, tag) if tag else answer


@router.get("/responses/{response_id}/sources/{source_id}", response_class=HTMLResponse)
def source_view(
    request: Request, session: SessionDep, actor: CanView, response_id: Id, source_id: str
) -> HTMLResponse:
    """One source: its plan (lines, measures with loads, levels) and why this measure."""
    return source_page(request, session, actor, response_id, source_id)


@router.get("/responses/{response_id}/plan-report.xlsx")
def download_report(
    session: SessionDep, actor: CanView, response_id: Id, version: Version = None
) -> Response:
    """上报表 The report workbook (the same file as the API's ``plan-report.xlsx``)."""
    return report_download(session, actor, response_id, version)


@router.get("/responses/{response_id}/map", response_class=HTMLResponse)
def map_page(
    request: Request,
    session: SessionDep,
    actor: CanView,
    response_id: Id,
    day: str = "",
    version: Version = None,
) -> HTMLResponse:
    """地图 Map: every source from its lon/lat, coloured by what it does on a day."""
    detail = get_response_detail(session, actor, response_id)
    plan = get_plan(session, actor, response_id, version=version)
    dataset = loaded_data(session).dataset
    days = [d.date for d in plan.days]
    chosen = views.parse_day(day, plan) or (days[0] if days else None)
    svg: Markup | None = None
    legend: list[MapLegend] = []
    if chosen is not None:
        svg, legend = source_map(
            dataset,
            views.day_categories(plan, chosen),
            f"/responses/{response_id}/sources/{{source}}",
            label=f"污染源分布 Sources on {chosen}",
        )
    return render(
        request,
        "map.html",
        {
            "nav": "map",
            "response_id": response_id,
            "detail": detail,
            "days": days,
            "day": chosen,
            "svg": svg,
            "legend": legend,
        },
    )


@router.get("/responses/{response_id}/orders", response_class=HTMLResponse)
def orders_page(
    request: Request,
    session: SessionDep,
    actor: CanView,
    response_id: Id,
    status: OrderStatus | None = None,
) -> HTMLResponse:
    """指令 Orders: every order of the response with its status."""
    detail = get_response_detail(session, actor, response_id)
    orders = list_orders(session, actor, response_id=response_id, status=status)
    reached = delivery_summaries(session, [(o.id, o.status, o.issued_at) for o in orders])
    return render(
        request,
        "orders.html",
        {
            "nav": "orders",
            "response_id": response_id,
            "detail": detail,
            "orders": orders,
            "reached": reached,
            "unreached": sum(1 for r in reached.values() if r.unreached),
            "unreached_minutes": f"{store_of(session).config.notify_unreached_minutes:g}",
            "status": status or "",
        },
    )


@router.get("/responses/{response_id}/compliance", response_class=HTMLResponse)
def compliance_page(
    request: Request, session: SessionDep, actor: CanSupervise, response_id: Id
) -> HTMLResponse:
    """合规 Compliance: acknowledged, reported, anomalies."""
    detail = get_response_detail(session, actor, response_id)
    view = compliance(session, actor, response_id)
    return render(
        request,
        "compliance.html",
        {"nav": "compliance", "response_id": response_id, "detail": detail, "view": view},
    )
