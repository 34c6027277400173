"""AQI after HJ 633-2012 / HJ 633-2026.

Expected values come from the tables and formula below, copied by hand from HJ 633 and
computed with fractions here, never from ``emergency.aqi``'s own tables or helpers; a few
cases are plain integers worked out on paper.
"""

from __future__ import annotations

import datetime
import math
import random
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from emergency.aqi import (
    CATEGORIES,
    HOURLY_ONLY,
    STANDARDS,
    DailyAqi,
    daily_aqi,
    hourly_aqi,
    iaqi,
    standard_for,
)
from emergency.errors import InputError


def one_key_aqi(values: dict[str, Any], standard: str = "HJ633-2012") -> DailyAqi:
    """The AQI of one key: 1-hour SO2, NO2, CO count only in the hourly AQI."""
    assess = hourly_aqi if set(values) & set(HOURLY_ONLY) else daily_aqi
    return assess(values, standard=standard)


IAQI_LEVELS = (0, 50, 100, 150, 200, 300, 400, 500)

TABLE_2012: dict[str, tuple[str, ...]] = {
    "so2": ("0", "50", "150", "475", "800", "1600", "2100", "2620"),
    "so2_1h": ("0", "150", "500", "650", "800"),
    "no2": ("0", "40", "80", "180", "280", "565", "750", "940"),
    "no2_1h": ("0", "100", "200", "700", "1200", "2340", "3090", "3840"),
    "pm10": ("0", "50", "150", "250", "350", "420", "500", "600"),
    "co": ("0", "2", "4", "14", "24", "36", "48", "60"),
    "co_1h": ("0", "5", "10", "35", "60", "90", "120", "150"),
    "o3_1h": ("0", "160", "200", "300", "400", "800", "1000", "1200"),
    "o3_8h": ("0", "100", "160", "215", "265", "800"),
    "pm25": ("0", "35", "75", "115", "150", "250", "350", "500"),
}
TABLE_2026 = {
    **TABLE_2012,
    "pm25": ("0", "35", "60", "115", "150", "250", "350", "500"),
    "pm10": ("0", "50", "120", "250", "350", "420", "500", "600"),
}
TABLES = {"HJ633-2012": TABLE_2012, "HJ633-2026": TABLE_2026}
# Rows that stop early: above their last breakpoint another sub-index replaces them.
SUBSTITUTED = {"so2_1h", "o3_8h"}
STEP = Fraction(1, 10)


def reference_iaqi(table: tuple[str, ...], c: Fraction) -> int:
    """IAQI = (I_hi − I_lo) / (BP_hi − BP_lo) × (C − BP_lo) + I_lo, rounded up."""
    bps = [Fraction(b) for b in table]
    for i in range(1, len(bps)):
        if bps[i - 1] <= c <= bps[i]:
            i_lo, i_hi = IAQI_LEVELS[i - 1], IAQI_LEVELS[i]
            bp_lo, bp_hi = bps[i - 1], bps[i]
            return math.ceil(Fraction(i_hi - i_lo) / (bp_hi - bp_lo) * (c - bp_lo) + i_lo)
    raise AssertionError(f"{c} is outside the table")


def _cases() -> list[tuple[str, str, str, int]]:
    """(standard, key, value, expected) at, just above and just below every breakpoint."""
    cases = []
    for standard, table in TABLES.items():
        for key, row in table.items():
            for i, bp_text in enumerate(row):
                bp = Fraction(bp_text)
                cases.append((standard, key, bp_text, IAQI_LEVELS[i]))
                if bp > 0:
                    below = bp - STEP
                    cases.append((standard, key, str(float(below)), reference_iaqi(row, below)))
                if i < len(row) - 1:
                    above = bp + STEP
                    cases.append((standard, key, str(float(above)), reference_iaqi(row, above)))
    return cases


CASES = _cases()


