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
from emergency import __version__
from emergency.names import (
    ORDER_STATUS_ZH,
    label,
)
from emergency.settings import CITY_OFFSET

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE.parent / "templates"
STATIC_DIR = HERE.parent / "static"


def named(key: object, kind: str) -> str:
    """A code as planners read it: the Chinese name with the English (``钢铁 steel``), from
    the one table of :mod:`emergency.names`; the code alone when both are the same; '' for
    nothing. ``kind``: ``industry``, ``kind``, ``grade``, ``guarantee``, ``level``,
    ``plan_status``, ``response_status``, ``order_status``, ``version_status``, ``fixed``,
    ``measure``, ``category`` (an AQI band)."""
    if key is None or key == "":
        return ""
    code = str(key)
    zh, en = label(kind, code, "zh"), label(kind, code, "en")
    return zh if zh == en else f"{zh} {en}"


def bilingual(zh: str | None, en: str | None) -> tuple[str, str]:
    """A text first in Chinese, then the English beside it: ``(zh, en)``; where the Chinese
    is empty (plans stored before it existed) the English alone, as ``(en, "")``."""
    if zh and zh != en:
        return zh, en or ""
    return en or zh or "", ""


POLLUTANT_LABELS = {
    "so2": "SO₂",
    "nox": "NOx",
    "pm": "颗粒物 PM",
    "vocs": "VOCs",
    "so2+nox": "SO₂+NOx",
}
ANOMALY_LABELS = {
    "load": "负荷超限 load",
    "electricity": "用电超限 electricity",
    "ack_overdue": "未按时确认 ack overdue",
    "ack_late": "确认迟到 ack late",
    "report_missed": "未按时报告 report missed",
    "meter_stopped_draws": "停产仍用电 stopped line draws power",
    "meter_over_limit": "用电超限产 over the limit by meter",
    "meter_missing": "分表无数据 meter data missing",
    "vehicle_banned": "禁行车辆进出 banned vehicle",
    "vehicle_over_cap": "货车超量 trucks over the cap",
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
    return f"{label('level', level, 'zh')} {level.capitalize()}"


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


@cache
def pages_version() -> str:
    """A short hash of the templates, the static files and the release: part of every
    page's ETag, so a new release never answers 304 with an old page."""
    digest = hashlib.sha256(f"{__version__}|{static_version()}".encode())
    for path in sorted(TEMPLATES_DIR.glob("*")):
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
        named=named,
    )
    env.globals.update(
        ANOMALY_LABELS=ANOMALY_LABELS,
        static_version=static_version,
        named=named,
        bilingual=bilingual,
        ORDER_STATUSES=[str(k) for k in ORDER_STATUS_ZH],
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
