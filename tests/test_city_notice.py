"""The city plan's ``notice`` (issuer, notice number pattern, CAP sender, area, geocode):
every problem names the field (``plans/city.yaml:N: notice.<field>: ...``), ``emergency
validate`` exits 2 on it, and what is left out keeps the defaults (docs/FORMATS.md,
docs/PUBLIC.md)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from emergency.cityplan import CityNotice, CityPlan, Geocode, parse_city_text
from emergency.dataset import load_dataset
from emergency.messages import translate
from emergency.paths import REPO_ROOT
from emergency.service.public import bounding_polygon, city_area, city_names
from tests.datafiles import small_city, write_small_dataset

runner = CliRunner()
CITY = "plans/city.yaml"

JIYUAN = {
    "issuer": "济源市重污染天气应急指挥部",
    "issuer_en": "Jiyuan Heavy Pollution Weather Emergency Command",
    "number": "济重污应急〔{year}〕{seq}号",
    "sender": "jiyuan-emergency@example.cn",
    "area": [[112.02, 35.10], [112.45, 35.27], [112.80, 35.10], [112.55, 34.90]],
    "geocode": {"valueName": "GB/T 2260", "value": "419001"},
}


def city_with(**notice: Any) -> dict[str, Any]:
    city = small_city()
    city["notice"] = {**copy.deepcopy(JIYUAN), **notice}
    return city


def problems(city: dict[str, Any]) -> list[str]:
    parsed, errors = parse_city_text(yaml.safe_dump(city, allow_unicode=True), CITY)
    assert parsed is None or errors, "expected a problem"
    return errors


def test_a_full_notice_parses() -> None:
    parsed, errors = parse_city_text(yaml.safe_dump(city_with(), allow_unicode=True), CITY)
    assert errors == [] and parsed is not None and parsed.notice is not None
    notice = parsed.notice
    assert notice.geocode == Geocode(valueName="GB/T 2260", value="419001")
    # CAP's order (lat, lon), closed automatically: first = last
    ring = notice.ring()
    assert ring == [(35.1, 112.02), (35.27, 112.45), (35.1, 112.8), (34.9, 112.55), (35.1, 112.02)]


def test_an_area_closed_by_hand_is_not_closed_twice() -> None:
    area = [*JIYUAN["area"], JIYUAN["area"][0]]
    notice = CityNotice.model_validate({"area": area})
    ring = notice.ring()
    assert len(ring) == 5 and ring[0] == ring[-1]


@pytest.mark.parametrize(
    ("notice", "field", "words"),
    [
        ({"number": "济重污应急〔{year}〕号"}, "notice.number", "missing {seq}"),
        ({"number": "济重污应急〔2016〕{seq}号"}, "notice.number", "missing {year}"),
        ({"number": "〔{year}〕{seq}号{n}"}, "notice.number", "unknown placeholder {n}"),
        ({"number": "〔{year}〕{seq号"}, "notice.number", "not a valid pattern"),
        ({"number": "〔{year:s}〕{seq}号"}, "notice.number", "not a valid pattern"),
        ({"issuer": "  "}, "notice.issuer", "must not be empty"),
        ({"issuer_en": ""}, "notice.issuer_en", "must not be empty"),
        ({"sender": "jiyuan emergency"}, "notice.sender", "no spaces, commas"),
        ({"sender": "a,b"}, "notice.sender", "no spaces, commas"),
        ({"area": [[112.0, 35.0], [112.5, 35.2]]}, "notice.area", "at least 3 distinct"),
        (
            {"area": [[112.0, 35.0], [112.5, 35.2], [112.0, 35.0]]},
            "notice.area",
            "at least 3 distinct points, got 2",
        ),
        ({"area": [[112, 35], [112.5, 35], [113, 35]]}, "notice.area", "on one line"),
        ({"area": [[112, 35], [112.5, 35.2], [12, 35]]}, "notice.area[2]", "lon 12 is outside"),
        ({"area": [[112, 35], [112.5, 65], [113, 35]]}, "notice.area[1]", "lat 65 is outside"),
        ({"area": [[35.1, 112.02], [112.5, 35.2], [113, 35]]}, "notice.area[0]", "[lat, lon]"),
        ({"area": [[112, 35, 0], [112.5, 35.2], [113, 35]]}, "notice.area[0]", "[lon, lat]"),
        ({"area": [[112, "35"], [112.5, 35.2], [113, 35]]}, "notice.area[0]", "two numbers"),
        ({"geocode": {"valueName": "GB/T 2260"}}, "notice.geocode.value", "missing field"),
        ({"geocode": {"valueName": "", "value": "419001"}}, "notice.geocode.valueName", "empty"),
        ({"geocode": {"value_name": "x", "value": "1"}}, "notice.geocode.value_name", "unknown"),
    ],
)
def test_a_bad_notice_names_the_field(notice: dict[str, Any], field: str, words: str) -> None:
    errors = problems(city_with(**notice))
    named = [e for e in errors if f": {field}: " in e]
    assert named, errors
    first = named[0]
    assert first.startswith(f"{CITY}:") and words in first, first
    # and in Chinese, with the location kept
    chinese = translate(first, "zh")
    assert chinese.split(f": {field}: ")[0] == first.split(f": {field}: ")[0]
    assert chinese != first, chinese


def test_an_unknown_notice_key_names_it() -> None:
    city = small_city()
    city["notice"] = {"issuer": "某市重污染天气应急指挥部", "colour": "red"}
    errors = problems(city)
    assert any(": notice.colour: unknown field" in e for e in errors), errors


def test_validate_exits_2_naming_the_field(tmp_path: Path) -> None:
    from emergency.cli import app

    root = write_small_dataset(tmp_path, city=city_with(number="济重污应急〔{year}〕号"))
    result = runner.invoke(app, ["validate", "--data", str(root), "--lang", "en"])
    assert result.exit_code == 2, result.output
    assert f"{CITY}:" in result.stderr and "notice.number:" in result.stderr
    assert "{year} and {seq}" in result.stderr
    result = runner.invoke(app, ["validate", "--data", str(root)])
    assert result.exit_code == 2
    assert "notice.number：" in result.stderr or "notice.number: " in result.stderr
    assert "编号格式须包含" in result.stderr


def test_absent_notice_keeps_the_defaults() -> None:
    city = CityPlan.model_validate(small_city())
    assert city.notice is None
    names = city_names(city)
    assert names.issuer_zh.endswith("重污染天气应急指挥部办公室")
    assert names.issuer_en.endswith("Heavy Air Pollution Emergency Command Office")
    assert names.sender == names.urn == "urn:emergency:jiyuan-test"
    assert names.number(2016, 2) == f"{names.zh[:1]}环应急〔2016〕2号"
    points = [(112.6, 35.1), (112.7, 35.2)]
    assert city_area(city, points) == bounding_polygon(points)


def test_a_partial_notice_keeps_the_other_defaults() -> None:
    data = small_city()
    data["notice"] = {"issuer": "某市重污染天气应急指挥部"}
    city = CityPlan.model_validate(data)
    names = city_names(city)
    assert names.issuer_zh == "某市重污染天气应急指挥部"
    assert names.issuer_en.endswith("Heavy Air Pollution Emergency Command Office")
    assert names.sender == "urn:emergency:jiyuan-test"
    assert names.number(2017, 1) == f"{names.zh[:1]}环应急〔2017〕1号"
    assert city_area(city, [(112.6, 35.1)]) == bounding_polygon([(112.6, 35.1)])


def test_the_pattern_may_format_its_sequence() -> None:
    names = city_names(CityPlan.model_validate(city_with(number="济〔{year}〕{seq:03d}号")))
    assert names.number(2016, 7) == "济〔2016〕007号"
    names = city_names(CityPlan.model_validate(city_with(number="{{济}}{year}-{seq}")))
    assert names.number(2016, 7) == "{济}2016-7"


def test_the_bundled_city_states_its_notice_and_its_area_holds_its_sources() -> None:
    data = load_dataset(REPO_ROOT)
    notice = data.city.notice
    assert notice is not None
    assert notice.issuer == "济源市重污染天气应急指挥部"
    assert notice.geocode == Geocode(valueName="GB/T 2260", value="419001")
    assert notice.area is not None and len(notice.area) >= 8
    assert all(112.0 <= lon <= 112.9 and 34.9 <= lat <= 35.3 for lon, lat in notice.area)

    def inside(lon: float, lat: float) -> bool:  # even-odd rule
        assert notice is not None and notice.area is not None
        ring, hit = notice.area, False
        for (x0, y0), (x1, y1) in zip(ring, [*ring[1:], ring[0]], strict=True):
            if (y0 > lat) != (y1 > lat) and lon < x0 + (lat - y0) * (x1 - x0) / (y1 - y0):
                hit = not hit
        return hit

    outside = [s.id for s in data.sources if not inside(s.lon, s.lat)]
    assert outside == [], outside