@pytest.mark.parametrize(("standard", "key", "value", "expected"), CASES)
def test_iaqi_at_and_around_every_breakpoint(
    standard: str, key: str, value: str, expected: int
) -> None:
    assert iaqi(key, value, standard) == expected
    assert iaqi(key, float(value), standard) == expected
    assert iaqi(key, Decimal(value), standard) == expected


@pytest.mark.parametrize(("standard", "key", "value", "expected"), CASES)
def test_daily_aqi_agrees_with_iaqi_everywhere(
    standard: str, key: str, value: str, expected: int
) -> None:
    result = one_key_aqi({key: value}, standard=standard)
    assert result.iaqi == {key: expected}
    assert result.aqi == expected
    assert result.off_scale is False


def test_the_reference_tables_match_the_module_just_above_each_breakpoint() -> None:
    # The breakpoints themselves: just above BP_i the index jumps past IAQI_i.
    for standard, table in TABLES.items():
        for key, row in table.items():
            for i, bp in enumerate(row[:-1]):
                assert iaqi(key, Fraction(bp) + Fraction(1, 1000), standard) == IAQI_LEVELS[i] + 1


@pytest.mark.parametrize(
    ("standard", "key", "value", "expected"),
    [
        # Worked on paper.
        ("HJ633-2012", "pm25", "35.1", 51),  # 50 + 50/40 × 0.1 = 50.125
        ("HJ633-2012", "pm25", "75", 100),
        ("HJ633-2012", "pm25", "75.8", 101),  # 100 + 1.25 × 0.8 = 101 exactly
        ("HJ633-2012", "pm25", "120", 158),  # 150 + 50/35 × 5 = 157.14…
        ("HJ633-2026", "pm25", "60", 100),
        ("HJ633-2026", "pm25", "75", 114),  # 100 + 50/55 × 15 = 113.6…
        ("HJ633-2012", "pm10", "152", 101),  # 100 + 0.5 × 2 exactly
        ("HJ633-2026", "pm10", "150", 112),  # 100 + 50/130 × 30 = 111.5…
        ("HJ633-2012", "so2", "156.5", 101),  # 100 + 50/325 × 6.5 = 101 exactly
        ("HJ633-2012", "co", "14.2", 151),  # 150 + 5 × 0.2 exactly
        ("HJ633-2012", "co", "1.2", 30),
        ("HJ633-2012", "no2", "60", 75),
        ("HJ633-2012", "o3_8h", "90", 45),
        ("HJ633-2012", "o3_1h", "1200", 500),
        ("HJ633-2012", "no2_1h", "0", 0),
        ("HJ633-2012", "pm25", "0.001", 1),  # any positive amount rounds up to 1
    ],
)
def test_iaqi_worked_examples(standard: str, key: str, value: str, expected: int) -> None:
    assert iaqi(key, value, standard) == expected


@pytest.mark.parametrize(
    ("standard", "key", "value", "expected"),
    [
        # Exact integers where the float formula lands a hair above and rounds up one too far.
        ("HJ633-2012", "pm25", 4.9, 7),  # 50/35 × 4.9 = 7
        ("HJ633-2026", "pm25", 16.1, 23),  # 50/35 × 16.1 = 23
        ("HJ633-2012", "co", 2.2, 55),  # 50 + 25 × 0.2 = 55
        ("HJ633-2012", "so2", 2120.8, 404),  # 400 + 100/520 × 20.8 = 404
        ("HJ633-2026", "pm10", 352.1, 203),  # 200 + 100/70 × 2.1 = 203
        ("HJ633-2012", "o3_1h", 160.8, 51),  # 50 + 50/40 × 0.8 = 51
    ],
)
def test_exact_ceiling_where_floats_round_wrongly(
    standard: str, key: str, value: float, expected: int
) -> None:
    assert iaqi(key, value, standard) == expected
    assert daily_aqi({key: value}, standard=standard).aqi == expected


