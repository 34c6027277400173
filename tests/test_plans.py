"""Plans and the city plan: models, helpers, YAML loading and the rules inside one file."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from emergency import NORMAL
from emergency.cityplan import CityPlan, dump_city_plan, load_city_plan, parse_city_text
from emergency.errors import ValidationErrors
from emergency.plans import Plan, SupplyEdge, dump_plan, load_plan, parse_plan, parse_plan_text
from emergency.yamlfile import locate, path_text, read_yaml
from tests.datafiles import dump_yaml, small_city, small_plans

PLAN_FILE = "plans/enterprises/JY-P001.yaml"
CITY_FILE = "plans/city.yaml"
Data = dict[str, Any]


def steel() -> Data:
    return small_plans()["JY-P001"]


def parsed(data: Data) -> Plan:
    return parse_plan_text(dump_yaml(data), PLAN_FILE)


def find(errors: list[str], name: str, field: str) -> tuple[int, str]:
    """The line and text of the one error at ``field``; fails listing all errors otherwise."""
    pattern = re.compile(rf"{re.escape(name)}:(\d+): {re.escape(field)}: (.*)")
    found = [m for m in map(pattern.fullmatch, errors) if m]
    assert len(found) == 1, f"no single error at {field}: {errors}"
    return int(found[0].group(1)), found[0].group(2)


def assert_error(
    errors: list[str], text: str, name: str, field: str, message: str, on_line: str
) -> None:
    """The error names the file, a YAML line that holds ``on_line``, the field and the fault."""
    line, what = find(errors, name, field)
    assert message in what, errors
    assert on_line in text.splitlines()[line - 1], (line, text)


# --------------------------------------------------------------------------- models, helpers


def test_small_plan_parses_with_helpers() -> None:
    plan = parsed(steel())
    assert plan.enterprise == "JY-P001"
    assert str(plan.updated) == "2016-10-15"
    assert plan.line("bf-1").min_load == 0.5 and not plan.line("bf-1").can_stop
    assert plan.measure("stop-sinter").name == "烧结机停产"
    assert plan.measure_ids() == [NORMAL, "limit-20", "stop-sinter", "deep"]
    assert plan.load("stop-sinter", "sinter-1") == 0.0
    assert plan.load(NORMAL, "sinter-1") == 1.0
    assert plan.floor("orange") == "stop-sinter" and plan.floor("blue") == NORMAL
    assert plan.floor(None) == NORMAL
    with pytest.raises(KeyError):
        plan.line("bf-9")
    with pytest.raises(KeyError):
        plan.measure("stop-all")


def test_unnamed_lines_stay_at_full_load() -> None:
    data = steel()
    data["measures"].append({"id": "sinter-half", "loads": {"sinter-1": 0.5}})
    plan = parsed(data | {"levels": {}})
    assert plan.load("sinter-half", "bf-1") == 1.0
    assert plan.measure("sinter-half").name == ""


def test_cut_cost_and_strictness_follow_the_spec_formulas() -> None:
    plan = parsed(steel())
    # (1 - 0.8) * (800 + 200) so2; (1 - 0.8) * (800 000 + 1 200 000) yuan
    assert plan.cut_kg_d("limit-20") == pytest.approx(
        {"so2": 200, "nox": 300, "pm": 100, "vocs": 10}
    )
    assert plan.cost_yuan_d("limit-20") == pytest.approx(400_000)
    assert plan.cut_kg_d(NORMAL) == {"so2": 0, "nox": 0, "pm": 0, "vocs": 0}
    assert plan.cost_yuan_d("deep") == pytest.approx(800_000 + 600_000)
    assert plan.emissions() == {"so2": 1000, "nox": 1500, "pm": 500, "vocs": 50}
    assert plan.value_added_yuan_d() == 2_000_000
    assert plan.at_least_as_strict("deep", "stop-sinter")
    assert not plan.at_least_as_strict("limit-20", "stop-sinter")
    assert plan.at_least_as_strict("limit-20", NORMAL)


def test_supply_edge_accepts_the_file_shape_and_the_flat_shape() -> None:
    filed = SupplyEdge.model_validate(
        {"line": "coke-1", "to": {"enterprise": "JY-P001", "line": "bf-1"}, "share": 0.5}
    )
    flat = SupplyEdge(line="coke-1", to_enterprise="JY-P001", to_line="bf-1", share=0.5)
    assert filed == flat
    assert flat.to_file_dict() == {
        "line": "coke-1",
        "to": {"enterprise": "JY-P001", "line": "bf-1"},
        "share": 0.5,
    }


def test_plan_round_trip_dump_then_load_is_equal(tmp_path: Path) -> None:
    for data in small_plans().values():
        plan = parsed(data)
        text = dump_plan(plan)
        assert parse_plan_text(text, PLAN_FILE) == plan
        (tmp_path / "p.yaml").write_text(text, encoding="utf-8")
        assert load_plan(tmp_path / "p.yaml") == (plan, [])


def test_city_round_trip_dump_then_load_is_equal(tmp_path: Path) -> None:
    city, errors = parse_city_text(dump_yaml(small_city()), CITY_FILE)
    assert errors == [] and city is not None
    text = dump_city_plan(city)
    assert parse_city_text(text, CITY_FILE) == (city, [])
    (tmp_path / "city.yaml").write_text(text, encoding="utf-8")
    assert load_city_plan(tmp_path / "city.yaml") == (city, [])


def test_city_helpers_fill_missing_pollutants_and_compute_targets() -> None:
    city = CityPlan.model_validate(small_city())
    assert city.level_order == ("yellow", "orange", "red")
    site = city.defaults["site"]
    assert site.measures[0].cut_fraction == {"so2": 0.0, "nox": 0.0, "pm": 0.6, "vocs": 0.0}
    assert site.floor("red") == "stop-all" and site.floor("blue") == NORMAL
    assert site.measure(NORMAL).cut_fraction == dict.fromkeys(("so2", "nox", "pm", "vocs"), 0.0)
    # 0.2 * 4000 - 100
    assert city.target_kg_d("orange") == {"so2": 700, "nox": 1000, "pm": 300, "vocs": 100}
    assert city.ack_deadline_hours == 2.0 and city.report_by == "17:00"
    assert city.levels["red"].advice == "中小学停课" and city.levels["red"].advice_en is None


def test_unquoted_report_time_is_read_as_a_time() -> None:
    text = dump_yaml(small_city()) + "report_by: 17:30\n"
    city, errors = parse_city_text(text, CITY_FILE)
    assert errors == [] and city is not None and city.report_by == "17:30"


# --------------------------------------------------------------------------- plan rules


def change(path: tuple[Any, ...], value: Any) -> Callable[[Data], None]:
    """Set (or, with ``...``, delete) the value at a path of keys and indices."""

    def apply(data: Data) -> None:
        target = data
        for part in path[:-1]:
            target = target[part]
        if value is ...:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return apply


EDGE = {"line": "sinter-1", "to": {"enterprise": "JY-P002", "line": "coke-1"}, "share": 0.5}
EDGE_AGAIN = {"line": "sinter-1", "to": {"enterprise": "JY-P002", "line": "coke-1"}, "share": 1}

# (rule, change, field in the message, text of the message, text on the reported line)
PLAN_RULES = [
    ("unknown line in a measure", change(("measures", 1, "loads", "sinter-9"), 0.0),
     "measures[1].loads.sinter-9", "unknown line 'sinter-9'", "sinter-9"),
    ("load above 1", change(("measures", 0, "loads", "sinter-1"), 1.2),
     "measures[0].loads.sinter-1", "load 1.2 outside [0, 1]", "sinter-1: 1.2"),
    ("load below min_load", change(("measures", 0, "loads", "bf-1"), 0.3),
     "measures[0].loads.bf-1", "load 0.3 outside [0.5, 1]", "bf-1: 0.3"),
    ("stop of a line that cannot stop", change(("measures", 2, "loads", "bf-1"), 0),
     "measures[2].loads.bf-1", "line 'bf-1' cannot stop (can_stop: false)", "bf-1: 0"),
    ("level names no measure", change(("levels", "red"), "stop-all"),
     "levels.red", "names no measure: 'stop-all'", "red: stop-all"),
    ("unknown level", change(("levels", "purple"), "deep"),
     "levels.purple", "unknown level", "purple: deep"),
    ("higher level milder", change(("levels", "red"), "limit-20"),
     "levels.red", "red ('limit-20') is milder than orange ('stop-sinter') on sinter-1 0.8 > 0",
     "red: limit-20"),
    ("duplicate line id", change(("lines", 1, "id"), "sinter-1"),
     "lines[1].id", "duplicate line id 'sinter-1' (also lines[0])", "id: sinter-1"),
    ("duplicate measure id", change(("measures", 2, "id"), "limit-20"),
     "measures[2].id", "duplicate measure id 'limit-20'", "id: limit-20"),
    ("reserved measure id", change(("measures", 2, "id"), NORMAL),
     "measures[2].id", "'normal' is reserved", "id: normal"),
    ("supply from an unknown line", change(("supplies",), [EDGE | {"line": "coke-9"}]),
     "supplies[0].line", "unknown line 'coke-9'", "coke-9"),
    ("supply share 0", change(("supplies",), [EDGE | {"share": 0}]),
     "supplies[0].share", "greater than 0", "share: 0"),
    ("supply share above 1", change(("supplies",), [EDGE | {"share": 1.5}]),
     "supplies[0].share", "less than or equal to 1", "share: 1.5"),
    ("line supplying itself",
     change(("supplies",), [EDGE | {"to": {"enterprise": "JY-P001", "line": "sinter-1"}}]),
     "supplies[0].to", "cannot supply itself", "to:"),
    ("supply target without line", change(("supplies",), [EDGE | {"to": {"enterprise": "X"}}]),
     "supplies[0].to.line", "missing field", "to:"),
    ("supply target not a mapping", change(("supplies",), [EDGE | {"to": "JY-P002"}]),
     "supplies[0]", "'to' must be a mapping", "- line: sinter-1"),
    ("duplicate supply edge", change(("supplies",), [EDGE, EDGE_AGAIN]),
     "supplies[1]", "duplicate supply edge", "- line: sinter-1"),
    ("missing field", change(("lines", 0, "id"), ...), "lines[0].id", "missing field", "- "),
    ("unknown field", change(("lines", 0, "power_kw"), 5),
     "lines[0].power_kw", "unknown field", "power_kw: 5"),
    ("negative emission", change(("lines", 0, "so2_kg_d"), -5),
     "lines[0].so2_kg_d", "greater than or equal to 0 (got -5)", "so2_kg_d: -5"),
    ("not a number", change(("lines", 1, "pm_kg_d"), "lots"),
     "lines[1].pm_kg_d", "valid number", "pm_kg_d: lots"),
    ("min_load above 1", change(("lines", 1, "min_load"), 1.5),
     "lines[1].min_load", "less than or equal to 1", "min_load: 1.5"),
    ("min_stop_days 0", change(("lines", 0, "min_stop_days"), 0),
     "lines[0].min_stop_days", "greater than or equal to 1", "min_stop_days: 0"),
    ("bad enterprise id", change(("enterprise",), "JY P001"),
     "enterprise", "should match pattern", "enterprise: JY P001"),
    ("no lines", change(("lines",), []), "lines", "at least 1 item", "lines: []"),
    ("bad date", change(("updated",), "yesterday"), "updated", "valid date", "updated:"),
    ("loads not a mapping", change(("measures", 0, "loads"), [0.8]),
     "measures[0].loads", "valid dictionary", "loads:"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("apply", "field", "message", "on_line"),
    [rule[1:] for rule in PLAN_RULES],
    ids=[rule[0] for rule in PLAN_RULES],
)
def test_each_plan_rule_names_file_line_and_field(
    apply: Callable[[Data], None], field: str, message: str, on_line: str
) -> None:
    data = steel()
    apply(data)
    text = dump_yaml(data)
    _, errors, _ = parse_plan(text, PLAN_FILE)
    assert_error(errors, text, PLAN_FILE, field, message, on_line)
    with pytest.raises(ValidationErrors) as caught:
        parse_plan_text(text, PLAN_FILE)
    assert caught.value.errors == errors


def test_all_plan_errors_are_reported_at_once_in_line_order() -> None:
    data = steel()
    data["measures"][0]["loads"]["sinter-1"] = 1.2
    data["measures"][1]["loads"]["bf-1"] = 0
    data["levels"]["red"] = "limit-20"
    data["supplies"] = [EDGE | {"line": "coke-9"}]
    text = dump_yaml(data)
    with pytest.raises(ValidationErrors) as caught:
        parse_plan_text(text, PLAN_FILE)
    errors = caught.value.errors
    fields = [e.split(": ")[1] for e in errors]
    assert fields == [
        "measures[0].loads.sinter-1",
        "measures[1].loads.bf-1",
        "levels.red",
        "supplies[0].line",
    ]
    lines = [int(e.split(":")[1]) for e in errors]
    assert lines == sorted(lines)
    assert str(caught.value).startswith("4 errors in the data:")


def test_type_errors_are_all_reported_too() -> None:
    data = steel()
    data["lines"][0]["so2_kg_d"] = -1
    data["lines"][1]["can_stop"] = "maybe"
    data["measures"][0]["id"] = ""
    _, errors, _ = parse_plan(dump_yaml(data), PLAN_FILE)
    assert len(errors) == 3, errors


def test_yaml_syntax_error_names_the_line() -> None:
    text = dump_yaml(steel()).replace("  loads:\n", "  loads: [\n", 1)
    _, errors, _ = parse_plan(text, PLAN_FILE)
    assert len(errors) == 1 and re.match(rf"{PLAN_FILE}:\d+: YAML: ", errors[0]), errors


def test_duplicate_keys_are_refused_with_their_line() -> None:
    text = dump_yaml(steel()).replace("    sinter-1: 0.0\n", "    sinter-1: 0.0\n    sinter-1: 1\n")
    _, errors, _ = parse_plan(text, PLAN_FILE)
    assert len(errors) == 1 and "duplicate key 'sinter-1'" in errors[0], errors
    line = int(errors[0].split(":")[1])
    assert text.splitlines()[line - 1] == "    sinter-1: 1"


@pytest.mark.parametrize("text", ["", "# nothing\n", "- a\n- b\n", "just text\n"])
def test_a_plan_must_be_a_mapping(text: str) -> None:
    plan, errors, _ = parse_plan(text, PLAN_FILE)
    assert plan is None and len(errors) == 1 and errors[0].startswith(f"{PLAN_FILE}:1: ")


def test_a_plan_with_rule_errors_is_still_returned(tmp_path: Path) -> None:
    data = steel()
    data["levels"]["red"] = "limit-20"
    file = tmp_path / "JY-P001.yaml"
    file.write_text(dump_yaml(data), encoding="utf-8")
    plan, errors = load_plan(file, PLAN_FILE)
    assert plan is not None and len(errors) == 1
    assert load_plan(tmp_path / "nope.yaml", "x.yaml")[1][0].startswith("x.yaml: cannot read")


def test_yaml_typing_matches_safe_load() -> None:
    text = "a: 1\nb: 0.5\nc: true\nd: ~\ne: 2016-10-15\nf: '1'\ng: 1_000\nh: 1e3\ni: [x, 2]\n"
    import yaml

    assert read_yaml(text, "t")[0] == yaml.safe_load(text)
    nested = "j: [{k: 1, 'l': \"2\"}, [3, 4.5, null, yes]]\nk: !!str 5\n'true': off\n2: [[]]\n"
    assert read_yaml(nested, "t")[0] == yaml.safe_load(nested)
    merged = "base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n"
    assert read_yaml(merged, "t")[0] == yaml.safe_load(merged)


def test_locate_and_path_text() -> None:
    text = dump_yaml(steel())
    node = read_yaml(text, "t")[1]
    path = ("measures", 1, "loads", "bf-1")
    assert path_text(path) == "measures[1].loads.bf-1"
    line = locate(node, path)
    assert line is not None and "bf-1: 0.8" in text.splitlines()[line - 1]
    # a missing part: the deepest part found
    line = locate(node, ("lines", 0, "colour"))
    assert line is not None and text.splitlines()[line - 1] == "- id: sinter-1"
    assert locate(None, path) is None


# --------------------------------------------------------------------------- city plan rules

SITE = ("defaults", "site")
CITY_RULES = [
    ("unknown level", change(("levels", "purple"), {"cut_fraction": {"pm": 0.4}}),
     "levels.purple", "unknown level 'purple'", "purple:"),
    ("fraction above 1", change(("levels", "red", "cut_fraction", "pm"), 1.5),
     "levels.red.cut_fraction.pm", "less than or equal to 1", "pm: 1.5"),
    ("negative fraction", change((*SITE, "measures", 0, "cost_fraction"), -0.1),
     "defaults.site.measures[0].cost_fraction", "greater than or equal to 0",
     "cost_fraction: -0.1"),
    ("unknown pollutant", change(("levels", "red", "cut_fraction", "pm10"), 0.3),
     "levels.red.cut_fraction.pm10", "unknown pollutant 'pm10'", "pm10: 0.3"),
    ("negative other cut", change(("levels", "red", "other_cut_kg_d", "so2"), -1),
     "levels.red.other_cut_kg_d.so2", "greater than or equal to 0", "so2: -1"),
    ("default level names no measure", change((*SITE, "levels", "red"), "demolish"),
     "defaults.site.levels.red", "names no default measure: 'demolish'", "red: demolish"),
    ("default level not a city level", change((*SITE, "levels", "blue"), "stop-earthwork"),
     "defaults.site.levels.blue", "not a level of this plan", "blue: stop-earthwork"),
    ("defaults not mildest first",
     lambda d: d["defaults"]["site"]["measures"].reverse(),
     "defaults.site.measures[1]", "'stop-earthwork' is milder than the previous 'stop-all'",
     "- id: stop-earthwork"),
    ("default levels milder at a higher level",
     change(("defaults", "yard", "levels", "red"), "cover"),
     "defaults.yard.levels.red", "red ('cover') is milder than orange ('stop-loading')",
     "red: cover"),
    ("duplicate default measure", change((*SITE, "measures", 1, "id"), "stop-earthwork"),
     "defaults.site.measures[1].id", "duplicate measure id", "id: stop-earthwork"),
    ("defaults for plants", change(("defaults", "plant"), {"measures": []}),
     "defaults.plant", "unknown kind without plan files 'plant'", "plant:"),
    ("unknown protected grade", change(("protect_grades",), ["A", "AA"]),
     "protect_grades[1]", "unknown grade 'AA'", "AA"),
    ("baseline without a pollutant", change(("baseline_kg_d", "vocs"), ...),
     "baseline_kg_d", "missing pollutant(s) vocs", "baseline_kg_d:"),
    ("unknown AQI standard", change(("aqi_standard",), "HJ633-2020"),
     "aqi_standard", "HJ633-2012", "aqi_standard: HJ633-2020"),
    ("missing rule set", change(("rule_set",), ...), "rule_set", "missing field", ""),
    ("no levels", change(("levels",), {}), "levels", "no levels", "levels: {}"),
    ("unknown field", change(("mayor",), "x"), "mayor", "unknown field", "mayor: x"),
    ("bad report time", change(("report_by",), "25:00"),
     "report_by", "should match pattern", "report_by:"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("apply", "field", "message", "on_line"),
    [rule[1:] for rule in CITY_RULES],
    ids=[rule[0] for rule in CITY_RULES],
)
def test_each_city_rule_names_file_line_and_field(
    apply: Callable[[Data], None], field: str, message: str, on_line: str
) -> None:
    data = small_city()
    apply(data)
    text = dump_yaml(data)
    _, errors = parse_city_text(text, CITY_FILE)
    assert_error(errors, text, CITY_FILE, field, message, on_line)


def test_a_stoppable_line_with_a_minimum_load_may_stop_but_not_run_below_it() -> None:
    data = steel()
    data["lines"][0]["min_load"] = 0.6  # sinter-1: runs at 0.6 or more, or stops
    plan = parsed(data)  # stop-sinter (load 0) and limit-20 (0.8) are fine
    assert plan.load("stop-sinter", "sinter-1") == 0.0
    data["measures"][0]["loads"]["sinter-1"] = 0.3
    with pytest.raises(ValidationErrors, match=r"sinter-1: load 0.3 outside \[0.6, 1\]"):
        parsed(data)
