"""The forecast file (docs/FORMATS.md): shapes accepted; every problem at once, one line each."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from emergency.errors import InputError, ValidationErrors
from emergency.forecast import json_lines, load_forecast, parse_forecast

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def good() -> dict[str, Any]:
    return {
        "issued_at": "2016-12-15T16:00:00+08:00",
        "issued_by": ["environment", "meteorology"],
        "rule_set": "henan-2019",
        "regional_order": None,
        "days": [
            {"date": "2016-12-16", "aqi": [210, 260], "primary": "pm25"},
            {
                "date": "2016-12-17",
                "concentrations": {
                    "pm25": 180,
                    "pm10": 250,
                    "so2": 60,
                    "no2": 90,
                    "co": 3.2,
                    "o3_8h": 40,
                },
            },
            {"date": "2016-12-18", "aqi": 230},
        ],
    }


def test_spec_example_parses() -> None:
    fc = parse_forecast(good(), "forecast.json")
    assert fc.source == "forecast.json"
    assert fc.dates == [dt.date(2016, 12, 16), dt.date(2016, 12, 17), dt.date(2016, 12, 18)]
    assert fc.days[0].aqi_range == (210, 260)
    assert fc.days[0].primary == ["pm25"]
    assert fc.days[1].aqi_range is None
    assert fc.days[1].concentrations is not None
    assert fc.days[1].concentrations.values()["co"] == 3.2
    assert fc.days[2].aqi_range == (230, 230)
    assert fc.issued_at is not None and fc.issued_at.utcoffset() == dt.timedelta(hours=8)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("forecast-*.json")), ids=lambda p: p.name)
def test_examples_load(path: Path) -> None:
    fc = load_forecast(path)
    assert fc.issued_by == ["environment", "meteorology"]
    assert fc.city == "Jiyuan"


def edit(change: Any) -> dict[str, Any]:
    obj = good()
    change(obj)
    return obj


# (how to break the example, the field path and message expected after "forecast.json: ")
BAD = [
    (
        lambda o: o["days"][1]["concentrations"].update(pm25=-3),
        "days[1].concentrations.pm25: must be ≥ 0, got -3",
    ),
    (
        lambda o: o["days"][1]["concentrations"].update({"pm2.5": 3}),
        "days[1].concentrations.pm2.5: unknown pollutant",
    ),
    (lambda o: o["days"][0].update(aqi=[260, 210]), "days[0].aqi: range [260, 210]"),
    (lambda o: o["days"][0].update(aqi=-5), "days[0].aqi: must be ≥ 0, got -5"),
    (lambda o: o["days"][0].update(aqi=[200, 250, 300]), "days[0].aqi: a range must be"),
    (lambda o: o["days"][0].update(aqi="high"), "days[0].aqi: must be a number"),
    (lambda o: o["days"][0].update(aqi=True), "days[0].aqi: must be a number"),
    (lambda o: o["days"][0].pop("aqi"), "days[0]: give `aqi`"),
    (lambda o: o["days"][1].update(aqi=230), "days[1]: give only one of"),
    (lambda o: o["days"][1].update(concentrations={}), "days[1].concentrations: give at least"),
    (lambda o: o["days"][0].update(primary="pm2.5"), "days[0].primary: unknown pollutant"),
    (lambda o: o["days"][2].update(date="2016-12-17"), "days[2].date: 2016-12-17 is duplicated"),
    (lambda o: o["days"][2].update(date="2016-12-15"), "days[2].date: 2016-12-15 is out of order"),
    (lambda o: o["days"][2].update(date="2016-12-20"), "days[2].date: 2016-12-20 follows"),
    (lambda o: o["days"][0].update(date="2016-13-01"), "days[0].date: "),
    (lambda o: o.update(days=[]), "days: must list at least 1 item"),
    (lambda o: o.pop("days"), "days: required field is missing"),
    (lambda o: o.update(regional_order="purple"), "regional_order: unknown level 'purple'"),
    (lambda o: o.update(standard="HJ633"), "standard: unknown value 'HJ633'"),
    (lambda o: o.update(issued_at="2016-12-15T16:00:00"), "issued_at: must carry a UTC offset"),
    (lambda o: o.update(levle="red"), "levle: unknown field"),
    (lambda o: o["days"][0].update(note="x"), "days[0].note: unknown field"),
]


@pytest.mark.parametrize(("change", "message"), BAD)
def test_bad_forecast(change: Any, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_forecast(edit(change), "forecast.json")
    text = str(caught.value)
    assert text.startswith(f"forecast.json: {message}"), text
    assert "\n" not in text


def test_not_an_object() -> None:
    with pytest.raises(InputError, match=r"^f\.json: expected a JSON object"):
        parse_forecast([1, 2], "f.json")


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "forecast.json"
    path.write_text('{\n  "days": [\n    {"date": "2016-12-16" "aqi": 230}\n  ]\n}\n')
    with pytest.raises(InputError, match=r"forecast\.json:3:27: malformed JSON: Expecting ','"):
        load_forecast(path)


def test_nan_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "forecast.json"
    path.write_text('{"days": [{"date": "2016-12-16", "aqi": NaN}]}')
    with pytest.raises(InputError, match=r"forecast\.json: malformed JSON: NaN is not a number"):
        load_forecast(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.json: cannot read"):
        load_forecast(tmp_path / "nope.json")


def test_load_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text(json.dumps(good()), encoding="utf-8")
    fc = load_forecast(path)
    assert fc.source == str(path)
    assert fc.model_dump(mode="json")["days"][0]["aqi"] == [210.0, 260.0]


# ----------------------------------------------------------------- every problem at once


def test_every_problem_at_once() -> None:
    obj = good()
    obj["days"][0]["aqi"] = [260, 210]
    obj["days"][1]["concentrations"]["pm25"] = -3
    obj["days"][2]["date"] = "2016-12-20"
    obj["levle"] = "red"
    with pytest.raises(ValidationErrors) as caught:
        parse_forecast(obj, "forecast.json")
    assert caught.value.errors == [
        "forecast.json: levle: unknown field",
        "forecast.json: days[0].aqi: range [260, 210] on 2016-12-16: low must be ≤ high",
        "forecast.json: days[1].concentrations.pm25: must be ≥ 0, got -3",
        "forecast.json: days[2].date: 2016-12-20 follows 2016-12-17; 2016-12-18 is missing",
    ]
    assert str(caught.value).startswith("4 errors in forecast.json:\n  forecast.json: levle")


def test_every_date_problem_at_once() -> None:
    dates = ["2016-12-16", "2016-12-16", "2016-12-19", "2016-12-18", "2016-13-01", "2016-12-20"]
    obj = {"days": [{"date": d, "aqi": 100} for d in dates]}
    with pytest.raises(ValidationErrors) as caught:
        parse_forecast(obj, "f.json")
    errors = caught.value.errors
    assert errors[:3] == [
        "f.json: days[1].date: 2016-12-16 is duplicated",
        "f.json: days[2].date: 2016-12-19 follows 2016-12-16; 2016-12-17 is missing",
        "f.json: days[3].date: 2016-12-18 is out of order (after 2016-12-19)",
    ]
    assert len(errors) == 4 and errors[3].startswith("f.json: days[4].date: ")  # unreadable


MISTAKES = """\
{
  "issued_at": "2016-12-15T16:00:00+08:00",
  "days": [
    {"date": "2016-12-16", "aqi": [210, 260]},
    {
      "date": "2016-12-17",
      "aqi": [210, 2600]
    },
    {"date": "2016-12-18", "aqi": 230, "colour": "red"},
    {"date": "2016-12-20", "aqi": -1}
  ]
}
"""


def test_errors_of_a_file_name_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "forecast.json"
    path.write_text(MISTAKES, encoding="utf-8")
    with pytest.raises(ValidationErrors) as caught:
        load_forecast(path)
    errors = [e.removeprefix(str(path)) for e in caught.value.errors]
    assert errors == [
        ":7: days[1].aqi: range [210, 2600] on 2016-12-17 is implausibly wide: the high is "
        'above 300 and more than 3× the low (a typo?); if it is meant, add "wide_range": true '
        "to this day",
        ":9: days[2].colour: unknown field",
        ":10: days[3].aqi: must be ≥ 0, got -1",
        ":10: days[3].date: 2016-12-20 follows 2016-12-18; 2016-12-19 is missing",
    ]
    assert str(caught.value).startswith(f"4 errors in {path}:\n")


def test_text_gives_lines_to_parse_forecast() -> None:
    text = '{"days": [\n {"date": "2016-12-16",\n  "aqi": "x"}]}'
    with pytest.raises(ValidationErrors, match=r"^f\.json:3: days\[0\]\.aqi: must be a number"):
        parse_forecast(json.loads(text), "f.json", text)


def test_json_lines() -> None:
    text = '{\n "a": {"b": [1,\n  {"c": "x\\"}{"}],\n "d": null},\n "a": {"e": true}\n}'
    lines = json_lines(text)
    assert json.loads(text) == {"a": {"e": True}}
    assert lines[("a",)] == 5 and lines[("a", "e")] == 5  # a repeated key: the last, as json
    assert ("a", "b") not in lines
    nested = json_lines('[\n [1, 2],\n {"k":\n   -1.5e3}\n]')
    assert nested[(0, 1)] == 2 and nested[(1, "k")] == 3 and nested[(1,)] == 3
    assert json_lines("{") == {(): 1}  # not JSON: what was found, no failure


# ----------------------------------------------------------------- implausible AQI ranges


@pytest.mark.parametrize(
    ("aqi", "message"),
    [
        ([210, 2600], "range [210, 2600] on 2016-12-16 is implausibly wide"),
        ([120, 400], "range [120, 400] on 2016-12-16 is implausibly wide"),
        ([-10, 200], "must be ≥ 0, got -10 (range [-10, 200] on 2016-12-16)"),
        ([300, 250], "range [300, 250] on 2016-12-16: low must be ≤ high"),
    ],
)
def test_implausible_ranges_are_refused(aqi: list[float], message: str) -> None:
    obj = {"days": [{"date": "2016-12-16", "aqi": aqi}]}
    with pytest.raises(InputError) as caught:
        parse_forecast(obj, "f.json")
    assert str(caught.value).startswith(f"f.json: days[0].aqi: {message}")


@pytest.mark.parametrize("aqi", [[100, 290], [150, 450], [90, 300], [500, 900], [0, 300]])
def test_plausible_ranges_pass(aqi: list[float]) -> None:
    fc = parse_forecast({"days": [{"date": "2016-12-16", "aqi": aqi}]})
    assert fc.days[0].aqi_range == tuple(aqi)


def test_a_wide_range_passes_when_the_day_says_so() -> None:
    day = {"date": "2016-12-16", "aqi": [210, 2600], "wide_range": True}
    fc = parse_forecast({"days": [day]}, "f.json")
    assert fc.days[0].aqi_range == (210, 2600) and fc.days[0].wide_range is True
    with pytest.raises(InputError, match=r"days\[0\]\.aqi: range \[210, 2600\]"):
        parse_forecast({"days": [{**day, "wide_range": False}]}, "f.json")
    with pytest.raises(InputError, match=r"days\[0\]\.wide_range: "):
        parse_forecast({"days": [{**day, "wide_range": "yes"}]}, "f.json")
    kept = parse_forecast({"days": [day]}).model_dump(mode="json", exclude_none=True)
    assert kept["days"][0]["wide_range"] is True
    plain = parse_forecast({"days": [{"date": "2016-12-16", "aqi": 230}]})
    assert "wide_range" not in plain.model_dump(mode="json", exclude_none=True)["days"][0]