def test_so2_156_5_is_101_from_every_input_type() -> None:
    # Floating point would give 101.00000000000001 and round up to 102.
    assert iaqi("so2", 156.5) == 101
    assert iaqi("so2", "156.5") == 101
    assert iaqi("so2", Decimal("156.5")) == 101
    assert iaqi("so2", Fraction(313, 2)) == 101
    assert daily_aqi({"so2": 156.5}).aqi == 101


def test_default_standard_is_2012() -> None:
    assert iaqi("pm25", 75) == 100
    assert daily_aqi({"pm25": 75}).standard == "HJ633-2012"
    assert daily_aqi({"pm25": 75}).aqi == 100
    assert STANDARDS == ("HJ633-2012", "HJ633-2026")


@pytest.mark.parametrize("standard", ["HJ633-2012", "HJ633-2026"])
@pytest.mark.parametrize("key", sorted(set(TABLE_2012) - SUBSTITUTED))
def test_beyond_the_table_is_500_and_off_scale(standard: str, key: str) -> None:
    top = Fraction(TABLES[standard][key][-1])
    beyond = str(float(top + STEP))
    assert iaqi(key, beyond, standard) == 500
    assert iaqi(key, str(float(top * 10)), standard) == 500
    at_top = one_key_aqi({key: TABLES[standard][key][-1]}, standard=standard)
    assert (at_top.aqi, at_top.off_scale, at_top.off_scale_keys) == (500, False, [])
    result = one_key_aqi({key: beyond}, standard=standard)
    assert result.aqi == 500
    assert result.iaqi == {key: 500}
    assert result.off_scale is True
    assert result.off_scale_keys == [key]
    assert result.category == "severe"


# --- SO2 1-hour and O3 8-hour above 800 -----------------------------------------------


def test_so2_1h_above_800_is_replaced_by_the_24h_sub_index() -> None:
    result = hourly_aqi({"so2_1h": "800.1", "so2": "100"})
    assert "so2_1h" not in result.iaqi
    assert result.iaqi == {"so2": 75}
    assert result.aqi == 75
    assert result.primary == ["so2"]
    assert result.substituted == {"so2_1h": "so2"}
    assert result.off_scale is False


def test_so2_1h_at_800_is_still_computed() -> None:
    result = hourly_aqi({"so2_1h": "800", "so2": "100"})
    assert result.iaqi == {"so2_1h": 200}  # the 24-hour mean only stands in above 800
    assert result.aqi == 200
    assert result.substituted == {}


def test_o3_8h_above_800_is_replaced_by_the_1h_sub_index() -> None:
    result = daily_aqi({"o3_8h": 900, "o3_1h": 850, "pm25": 20})
    assert "o3_8h" not in result.iaqi
    assert result.iaqi["o3_1h"] == 325  # 300 + 100/200 × 50
    assert result.aqi == 325
    assert result.primary == ["o3_1h"]
    assert result.substituted == {"o3_8h": "o3_1h"}


def test_o3_8h_and_o3_1h_both_count_below_800() -> None:
    result = daily_aqi({"o3_8h": 265, "o3_1h": 300})
    assert result.iaqi == {"o3_1h": 150, "o3_8h": 200}
    assert result.aqi == 200
    assert result.primary == ["o3_8h"]


@pytest.mark.parametrize(
    ("values", "missing"),
    [({"so2_1h": 900, "pm25": 50}, "so2"), ({"o3_8h": 801, "pm25": 50}, "o3_1h")],
)
def test_substitution_without_the_replacement_is_an_error(
    values: dict[str, float], missing: str
) -> None:
    with pytest.raises(InputError, match=missing):
        one_key_aqi(values)


@pytest.mark.parametrize(("key", "value"), [("so2_1h", "800.1"), ("o3_8h", "801")])
def test_iaqi_refuses_a_sub_index_the_standard_does_not_compute(key: str, value: str) -> None:
    with pytest.raises(InputError, match=rf"{key}='{value}'.*not computed"):
        iaqi(key, value)


