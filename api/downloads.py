"""The curtailment list as a file download (CSV or XLSX): one place for the API and pages.

The files come from :mod:`emergency.export`, which writes text that a spreadsheet would
take for a formula (``=HYPERLINK(...)`` as a measure's name) as text with a leading ``'``.
"""

from __future__ import annotations

from typing import Literal

from fastapi import Request, Response
from sqlalchemy.orm import Session

from api.caching import conditional
from emergency.export import to_csv, to_xlsx
from emergency.service.access import Actor
from emergency.service.etags import response_plan_etag
from emergency.service.planning import loaded_data
from emergency.service.report import report_xlsx
from emergency.service.responses import get_plan
from emergency.service.stored_plans import plan_ref

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download_language(accept_language: str | None) -> str:
    """``zh`` when the client's ``Accept-Language`` prefers Chinese, else ``en`` (also when
    it sends none: the downloads as they were before they had a language)."""
    best, best_q = "en", -1.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and q > best_q:
            best, best_q = ("zh" if tag.lower().startswith("zh") else "en"), q
    return best


def plan_download(
    request: Request,
    session: Session,
    actor: Actor,
    response_id: int,
    fmt: Literal["csv", "xlsx"],
    version: int | None = None,
    lang: str = "en",
) -> Response:
    """A plan version of a response as an attachment named ``response-<id>.<fmt>``, headers
    in ``lang`` (a Chinese CSV starts with a byte-order mark, for Excel). With an ETag of
    the stored version, the format, the language and the data it names things from: 304
    on ``If-None-Match`` (after the access check)."""
    ref = plan_ref(session, actor, response_id, version, with_data_key=True)

    def answer() -> Response:
        plan = get_plan(session, actor, response_id, version=ref.number)
        dataset = loaded_data(session).dataset
        if fmt == "csv":
            text = to_csv(plan, dataset, lang)
            body: str | bytes = "\ufeff" + text if lang == "zh" else text
            media = "text/csv; charset=utf-8"
        else:
            body, media = to_xlsx(plan, dataset, lang), XLSX
        disposition = f'attachment; filename="response-{response_id}.{fmt}"'
        return Response(body, media_type=media, headers={"Content-Disposition": disposition})

    tag = response_plan_etag(ref, fmt, lang, ref.data_key)
    return conditional(request, tag, answer, vary="Accept-Language")


def report_download(
    session: Session, actor: Actor, response_id: int, version: int | None = None
) -> Response:
    """The report workbook (上报表, :mod:`emergency.upward`) of a response as an attachment
    named ``response-<id>-report.xlsx``: the approved version unless ``version`` is given."""
    body = report_xlsx(session, actor, response_id, version=version)
    name = f"response-{response_id}-report.xlsx"
    return Response(
        body, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
