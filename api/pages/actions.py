"""What the planner does from the pages: sign in and out, override, approve, release,
download. Each action is one service call; a success redirects (POST → 303 → GET) with a
one-time message, a refusal renders the form again with the reason.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from api.deps import MAX_ID, Id, SessionDep
from api.downloads import plan_download
from api.pages.auth import (
    SESSION_COOKIE,
    CanApprove,
    CanOverride,
    CanRelease,
    CanView,
    check_csrf,
    check_login_csrf,
    check_origin,
    flash,
    login_csrf_token,
    login_nonce,
    safe_next,
    set_login_cookie,
    sign_in,
    sign_out,
)
from api.pages.errors import PageRoute
from api.pages.render import number, render
from api.pages.source import source_page
from emergency.errors import InputError, ValidationErrors
from emergency.service.errors import Conflict, Unauthorized
from emergency.service.orders import approve
from emergency.service.overrides import add_override
from emergency.service.periods import periods
from emergency.service.planning import loaded_data
from emergency.service.responses import get_plan, get_response_detail, release
from emergency.service.sessions import end_session, open_session, session_actor
from emergency.service.views import OverrideIn
from emergency.store.db import store_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)

FormText = Annotated[str, Form()]


def _see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# ----------------------------------------------------------------------------- signing in


def _login_page(
    request: Request, next: str, error: str | None = None, status_code: int = 200
) -> Response:
    """The sign-in form, with the CSRF token of this browser's pre-sign-in cookie."""
    nonce, new = login_nonce(request)
    context = {"next": safe_next(next), "error": error, "csrf": login_csrf_token(nonce)}
    response = render(request, "login.html", context, status_code=status_code)
    if new:
        set_login_cookie(request, response, nonce)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, session: SessionDep, next: str = "/") -> Response:
    """登录 Sign in with an API token."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        try:
            session_actor(session, session_id)
            return _see(safe_next(next))
        except Unauthorized:
            pass
    return _login_page(request, next)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    token: FormText = "",
    next: FormText = "/",
    csrf: FormText = "",
) -> Response:
    """Open a session: only from our own sign-in form (Origin and CSRF token checked)."""
    check_origin(request)
    if not check_login_csrf(request, csrf):
        return _login_page(
            request,
            next,
            "登录表单已过期，请重试 The sign-in form has expired: please try again",
            status_code=403,
        )
    try:
        actor, session_id = open_session(session, token.strip())
    except Unauthorized:
        return _login_page(
            request, next, "令牌无效或已撤销 Invalid or revoked token", status_code=401
        )
    end_session(session, request.cookies.get(SESSION_COOKIE))  # the browser's previous one
    response = _see(safe_next(next))
    max_age_s = round(store_of(session).config.session_max_hours * 3600)
    sign_in(request, response, session_id, max_age_s)
    flash(request, response, f"已登录 Signed in as {actor.name} ({actor.role})")
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, csrf: FormText = "") -> Response:
    """退出 Sign out: the session ends (the token itself stays valid for the API)."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        try:
            session_actor(session, session_id)
        except Unauthorized:
            pass
        else:
            request.state.session_id = session_id
            check_csrf(request, csrf)
            end_session(session, session_id)
    response = _see("/login")
    sign_out(response)
    return response


# ----------------------------------------------------------------------------- override


@router.post("/responses/{response_id}/overrides", response_class=HTMLResponse)
def override(
    request: Request,
    session: SessionDep,
    actor: CanOverride,
    response_id: Id,
    source: FormText,
    choice: FormText = "",
    reason: FormText = "",
    csrf: FormText = "",
) -> Response:
    """调整 Override: force a measure or exempt a source, then re-optimise."""
    check_csrf(request, csrf)
    form = {"choice": choice, "reason": reason}
    before = get_response_detail(session, actor, response_id).total_cost_yuan
    try:
        if choice == "exempt":
            body = OverrideIn(source=source, exempt=True, reason=reason.strip())
        elif choice.startswith("m:"):
            body = OverrideIn(source=source, measure=choice[2:], reason=reason.strip())
        else:
            raise InputError("请选择措施或豁免 Choose a measure or exempt")
        plan = add_override(session, actor, response_id, body)
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc'])) or 'form'}: {e['msg']}" for e in exc.errors()]
        return source_page(
            request,
            session,
            actor,
            response_id,
            source,
            error="表单有误 The form is not valid",
            errors=problems,
            form=form,
            status_code=400,
        )
    except (ValidationErrors, InputError, Conflict) as exc:
        status = 409 if isinstance(exc, Conflict) else 400
        details = exc.errors if isinstance(exc, ValidationErrors) else []
        return source_page(
            request,
            session,
            actor,
            response_id,
            source,
            error=str(exc.message),
            errors=details,
            form=form,
            status_code=status,
        )
    response = _see(f"/responses/{response_id}")
    flash(
        request,
        response,
        f"已重新优化 Re-optimised after the override of {source}: "
        f"总费用 total cost {number(before)} → {number(plan.total_cost_yuan)} 元 yuan "
        f"({plan.status}); 需重新批准 approve again to issue orders",
    )
    return response


