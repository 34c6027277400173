"""Meters in the data folder: a meter measures one line of one plan; the city plan's
``supervision`` thresholds (docs/METERS.md, docs/FORMATS.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from emergency.cityplan import Supervision
from emergency.dataset import load_dataset
from emergency.errors import ValidationErrors
from emergency.messages import translate
from tests.datafiles import small_city, small_plans, write_small_dataset

SINTER_METER = "JY-P001-sinter-1-E1"


def errors_of(root: Path) -> list[str]:
    with pytest.raises(ValidationErrors) as caught:
        load_dataset(root)
    return caught.value.errors


def test_the_small_city_maps_its_meters() -> None:
    plans = small_plans()
    assert plans["JY-P001"]["lines"][0]["meters"] == [SINTER_METER]


def test_a_meter_on_two_enterprises_lines_is_an_error_naming_file_line_field(
    tmp_path: Path,
) -> None:
    plans = small_plans()
    plans["JY-P002"]["lines"][0]["meters"] = ["JY-P002-coke-1-E1", SINTER_METER]
    errors = errors_of(write_small_dataset(tmp_path, plans=plans))
    (error,) = errors
    match = re.fullmatch(
        r"plans/enterprises/JY-P002\.yaml:(\d+): lines\[0\]\.meters\[1\]: (.*)", error
    )
    assert match, error
    text = (tmp_path / "plans/enterprises/JY-P002.yaml").read_text(encoding="utf-8").splitlines()
    assert SINTER_METER in text[int(match.group(1)) - 1]  # the YAML line that names it
    assert match.group(2) == (
        f"meter '{SINTER_METER}' already measures JY-P001's line 'sinter-1': "
        "a meter belongs to one line"
    )
    assert "一块电表只属于一条生产线" in translate(error, "zh")


def test_a_meter_on_two_lines_of_one_plan_is_an_error(tmp_path: Path) -> None:
    plans = small_plans()
    plans["JY-P001"]["lines"][1]["meters"] = ["JY-P001-bf-1-E1", SINTER_METER]
    (error,) = errors_of(write_small_dataset(tmp_path, plans=plans))
    assert "JY-P001.yaml" in error and "lines[1].meters[1]" in error
    assert "already measures lines[0].meters[0]" in error


@pytest.mark.parametrize("bad", ["has space", "", "x" * 101, "a/b"])
def test_meter_ids_are_plain(tmp_path: Path, bad: str) -> None:
    plans = small_plans()
    plans["JY-P001"]["lines"][0]["meters"] = [bad]
    errors = errors_of(write_small_dataset(tmp_path, plans=plans))
    (error,) = [e for e in errors if "meters" in e]  # the plan cannot be built: others follow
    assert error.startswith("plans/enterprises/JY-P001.yaml:16: lines[0].meters[0]: ")


def test_supervision_defaults_and_bounds(tmp_path: Path) -> None:
    assert load_dataset(write_small_dataset(tmp_path / "a")).city.supervision == Supervision(
        standby_fraction=0.05, load_tolerance=0.05
    )
    city = small_city() | {"supervision": {"standby_fraction": 0.02, "load_tolerance": 0.1}}
    got = load_dataset(write_small_dataset(tmp_path / "b", city=city)).city.supervision
    assert (got.standby_fraction, got.load_tolerance) == (0.02, 0.1)
    city = small_city() | {"supervision": {"standby_fraction": 0.9, "tolerance": 0.1}}
    errors = errors_of(write_small_dataset(tmp_path / "c", city=city))
    assert any("supervision.standby_fraction" in e and "0.5" in e for e in errors), errors
    assert any("supervision.tolerance: unknown field" in e for e in errors), errors
