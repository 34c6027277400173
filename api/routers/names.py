"""The names of the engine's codes, for clients that show them: ``GET /names``.

Codes (``steel``, ``plant``, ``orange``, ``acknowledged``) are what every JSON answer carries;
this table (:mod:`emergency.names`, the one the CLI, the exports and the pages use) gives
what a person reads, in the language of ``?lang=`` or else ``Accept-Language`` (Chinese
unless English is preferred).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from api.errors import message_language
from emergency.names import NAMES, POLLUTANT_LABEL

router = APIRouter(tags=["names"])


class Names(BaseModel):
    """kind of name → code → name, in one language."""

    lang: Literal["zh", "en"]
    names: dict[str, dict[str, str]] = Field(
        description="industry, kind, grade, guarantee, verification, level, plan_status, "
        "response_status, order_status, version_status, fixed, measure, pollutant"
    )


@router.get("/names", response_model=Names, summary="Names of the codes, in Chinese or English")
def get_names(
    request: Request,
    lang: Annotated[
        Literal["zh", "en"] | None, Query(description="zh or en (default: Accept-Language)")
    ] = None,
) -> Names:
    """Every code the API answers with, and its name in ``lang`` (no sign-in needed)."""
    chosen = lang or message_language(request)
    table = {kind: dict(codes) for kind, codes in NAMES[chosen].items()}
    table["pollutant"] = dict(POLLUTANT_LABEL)
    return Names(lang=chosen, names=table)
