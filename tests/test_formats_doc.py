"""docs/FORMATS.md stays true: its examples parse, and every field of the formats is named."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from emergency.cityplan import CityNotice, CityPlan, Geocode, parse_city_text
from emergency.forecast import Concentrations, Forecast, ForecastDay, parse_forecast
from emergency.inventory import COLUMNS
from emergency.plans import Line, Measure, Plan, parse_plan_text
from emergency.solution import (
    Assignment,
    DayResult,
    ResponsePlan,
    TargetRow,
    WarningDay,
    WarningDecision,
)

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "FORMATS.md").read_text(encoding="utf-8")


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC, flags=re.DOTALL)


def test_the_forecast_example_parses() -> None:
    forecast = parse_forecast(json.loads(blocks("json")[0]), "FORMATS.md")
    assert len(forecast.days) == 4 and forecast.days[3].wide_range is True


def test_the_warning_example_is_a_warning() -> None:
    warning = WarningDecision.model_validate_json(blocks("json")[1])
    assert warning.level is not None and warning.days and warning.reason


def test_the_plan_example_parses() -> None:
    plan = parse_plan_text(blocks("yaml")[0], "FORMATS.md")
    assert plan.enterprise == "JY-P004" and plan.levels["orange"] == "orange-plan"


def test_the_city_plan_example_parses_but_for_the_elided_kinds() -> None:
    text = blocks("yaml")[1].replace("  yard: {...}\n  quarry: {...}\n", "")
    city, errors = parse_city_text(text, "FORMATS.md")
    assert city is not None and errors == [], errors
    assert city.notice is not None and city.notice.number == "济重污应急〔{year}〕{seq}号"
    assert city.notice.geocode == Geocode(valueName="GB/T 2260", value="419001")


def test_the_csv_example_has_the_columns() -> None:
    assert blocks("csv")[0].splitlines()[0] == ",".join(COLUMNS)


@pytest.mark.parametrize(
    "model",
    [
        Forecast,
        ForecastDay,
        Concentrations,
        WarningDecision,
        WarningDay,
        ResponsePlan,
        DayResult,
        TargetRow,
        Assignment,
        Plan,
        Line,
        Measure,
        CityPlan,
        CityNotice,
        Geocode,
    ],
    ids=lambda m: m.__name__,
)
def test_every_field_is_named(model: type[BaseModel]) -> None:
    missing = [name for name in model.model_fields if f"`{name}`" not in DOC and name not in DOC]
    assert not missing, f"docs/FORMATS.md does not name {model.__name__}: {missing}"


def test_docs_cite_only_files_of_the_repository() -> None:
    """README and docs/*.md send readers to files here, never to a SPEC or DOMAIN elsewhere."""
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\bSPEC\b|\bDOMAIN\b", text), path.name
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" not in target:
                assert (path.parent / target).exists(), f"{path.name} links to {target}"
