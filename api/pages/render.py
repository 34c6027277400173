"""Templates, display filters and the HTML response every page goes through.

Labels are Chinese with English (``预警 Warning``); quantities keep the unit of their
field (kg per day, yuan). Times are shown in the city's local time (+08:00).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from api.pages.auth import csrf_token, pop_flash
from emergency.settings import CITY_OFFSET

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE.parent / "templates"
STATIC_DIR = HERE.parent / "static"

LEVELS_ZH = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
POLLUTANT_LABELS = {
    "so2": "SO₂",
    "nox": "NOx",
    "pm": "颗粒物 PM",
    "vocs": "VOCs",
    "so2+nox": "SO₂+NOx",
}
STATUS_LABELS = {
    "optimal": "最优 optimal",
    "feasible": "可行 feasible (time limit)",
    "short": "目标不可达 short",
    "no_warning": "无预警 no warning",
}
ORDER_STATUS_LABELS = {
    "issued": "已下达 issued",
    "acknowledged": "已确认 acknowledged",
    "superseded": "已替代 superseded",
    "lifted": "已解除 lifted",
}
KIND_LABELS = {
    "plant": "企业 plant",
    "site": "工地 site",
    "yard": "堆场 yard",
    "quarry": "矿山 quarry",
}
FIXED_LABELS = {
    "": "",
    "guaranteed": "保障类 guaranteed",
    "protected_grade": "保护绩效等级 protected grade",
    "override": "人工指定 override",
    "exempt": "豁免 exempt",
    "state": "延续停产 stop continued",
}
ANOMALY_LABELS = {
    "load": "负荷超限 load",
    "electricity": "用电超限 electricity",
    "ack_overdue": "未按时确认 ack overdue",
    "ack_late": "确认迟到 ack late",
}

SECURITY_HEADERS = {
    # No inline script or style: every script and stylesheet comes from /static.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def level_label(level: str | None) -> str:
    """``橙色 Orange``; ``无 none`` without a level."""
    if not level:
        return "无 none"
    return f"{LEVELS_ZH.get(level, level)} {level.capitalize()}"


def pollutant_label(key: str) -> str:
    return POLLUTANT_LABELS.get(key, key)


def number(value: float | None, digits: int = 0) -> str:
    """Thousands separators; a dash for nothing."""
    if value is None:
        return "–"
    if digits == 0:
        return f"{round(value):,}"
    return f"{value:,.{digits}f}"


def percent(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{100 * value:.{digits}f} %"


def local_time(value: dt.datetime | None) -> str:
    """``2016-12-15 18:00`` in the city's time (+08:00)."""
    if value is None:
        return "–"
    try:
        return value.astimezone(CITY_OFFSET).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, ValueError):  # a stored time at the edge of year 1 or 9999
        return value.isoformat(sep=" ", timespec="minutes")


def day(value: dt.date | None) -> str:
    return value.isoformat() if value is not None else "–"


@cache
def static_version() -> str:
    """A short hash of the static files: a new release is never served stale CSS."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.glob("*")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        level_label=level_label,
        pollutant=pollutant_label,
        number=number,
        percent=percent,
        local_time=local_time,
        day=day,
    )
    env.globals.update(
        LEVELS_ZH=LEVELS_ZH,
        STATUS_LABELS=STATUS_LABELS,
        ORDER_STATUS_LABELS=ORDER_STATUS_LABELS,
        KIND_LABELS=KIND_LABELS,
        FIXED_LABELS=FIXED_LABELS,
        ANOMALY_LABELS=ANOMALY_LABELS,
        static_version=static_version,
    )
    return env


templates = Jinja2Templates(env=_environment())


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """A page: the template with the signed-in actor, the CSRF token and the flash."""
    state = request.state
    actor = getattr(state, "actor", None)
    flash = pop_flash(request)
    full = {
        "actor": actor,
        "csrf": csrf_token(request),
        "flash": flash,
        "nav": None,
        "response_id": None,
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, full, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    if flash is not None:
        response.delete_cookie("emergency_flash", path="/")
    return response
