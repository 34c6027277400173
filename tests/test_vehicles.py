"""Transport duties in plans (validated, milder higher levels refused, levels inherited),
Chinese number plates, and the indicative emission of an entry."""

from __future__ import annotations

from typing import Any

import pytest

from emergency.plans import parse_plan
from emergency.vehicles.duties import Ban, TransportDuty, duties_at
from emergency.vehicles.factors import entry_kg, total
from emergency.vehicles.plates import normal_plate
from tests.datafiles import dump_yaml, small_plans

STEEL = small_plans()["JY-P001"]


def parsed(transport: Any) -> tuple[Any, list[str]]:
    text = dump_yaml(STEEL | {"transport": transport})
    plan, errors, _node = parse_plan(text, "plans/enterprises/JY-P001.yaml")
    return plan, errors


GOOD = {
    "orange": {
        "banned": [{"vehicle": "heavy_truck", "max_standard": 4}],
        "max_truck_entries_per_day": 40,
    },
    "red": {
        "banned": [
            {"vehicle": "heavy_truck", "max_standard": 4},
            {"vehicle": "heavy_truck", "max_standard": 5, "fuels": ["diesel"]},
        ],
        "max_truck_entries_per_day": 20,
    },
}


def test_a_plan_with_transport_duties_reads() -> None:
    plan, errors = parsed(GOOD)
    assert errors == []
    red = plan.transport["red"]
    assert red.max_truck_entries_per_day == 20
    assert red.banning("heavy_truck", "5", "diesel") is not None
    assert red.banning("heavy_truck", "5", "lng") is None
    assert red.banning("heavy_truck", "4", "lng") is not None
    assert red.banning("heavy_truck", "6", "diesel") is None
    assert red.banning("heavy_truck", "electric", "electric") is None
    assert red.banning("medium_truck", "3", "diesel") is None
    plan, errors = parsed({})
    assert errors == [] and plan.transport == {}


@pytest.mark.parametrize(
    ("transport", "field", "words"),
    [
        ({"purple": {}}, "transport.purple", "unknown level"),
        ({"orange": {"banned": [{"vehicle": "tractor", "max_standard": 4}]}},
         "transport.orange.banned[0].vehicle", "unknown vehicle 'tractor'"),
        ({"orange": {"banned": [{"vehicle": "heavy_truck", "max_standard": 2}]}},
         "transport.orange.banned[0].max_standard", "greater than or equal to 3"),
        ({"orange": {"banned": [{"vehicle": "heavy_truck", "max_standard": 7}]}},
         "transport.orange.banned[0].max_standard", "less than or equal to 6"),
        ({"orange": {"banned": [{"vehicle": "heavy_truck", "max_standard": 4, "fuels": ["coal"]}]}},
         "transport.orange.banned[0].fuels[0]", "unknown fuel 'coal'"),
        ({"orange": {"max_truck_entries_per_day": -1}},
         "transport.orange.max_truck_entries_per_day", "greater than or equal to 0"),
        ({"orange": {"max_truck_entries_per_day": 1.5}},
         "transport.orange.max_truck_entries_per_day", "integer"),
        ({"orange": {"cap": 3}}, "transport.orange.cap", "unknown field"),
        ({"orange": {"banned": [{"vehicle": "heavy_truck"}]}},
         "transport.orange.banned[0].max_standard", "missing field"),
    ],
)  # fmt: skip
def test_bad_transport_duties_name_the_line_and_field(
    transport: Any, field: str, words: str
) -> None:
    _plan, errors = parsed(transport)
    assert len(errors) == 1, errors
    assert errors[0].startswith("plans/enterprises/JY-P001.yaml:")
    assert f": {field}: " in errors[0] and words in errors[0], errors


def ban(max_standard: int, *fuels: str) -> dict[str, Any]:
    return {"vehicle": "heavy_truck", "max_standard": max_standard, "fuels": list(fuels)}


RED_CAP = "transport.red.max_truck_entries_per_day"


@pytest.mark.parametrize(
    ("red", "field", "words"),
    [
        ({"banned": [ban(5, "diesel")], "max_truck_entries_per_day": 20},
         "transport.red.banned", "level red is milder than orange: it does not ban heavy_truck"),
        ({"banned": [ban(3)], "max_truck_entries_per_day": 20},
         "transport.red.banned", "does not ban heavy_truck ≤ 4"),
        ({"banned": [ban(6)], "max_truck_entries_per_day": 50},
         RED_CAP, "50 heavy-truck entries a day where orange allows 40"),
        ({"banned": [ban(6)]}, RED_CAP, "no cap on heavy-truck entries where orange allows 40"),
    ],
)  # fmt: skip
def test_a_higher_level_milder_than_a_lower_one_is_refused(
    red: dict[str, Any], field: str, words: str
) -> None:
    """The issue's own example (red bans China V diesel only, orange every China IV) is
    milder at red for a China IV gas truck: refused."""
    _plan, errors = parsed({"orange": GOOD["orange"], "red": red})
    assert len(errors) == 1, errors
    assert f": {field}: " in errors[0] and words in errors[0], errors


