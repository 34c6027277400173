"""``emergency rules compare`` and ``minimum_rule_set`` (docs/RULES.md, emergency/rulecompare.py).

Expected answers between the bundled rule sets are written by hand from their tables
(docs/RULES.md); every counterexample is re-checked with the engine's ``assess``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from emergency.cli import app
from emergency.paths import rules_dir
from emergency.rulecompare import compare, decision_name, forecast_of, rank, representatives
from emergency.rules import RuleSet, list_rule_sets, load_rule_set, parse_rule_set
from tests.datafiles import small_city, write_small_dataset

runner = CliRunner()
BUNDLED = list_rule_sets()


@pytest.fixture(scope="module")
def rules() -> dict[str, RuleSet]:
    return {name: load_rule_set(name) for name in BUNDLED}


@pytest.mark.parametrize("name", BUNDLED)
def test_a_rule_set_is_as_strict_as_itself(name: str) -> None:
    result = runner.invoke(app, ["rules", "compare", name, name])
    assert result.exit_code == 0, result.output
    assert "at least as strict" in result.stdout


# (city, base, shortest counterexample or None, city's decision, base's decision) by hand:
# henan-2019 gives only an advisory for one day > 200 where the others give blue;
# henan-2014 needs 3 days for yellow where the others need 2; national-2017 needs a day
# > 300 for orange where henan-2019 needs 3 days > 200 only; national-2017 reaches every
# henan-2014 level no later (orange: 3 days > 300 has 3 days > 200 and a day > 300).
PAIRS = [
    ("henan-2019", "national-2017", [201], "advisory", "blue"),
    ("henan-2019", "henan-2014", [201], "advisory", "blue"),
    ("henan-2014", "national-2017", [201, 201], "blue", "yellow"),
    ("henan-2014", "henan-2019", [201, 201], "blue", "yellow"),
    ("national-2017", "henan-2019", [201, 201, 201], "yellow", "orange"),
    ("national-2017", "henan-2014", None, None, None),
]


@pytest.mark.parametrize(("city", "base", "aqi", "city_level", "base_level"), PAIRS)
def test_bundled_pairs(
    rules: dict[str, RuleSet],
    city: str,
    base: str,
    aqi: list[int] | None,
    city_level: str | None,
    base_level: str | None,
) -> None:
    result = compare(rules[city], rules[base], days=7)
    assert result.at_least_as_strict == (aqi is None)
    if aqi is None:
        assert result.counterexample is None
        return
    example = result.counterexample
    assert example is not None
    assert list(example.aqi) == aqi
    assert (example.city, example.base) == (city_level, base_level)
    forecast = forecast_of(tuple(aqi))
    assert decision_name(forecast, rules[city]) == city_level
    assert decision_name(forecast, rules[base]) == base_level
    assert rank(city_level or "none") < rank(base_level or "none")


@pytest.mark.parametrize("city", BUNDLED)
@pytest.mark.parametrize("base", BUNDLED)
def test_pruned_search_equals_the_full_one(rules: dict[str, RuleSet], city: str, base: str) -> None:
    pruned = compare(rules[city], rules[base], days=4)
    full = compare(rules[city], rules[base], days=4, prune=False)
    assert pruned.counterexample == full.counterexample


def test_representatives_are_the_class_minima(rules: dict[str, RuleSet]) -> None:
    assert representatives(rules["national-2017"]) == (0, 201, 301, 500)
    assert representatives(rules["henan-2014"], rules["henan-2019"]) == (0, 201, 301, 500)


def milder_yaml() -> str:
    """national-2017 with yellow needing 3 days instead of 2."""
    text = (rules_dir() / "national-2017.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    raw["id"] = "milder"
    raw["levels"]["yellow"] = {"run": {"above": 200, "days": 3}}
    return yaml.safe_dump(raw, sort_keys=False)


def test_a_milder_rule_set_gives_exit_1_and_the_shortest_counterexample(tmp_path: Path) -> None:
    path = tmp_path / "milder.yaml"
    path.write_text(milder_yaml(), encoding="utf-8")
    result = runner.invoke(app, ["rules", "compare", str(path), "national-2017"])
    assert result.exit_code == 1, result.output
    assert "[201, 201]" in result.stdout and "blue under milder" in result.stdout
    assert "yellow under national-2017" in result.stdout
    # the other way round, the milder set is at most as strict: national is stricter
    result = runner.invoke(app, ["rules", "compare", "national-2017", str(path)])
    assert result.exit_code == 0, result.output


def test_json_shape(tmp_path: Path) -> None:
    result = runner.invoke(app, ["rules", "compare", "henan-2014", "henan-2019", "--json"])
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert body["at_least_as_strict"] is False
    assert body["counterexample"] == {"aqi": [201, 201], "city": "blue", "base": "yellow"}
    result = runner.invoke(app, ["rules", "compare", "henan-2014", "henan-2014", "--json"])
    assert result.exit_code == 0
    body = json.loads(result.stdout)
    assert body["at_least_as_strict"] is True and body["counterexample"] is None


def test_fewer_days_can_hide_a_difference() -> None:
    result = runner.invoke(
        app, ["rules", "compare", "national-2017", "henan-2019", "--days", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counterexample"] is None


def test_bad_input_exits_2_naming_the_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(milder_yaml().replace("id: milder", "id: broken\nhours: 3"), "utf-8")
    result = runner.invoke(app, ["rules", "compare", str(path), "national-2017"])
    assert result.exit_code == 2
    assert "broken.yaml" in result.stderr and "hours" in result.stderr
    result = runner.invoke(app, ["rules", "compare", "nowhere", "national-2017"])
    assert result.exit_code == 2 and "nowhere" in result.stderr


LEVEL_STEP = st.fixed_dictionaries(
    {"above": st.sampled_from([200, 250, 300, 400]), "days": st.integers(1, 4)}
)


@st.composite
def edited_rule_sets(draw: Any) -> RuleSet:
    """Small random rule sets: up to four levels of run/count/day triggers."""
    names = draw(
        st.lists(st.sampled_from(["blue", "yellow", "orange", "red"]), min_size=1, unique=True)
    )
    order = ["blue", "yellow", "orange", "red"]
    levels: dict[str, Any] = {}
    for name in sorted(names, key=order.index):
        kind = draw(st.sampled_from(["run", "count", "day"]))
        bound = draw(LEVEL_STEP)
        levels[name] = {kind: {"above": bound["above"]} if kind == "day" else bound}
    raw = {
        "id": "edited",
        "title": "edited",
        "episode": {"above": 200},
        "range_end": "upper",
        "release_hours": 36,
        "merge_gap_days": draw(st.integers(0, 2)),
        "levels": levels,
    }
    if draw(st.booleans()):
        raw["advisory"] = {"day": {"above": 200}}
    return parse_rule_set(yaml.safe_dump(raw, sort_keys=False), "edited.yaml")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(city=edited_rule_sets(), base=edited_rule_sets())
def test_random_rule_sets(city: RuleSet, base: RuleSet) -> None:
    assert compare(city, city, days=3).at_least_as_strict
    pruned = compare(city, base, days=3)
    assert pruned.counterexample == compare(city, base, days=3, prune=False).counterexample
    if pruned.counterexample is not None:
        forecast = forecast_of(pruned.counterexample.aqi)
        assert rank(decision_name(forecast, city)) < rank(decision_name(forecast, base))


def dataset_with(tmp_path: Path, **city_fields: Any) -> Path:
    city = {**small_city(), **city_fields}
    return write_small_dataset(tmp_path, city=city)


def test_validate_passes_when_the_city_is_no_milder(tmp_path: Path) -> None:
    root = dataset_with(tmp_path, rule_set="national-2017", minimum_rule_set="henan-2014")
    result = runner.invoke(app, ["validate", "--data", str(root)])
    assert result.exit_code == 0, result.output


def test_validate_fails_when_the_city_is_milder(tmp_path: Path) -> None:
    root = dataset_with(tmp_path, rule_set="henan-2019", minimum_rule_set="national-2017")
    result = runner.invoke(app, ["validate", "--data", str(root), "--lang", "en"])
    assert result.exit_code == 2
    err = result.stderr
    assert "plans/city.yaml:" in err and "minimum_rule_set:" in err
    assert "[201]" in err and "advisory under henan-2019" in err
    assert "blue under national-2017" in err


def test_validate_reads_rule_sets_of_the_data_folder(tmp_path: Path) -> None:
    root = dataset_with(tmp_path, rule_set="milder", minimum_rule_set="national-2017")
    folder = root / "plans" / "rules"
    shutil.copytree(rules_dir(), folder)
    (folder / "milder.yaml").write_text(milder_yaml(), encoding="utf-8")
    result = runner.invoke(app, ["validate", "--data", str(root)])
    assert result.exit_code == 2
    assert "minimum_rule_set:" in result.stderr and "[201, 201]" in result.stderr


def test_validate_names_an_unknown_minimum(tmp_path: Path) -> None:
    root = dataset_with(tmp_path, minimum_rule_set="nowhere")
    result = runner.invoke(app, ["validate", "--data", str(root)])
    assert result.exit_code == 2
    assert "plans/city.yaml" in result.stderr and "minimum_rule_set" in result.stderr
    assert "nowhere" in result.stderr
