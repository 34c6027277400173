"""The season's measure as a floor of a response's list: kept, and its cut counts.

The city here asks more PM at yellow (a target of 600 kg instead of 150), so that without
the season the yard must stop loading to meet it. The season (17–18 Dec) makes the steel
plant lose 70 % of its output: `deep` (sinter stopped, blast furnace at half load).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from emergency.dataset import load_dataset
from emergency.respond import plan_response
from emergency.solution import WarningDecision
from tests.api.conftest import YELLOW, Clock, at_issue
from tests.api.test_season_api import approve, post_season
from tests.datafiles import small_city, write_small_dataset

API = "/api/v1"
Auth = dict[str, dict[str, str]]

SEASON = """\
id: steel-short
start: 2016-12-17
end: 2016-12-18
quotas:
  - {id: steel-70, industry: steel, output_cut: 0.7}
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    city = small_city()
    city["levels"]["yellow"]["cut_fraction"]["pm"] = 0.325  # 0.325 × 2000 − 50 = 600 kg
    return write_small_dataset(tmp_path / "data", city=city)


def test_the_season_measure_is_a_floor_and_its_cut_counts(
    client: TestClient, auth: Auth, clock: Clock, data_dir: Path
) -> None:
    season = post_season(client, auth, SEASON)
    runs = {
        (a["source"], a["measure"], a["start"], a["end"]) for a in season["schedule"]["assignments"]
    }
    assert ("JY-P001", "deep", "2016-12-17", "2016-12-18") in runs
    approve(client, auth, season["id"])

    r = client.post(
        f"{API}/consultations", json=at_issue(clock, YELLOW), headers=auth["consultation"]
    )
    assert r.status_code == 200, r.text
    rid = r.json()["response_id"]
    plan = client.get(f"{API}/responses/{rid}/plan", headers=auth["planner"]).json()
    by = {(a["source"], a["date"]): a for a in plan["assignments"]}
    days = ["2016-12-17", "2016-12-18"]
    # the steel plant keeps the season's measure (sinter stopped) on the response days
    assert [by[("JY-P001", d)]["measure"] for d in days] == ["deep", "deep"]
    assert all(by[("JY-P001", d)]["loads"]["sinter-1"] == 0.0 for d in days)
    # its cut counts: the yard need not stop loading to meet the PM target
    assert [by[("JY-Y001", d)]["measure"] for d in days] == ["cover", "cover"]

    # without the season the same warning takes the yard further
    dataset = load_dataset(data_dir)
    warning = WarningDecision.model_validate(plan["warning"])
    alone = plan_response(
        dataset, warning, days=[(dt.date.fromisoformat(d), "yellow") for d in days]
    )
    other = {(a.source, a.date.isoformat()): a for a in alone.assignments}
    assert [other[("JY-Y001", d)].measure for d in days] == ["stop-loading", "stop-loading"]
    assert [other[("JY-P001", d)].measure for d in days] == ["stop-sinter", "stop-sinter"]
    # the targets are the same (against the normal baseline); the season's cut is in the day's
    for with_season, without in zip(plan["days"], alone.days, strict=True):
        assert with_season["target_kg"] == without.target_kg.model_dump()
        assert with_season["cut_kg"]["pm"] >= with_season["target_kg"]["pm"]
    others = sum(a["cost_yuan"] for a in plan["assignments"] if a["source"] != "JY-P001")
    others_alone = sum(a.cost_yuan for a in alone.assignments if a.source != "JY-P001")
    assert others < others_alone