def test_stricter_going_up_is_accepted_and_any_fuel_covers_a_fuel_list() -> None:
    yellow = {"banned": [{"vehicle": "heavy_truck", "max_standard": 3, "fuels": ["diesel"]}]}
    orange = {
        "banned": [{"vehicle": "heavy_truck", "max_standard": 4}],
        "max_truck_entries_per_day": 0,
    }
    _plan, errors = parsed({"yellow": yellow, "orange": orange})
    assert errors == []


def test_a_level_not_listed_has_the_duties_of_the_nearest_lower_one() -> None:
    orange = TransportDuty(banned=[Ban(vehicle="heavy_truck", max_standard=4)])
    red = TransportDuty(max_truck_entries_per_day=5, banned=orange.banned)
    assert duties_at({"orange": orange}, "red") is orange
    assert duties_at({"orange": orange}, "orange") is orange
    assert duties_at({"orange": orange}, "yellow") is None
    assert duties_at({"orange": orange, "red": red}, "red") is red
    assert duties_at({"orange": orange}, None) is None
    assert duties_at({"orange": orange}, "none") is None


@pytest.mark.parametrize(
    ("text", "plate"),
    [
        ("豫U12345", "豫U12345"),
        ("豫u a1234", "豫UA1234"),
        ("豫U·12345", "豫U12345"),
        ("豫UD12345", "豫UD12345"),
        ("豫UFA1234", "豫UFA1234"),
        ("豫U12345D", "豫U12345D"),
        ("豫U1234挂", "豫U1234挂"),
        ("粤Z1234港", "粤Z1234港"),
        ("京A0000学", "京A0000学"),
    ],
)
def test_chinese_plates_are_written_one_way(text: str, plate: str) -> None:
    assert normal_plate(text) == plate


@pytest.mark.parametrize(
    "text",
    [
        "",
        "U12345",
        "AB12345",  # no province
        "豫12345",  # no office letter
        "豫U1234",  # too short
        "豫U123456",  # seven: neither ordinary nor new energy
        "豫UI2345",  # I is not used
        "豫UO2345",  # O is not used
        "豫UD1234X",
        "豫U12345挂",
        "X" * 200,
        "豫U12345\x00",
    ],
)
def test_what_is_not_a_plate_is_refused(text: str) -> None:
    assert normal_plate(text) is None


def test_an_entry_emits_more_the_older_its_standard_and_nothing_when_electric() -> None:
    older, newer = entry_kg("heavy_truck", "4", "diesel"), entry_kg("heavy_truck", "6", "diesel")
    assert set(older) == {"nox", "pm", "vocs"}
    assert all(older[p] > newer[p] > 0 for p in older)
    assert entry_kg("heavy_truck", "electric", "electric") == {}
    assert entry_kg("heavy_truck", "electric", "hydrogen") == {}
    assert entry_kg("light_truck", "4", "diesel")["nox"] < older["nox"]
    assert entry_kg("heavy_truck", "4", "lng")["pm"] < older["pm"]
    assert total([older, older]) == {p: pytest.approx(2 * v) for p, v in older.items()}


def test_the_synthetic_key_vehicle_users_get_valid_transport_duties() -> None:
    """Steel, coking, cement and power plants of the generated city carry transport
    duties that validate (stricter going up); the other plants none."""
    from emergency.plans import Plan, check_plan
    from emergency.synth import synthesize
    from emergency.vehicles.synth import TRANSPORT_INDUSTRIES

    city = synthesize(400, 2016)
    industry = {row["id"]: row["industry"] for row in city.rows}
    with_duties = 0
    for data in city.plans:
        plan = Plan.model_validate(data)
        assert [p for p in check_plan(plan) if p.path[:1] == ("transport",)] == []
        if industry[plan.enterprise] in TRANSPORT_INDUSTRIES:
            with_duties += 1
            red, orange = plan.transport["red"], plan.transport["orange"]
            assert red.banning("heavy_truck", "5", "diesel") is not None
            assert orange.banning("heavy_truck", "4", "lng") is not None
            assert red.max_truck_entries_per_day is not None
            assert orange.max_truck_entries_per_day is not None
            assert red.max_truck_entries_per_day <= orange.max_truck_entries_per_day
        else:
            assert plan.transport == {}
    assert with_duties >= 4
    assert synthesize(400, 2016).plans == city.plans  # reproducible