# ----------------------------------------------------------------------------- approve


@router.get("/responses/{response_id}/approve", response_class=HTMLResponse)
def approve_form(
    request: Request, session: SessionDep, actor: CanApprove, response_id: Id
) -> Response:
    """批准 Approve: what approving the current plan version will do; confirm to issue."""
    detail = get_response_detail(session, actor, response_id)
    plan = get_plan(session, actor, response_id)
    wanted = periods(plan, loaded_data(session).dataset)
    return render(
        request,
        "approve.html",
        {
            "nav": "list",
            "response_id": response_id,
            "detail": detail,
            "plan": plan,
            "periods": wanted,
            "sources": len({p.source for p in wanted}),
        },
    )


@router.post("/responses/{response_id}/approve")
def approve_action(
    request: Request,
    session: SessionDep,
    actor: CanApprove,
    response_id: Id,
    plan_version: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
    csrf: FormText = "",
) -> Response:
    check_csrf(request, csrf)
    result = approve(session, actor, response_id, plan_version=plan_version)
    response = _see(f"/responses/{response_id}/orders")
    if result.already_approved:
        text = f"第 {result.plan_version} 版已批准过 Plan version {result.plan_version} was "
        text += f"already approved: nothing new issued ({result.kept} orders in force)"
    else:
        text = (
            f"已批准第 {result.plan_version} 版 Approved plan version {result.plan_version}: "
            f"下达 {len(result.issued)} 条指令 orders issued, {len(result.superseded)} "
            f"superseded, {len(result.lifted)} lifted, {result.kept} kept"
        )
    flash(request, response, text)
    return response


# ----------------------------------------------------------------------------- release


@router.get("/responses/{response_id}/release", response_class=HTMLResponse)
def release_form(
    request: Request, session: SessionDep, actor: CanRelease, response_id: Id
) -> Response:
    """解除 Release: every order in force is lifted; confirm first."""
    detail = get_response_detail(session, actor, response_id)
    return render(
        request, "release.html", {"nav": "list", "response_id": response_id, "detail": detail}
    )


@router.post("/responses/{response_id}/release")
def release_action(
    request: Request,
    session: SessionDep,
    actor: CanRelease,
    response_id: Id,
    note: FormText = "",
    csrf: FormText = "",
) -> Response:
    check_csrf(request, csrf)
    detail = release(session, actor, response_id, note=note.strip()[:2000])
    response = _see(f"/responses/{response_id}/orders")
    lifted = detail.orders_by_status.get("lifted", 0)
    flash(request, response, f"响应已解除 Response released; {lifted} 条指令已解除 orders lifted")
    return response


# ----------------------------------------------------------------------------- downloads


Version = Annotated[int | None, Query(ge=1, le=MAX_ID)]


@router.get("/responses/{response_id}/plan.csv")
def download_csv(
    request: Request, session: SessionDep, actor: CanView, response_id: Id, version: Version = None
) -> Response:
    """The list as CSV (the same file as the API's ``plan.csv``)."""
    return plan_download(request, session, actor, response_id, "csv", version)


@router.get("/responses/{response_id}/plan.xlsx")
def download_xlsx(
    request: Request, session: SessionDep, actor: CanView, response_id: Id, version: Version = None
) -> Response:
    """The list as an Excel workbook (the same file as the API's ``plan.xlsx``)."""
    return plan_download(request, session, actor, response_id, "xlsx", version)