# --- primary pollutants, categories ---------------------------------------------------


def test_primary_pollutants_tie() -> None:
    # pm25 75 → 100, pm10 150 → 100, no2 80 → 100 (2012).
    result = daily_aqi({"pm25": 75, "pm10": 150, "no2": 80, "so2": 10})
    assert result.aqi == 100
    assert result.primary == ["pm25", "pm10", "no2"]
    assert result.exceeding == []


def test_single_primary_and_exceeding() -> None:
    result = daily_aqi({"pm25": 120, "pm10": 180, "so2": 40, "no2": 60, "co": 1.2, "o3_8h": 90})
    assert result.iaqi == {"pm25": 158, "pm10": 115, "so2": 40, "no2": 75, "co": 30, "o3_8h": 45}
    assert result.aqi == 158
    assert result.primary == ["pm25"]
    assert result.exceeding == ["pm25", "pm10"]
    assert (result.category, result.category_zh, result.colour) == ("moderate", "中度污染", "red")


@pytest.mark.parametrize(
    ("values", "aqi"),
    [({"pm25": 35, "pm10": 50}, 50), ({"pm25": 10}, 15), ({"co": 0}, 0)],
)
def test_no_primary_pollutant_at_or_below_50(values: dict[str, float], aqi: int) -> None:
    result = daily_aqi(values)
    assert result.aqi == aqi
    assert result.primary == []
    assert result.category == "excellent"


def test_primary_just_above_50() -> None:
    result = daily_aqi({"pm25": "35.1", "pm10": "50"})
    assert result.aqi == 51
    assert result.primary == ["pm25"]
    assert result.category == "good"


# AQI → (category, category_zh), written out from HJ 633.
BANDS = [
    (0, "excellent", "优"),
    (50, "excellent", "优"),
    (51, "good", "良"),
    (100, "good", "良"),
    (101, "light", "轻度污染"),
    (150, "light", "轻度污染"),
    (151, "moderate", "中度污染"),
    (200, "moderate", "中度污染"),
    (201, "heavy", "重度污染"),
    (300, "heavy", "重度污染"),
    (301, "severe", "严重污染"),
    (500, "severe", "严重污染"),
]


@pytest.mark.parametrize(("aqi", "category", "zh"), BANDS)
def test_category_bands(aqi: int, category: str, zh: str) -> None:
    # Invert the no2_1h segment holding the AQI to get a concentration with exactly that AQI.
    row = [Fraction(b) for b in TABLE_2012["no2_1h"]]
    i = next(i for i in range(1, len(IAQI_LEVELS)) if aqi <= IAQI_LEVELS[i])
    width = IAQI_LEVELS[i] - IAQI_LEVELS[i - 1]
    c = row[i - 1] + (row[i] - row[i - 1]) * Fraction(aqi - IAQI_LEVELS[i - 1], width)
    result = hourly_aqi({"no2_1h": str(float(c))})
    assert result.aqi == aqi
    assert (result.category, result.category_zh) == (category, zh)


def test_categories_table() -> None:
    assert [(c.key, c.zh, c.min_aqi, c.max_aqi) for c in CATEGORIES] == [
        ("excellent", "优", 0, 50),
        ("good", "良", 51, 100),
        ("light", "轻度污染", 101, 150),
        ("moderate", "中度污染", 151, 200),
        ("heavy", "重度污染", 201, 300),
        ("severe", "严重污染", 301, None),
    ]


# --- standard by date -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "standard"),
    [
        (datetime.date(2016, 12, 16), "HJ633-2012"),
        (datetime.date(2026, 2, 28), "HJ633-2012"),
        (datetime.date(2026, 3, 1), "HJ633-2026"),
        (datetime.date(2027, 1, 1), "HJ633-2026"),
        (datetime.datetime(2026, 3, 1, 0, 30), "HJ633-2026"),
    ],
)
def test_standard_for(day: datetime.date, standard: str) -> None:
    assert standard_for(day) == standard


def test_daily_aqi_chooses_the_table_by_date() -> None:
    # pm25 75: 100 under 2012, 100 + 50/55 × 15 → 114 under 2026.
    before = daily_aqi({"pm25": 75}, date=datetime.date(2026, 2, 28))
    after = daily_aqi({"pm25": 75}, date=datetime.date(2026, 3, 1))
    assert (before.standard, before.aqi) == ("HJ633-2012", 100)
    assert (after.standard, after.aqi) == ("HJ633-2026", 114)


def test_a_named_standard_wins_over_the_date() -> None:
    result = daily_aqi({"pm25": 75}, standard="HJ633-2012", date=datetime.date(2026, 3, 1))
    assert (result.standard, result.aqi) == ("HJ633-2012", 100)


def test_2026_changes_only_particulates() -> None:
    day = {"so2": 500, "no2": 300, "co": 20, "o3_1h": 500, "o3_8h": 300}
    assert daily_aqi(day, standard="HJ633-2012").iaqi == daily_aqi(day, "HJ633-2026").iaqi
    hour = {"no2_1h": 2000, "so2_1h": 700, "co_1h": 50, "o3_1h": 500}
    assert hourly_aqi(hour, "HJ633-2012").iaqi == hourly_aqi(hour, "HJ633-2026").iaqi
    assert iaqi("pm10", 150, "HJ633-2012") == 100
    assert iaqi("pm10", 150, "HJ633-2026") == 112


# --- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("pm25", -1, r"pm25=-1: .*negative"),
        ("pm25", "-0.1", r"pm25='-0.1': .*negative"),
        ("so2", float("nan"), r"so2=nan: .*not a finite number"),
        ("so2", "NaN", r"so2='NaN'"),
        ("no2", Decimal("NaN"), r"no2=NaN"),
        ("no2", float("inf"), r"no2=inf"),
        ("co", "abc", r"co='abc': not a number"),
        ("co", "", r"co='': not a number"),
        ("co", None, r"co=None: not a number"),
        ("co", True, r"co=True: not a number"),
        ("pm2.5", 10, r"pm2\.5=10: unknown pollutant"),
        ("PM25", 10, r"PM25=10: unknown pollutant"),
    ],
)
def test_bad_values_raise_input_error_naming_key_and_value(
    key: str, value: object, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        iaqi(key, value)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=message):
        daily_aqi({key: value, "pm10": 10})  # type: ignore[dict-item]


def test_unknown_standard() -> None:
    with pytest.raises(InputError, match="HJ633-2099"):
        iaqi("pm25", 10, "HJ633-2099")
    with pytest.raises(InputError, match="HJ633-2099"):
        daily_aqi({"pm25": 10}, standard="HJ633-2099")


def test_no_values() -> None:
    with pytest.raises(InputError, match="no concentrations"):
        daily_aqi({})


def test_result_shape() -> None:
    result = daily_aqi({"pm25": 300, "pm10": 300})
    assert isinstance(result, DailyAqi)
    assert result.to_dict() == {
        "aqi": 350,  # 300 + 100/100 × 50
        "primary": ["pm25"],
        "category": "severe",
        "iaqi": {"pm25": 350, "pm10": 175},
        "off_scale": False,
        "standard": "HJ633-2012",
    }
    with pytest.raises(AttributeError):
        result.aqi = 1  # type: ignore[misc]


def test_many_values_match_the_reference_and_never_decrease() -> None:
    rng = random.Random(633)
    for standard, table in TABLES.items():
        for key, row in table.items():
            top = Fraction(row[-1])
            samples = sorted(
                Fraction(rng.randrange(0, int(top * 1000) + 1), 1000) for _ in range(400)
            )
            got = [iaqi(key, str(Decimal(c.numerator) / c.denominator), standard) for c in samples]
            assert got == [reference_iaqi(row, c) for c in samples]
            assert got == sorted(got)
