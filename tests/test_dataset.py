"""A data folder as a whole: loading, the cross-file rules, supply edges and cycles."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from emergency import NORMAL
from emergency.dataset import Dataset, load_dataset, validate_plan_against
from emergency.errors import ValidationErrors
from emergency.measures import kind_defaults, source_measures
from emergency.paths import REPO_ROOT
from emergency.plans import parse_plan_text
from emergency.supply import find_cycles, graph_from_plans
from tests.datafiles import dump_yaml, small_city, small_plans, small_rows, write_small_dataset

CSV = "enterprises.csv"


def plan_name(ident: str) -> str:
    return f"plans/enterprises/{ident}.yaml"


def errors_of(root: Path) -> list[str]:
    with pytest.raises(ValidationErrors) as caught:
        load_dataset(root)
    return caught.value.errors


def one_error(errors: list[str], name: str, field: str) -> tuple[int | None, str]:
    """The line and message of the single error at ``name``/``field``."""
    pattern = re.compile(rf"{re.escape(name)}(?::(\d+))?: {re.escape(field)}: (.*)")
    found = [m for m in map(pattern.fullmatch, errors) if m]
    assert len(found) == 1, f"no single error at {name} {field}: {errors}"
    line = found[0].group(1)
    return (int(line) if line else None), found[0].group(2)


def line_of(root: Path, name: str, line: int | None) -> str:
    assert line is not None
    return (root / name).read_text(encoding="utf-8").splitlines()[line - 1]


@pytest.fixture
def small(tmp_path: Path) -> Dataset:
    return load_dataset(write_small_dataset(tmp_path / "data"))


# --------------------------------------------------------------------------- the valid folder


def test_small_dataset_loads(small: Dataset) -> None:
    assert [s.id for s in small.sources] == [r["id"] for r in small_rows()]
    assert list(small.plans) == ["JY-P001", "JY-P002", "JY-P003"]
    assert small.by_id["JY-P003"].guarantee == "livelihood"
    assert small.city.rule_set == "henan-2019"
    assert small.plan("JY-S001") is None and small.plan("JY-P001") is not None


def test_floors_come_from_plans_then_city_defaults(small: Dataset) -> None:
    def floor(source: str, level: str | None) -> str:
        return source_measures(small, source).floor(level)

    assert floor("JY-P001", "orange") == "stop-sinter"
    assert floor("JY-P003", "yellow") == NORMAL
    assert floor("JY-S001", "red") == "stop-all"
    assert floor("JY-Y001", "yellow") == "cover"
    assert floor("JY-Q001", None) == NORMAL
    assert kind_defaults(small, "JY-P001") is None
    defaults = kind_defaults(small, "JY-S001")
    assert defaults is not None and defaults.measures[0].id == "stop-earthwork"


def test_supply_graph(small: Dataset) -> None:
    graph = graph_from_plans(small.plans)
    assert list(graph.edges(data="share")) == [(("JY-P002", "coke-1"), ("JY-P001", "bf-1"), 1.0)]
    assert find_cycles(graph) == []


def test_find_cycles_starts_each_at_its_smallest_node() -> None:
    plans = {k: parse_plan_text(dump_yaml(v), k) for k, v in small_plans().items()}
    back = {"line": "bf-1", "to": {"enterprise": "JY-P002", "line": "coke-1"}, "share": 0.5}
    steel = small_plans()["JY-P001"] | {"supplies": [back]}
    plans["JY-P001"] = parse_plan_text(dump_yaml(steel), "JY-P001")
    cycles = find_cycles(graph_from_plans(plans))
    assert cycles == [[("JY-P001", "bf-1"), ("JY-P002", "coke-1")]]


def test_a_folder_without_plans_of_sites_is_fine(tmp_path: Path) -> None:
    rows = [r for r in small_rows() if r["kind"] != "plant"]
    dataset = load_dataset(write_small_dataset(tmp_path, rows=rows, plans={}))
    assert dataset.plans == {} and len(dataset.sources) == 3


def test_load_reports_progress(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    load_dataset(
        write_small_dataset(tmp_path), progress=lambda done, total: seen.append((done, total))
    )
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_bundled_dataset_validates() -> None:
    if not (REPO_ROOT / CSV).is_file():
        pytest.skip("the bundled dataset is not generated yet")
    dataset = load_dataset(REPO_ROOT)
    assert len(dataset.sources) > 0
    assert all(s.id in dataset.plans for s in dataset.sources if s.kind == "plant")


def test_plans_read_by_several_processes_are_the_plans_read_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large folder's plans are read by one process per CPU: the same plans, the same
    errors in the same order, and progress that counts up to every file."""
    from emergency import dataset as dataset_module

    serial = load_dataset(REPO_ROOT, cache=False)
    rows = small_rows()
    plans = small_plans()
    plans["JY-P001"]["measures"][0]["loads"]["sinter-1"] = 1.2
    plans["JY-P003"]["lines"][0]["id"] = 5
    broken = write_small_dataset(tmp_path, rows=rows, plans=plans)
    errors = errors_of(broken)
    monkeypatch.setattr(dataset_module, "PARALLEL_FROM", 2)
    monkeypatch.setattr(dataset_module, "CHUNK", 7)
    monkeypatch.setattr(dataset_module.os, "cpu_count", lambda: 2)
    seen: list[tuple[int, int]] = []
    parallel = load_dataset(REPO_ROOT, cache=False, progress=lambda *p: seen.append(p))
    assert len(serial.plans) > 100
    assert parallel.plans == serial.plans and list(parallel.plans) == list(serial.plans)
    assert parallel.sources == serial.sources
    total = seen[-1][1]
    assert seen[-1] == (total, total) and [d for d, _ in seen] == sorted({d for d, _ in seen})
    assert len(seen) == -(-total // 7)  # one report per chunk
    assert errors_of(broken) == errors


# --------------------------------------------------------------------------- cross-file rules


def test_plant_without_plan_is_named_at_its_csv_row(tmp_path: Path) -> None:
    plans = small_plans()
    del plans["JY-P003"]
    errors = errors_of(write_small_dataset(tmp_path, plans=plans))
    line, message = one_error(errors, CSV, "id")
    assert (
        line == 4 and "plant 'JY-P003' has no plan file plans/enterprises/JY-P003.yaml" in message
    )


def test_plan_enterprise_must_match_the_file_name(tmp_path: Path) -> None:
    plans = small_plans()
    plans["JY-P003"]["enterprise"] = "JY-P03X"
    root = write_small_dataset(tmp_path, plans=plans)
    line, message = one_error(errors_of(root), plan_name("JY-P003"), "enterprise")
    assert "'JY-P03X' differs from the file name 'JY-P003'" in message
    assert line_of(root, plan_name("JY-P003"), line).startswith("enterprise:")


def test_plan_without_inventory_row(tmp_path: Path) -> None:
    plans = small_plans()
    plans["JY-P004"] = plans["JY-P003"] | {"enterprise": "JY-P004"}
    root = write_small_dataset(tmp_path, plans=plans)
    line, message = one_error(errors_of(root), plan_name("JY-P004"), "enterprise")
    assert "no row 'JY-P004' in enterprises.csv" in message and line == 1


@pytest.mark.parametrize(
    ("line_index", "column", "value", "ok"),
    [
        (0, "so2_kg_d", 820, False),  # 1020 against 1000: 2 %
        (0, "so2_kg_d", 809, True),  # 0.9 %
        (1, "value_added_yuan_d", 1_100_000, False),
        (1, "vocs_kg_d", 50.4, True),
    ],
)
def test_line_totals_within_one_percent_of_the_row(
    tmp_path: Path, line_index: int, column: str, value: float, ok: bool
) -> None:
    plans = small_plans()
    plans["JY-P001"]["lines"][line_index][column] = value
    root = write_small_dataset(tmp_path, plans=plans)
    if ok:
        load_dataset(root)
        return
    line, message = one_error(errors_of(root), plan_name("JY-P001"), "lines")
    assert f"lines' total {column}" in message and "enterprises.csv row 2" in message
    assert line_of(root, plan_name("JY-P001"), line) == "lines:"


@pytest.mark.parametrize(("vocs", "ok"), [(0.5, True), (5, False)])
def test_zero_rows_use_an_absolute_tolerance(tmp_path: Path, vocs: float, ok: bool) -> None:
    plans = small_plans()
    plans["JY-P003"]["lines"][0]["vocs_kg_d"] = vocs
    root = write_small_dataset(tmp_path, plans=plans)
    if ok:
        load_dataset(root)
    else:
        assert "vocs_kg_d 5 differs" in one_error(errors_of(root), plan_name("JY-P003"), "lines")[1]


def test_plan_level_unknown_to_the_city(tmp_path: Path) -> None:
    plans = small_plans()
    plans["JY-P003"]["levels"] = {"blue": "ultra-low", **plans["JY-P003"]["levels"]}
    root = write_small_dataset(tmp_path, plans=plans)
    line, message = one_error(errors_of(root), plan_name("JY-P003"), "levels.blue")
    assert "not a level of the city plan (levels: yellow, orange, red)" in message
    assert line_of(root, plan_name("JY-P003"), line) == "  blue: ultra-low"


def test_plan_skipping_a_level_would_fall_back_to_normal(tmp_path: Path) -> None:
    plans = small_plans()
    del plans["JY-P001"]["levels"]["orange"]
    root = write_small_dataset(tmp_path, plans=plans)
    line, message = one_error(errors_of(root), plan_name("JY-P001"), "levels")
    assert "names a measure for yellow but none for orange" in message
    assert line_of(root, plan_name("JY-P001"), line) == "levels:"


@pytest.mark.parametrize(
    ("target", "field", "text"),
    [
        ({"enterprise": "JY-P999", "line": "bf-1"}, "to.enterprise", "no plan for 'JY-P999'"),
        ({"enterprise": "JY-S001", "line": "bf-1"}, "to.enterprise", "no plan for 'JY-S001'"),
        ({"enterprise": "JY-P001", "line": "bf-9"}, "to.line", "JY-P001 has no line 'bf-9'"),
    ],
)
def test_supply_edges_to_unknown_enterprises_or_lines(
    tmp_path: Path, target: dict[str, str], field: str, text: str
) -> None:
    plans = small_plans()
    plans["JY-P002"]["supplies"][0]["to"] = target
    root = write_small_dataset(tmp_path, plans=plans)
    line, message = one_error(errors_of(root), plan_name("JY-P002"), f"supplies[0].{field}")
    assert text in message
    assert line_of(root, plan_name("JY-P002"), line).strip().startswith(field.split(".")[1])


def test_supply_cycles_name_the_plans_involved(tmp_path: Path) -> None:
    plans = small_plans()
    back = {"line": "bf-1", "to": {"enterprise": "JY-P002", "line": "coke-1"}, "share": 0.1}
    plans["JY-P001"]["supplies"] = [back]
    root = write_small_dataset(tmp_path, plans=plans)
    line, message = one_error(errors_of(root), plan_name("JY-P001"), "supplies[0]")
    assert "supply cycle JY-P001/bf-1 → JY-P002/coke-1 → JY-P001/bf-1" in message
    assert "(plans JY-P001, JY-P002)" in message
    assert line_of(root, plan_name("JY-P001"), line) == "- line: bf-1"


def test_supply_edge_no_allowed_measure_can_satisfy(tmp_path: Path) -> None:
    rows = small_rows()
    rows[0]["grade"] = "A"  # protected: the steel plant stays at its floor (bf-1 at 0.8)
    root = write_small_dataset(tmp_path, rows=rows)
    line, message = one_error(errors_of(root), plan_name("JY-P002"), "supplies[0]")
    assert "at orange, coke-1 runs at its floor load 0.6" in message
    assert "JY-P001/bf-1 must run at <= 0.6" in message
    assert "grade A (protect_grades), kept at its floor" in message
    assert line_of(root, plan_name("JY-P002"), line) == "- line: coke-1"


def test_missing_files_are_reported(tmp_path: Path) -> None:
    root = write_small_dataset(tmp_path)
    (root / CSV).unlink()
    (root / "plans" / "city.yaml").unlink()
    errors = errors_of(root)
    assert any(e.startswith(f"{CSV}: missing") for e in errors), errors
    assert any(e.startswith("plans/city.yaml: missing") for e in errors), errors
    with pytest.raises(ValidationErrors, match="no such data folder"):
        load_dataset(tmp_path / "nowhere")


def test_plan_files_must_end_in_yaml(tmp_path: Path) -> None:
    root = write_small_dataset(tmp_path)
    folder = root / "plans" / "enterprises"
    (folder / "JY-P003.yaml").rename(folder / "JY-P003.yml")
    errors = errors_of(root)
    assert f"{plan_name('JY-P003')[:-5]}.yml: plan files are named <id>.yaml" in errors
    assert any("plant 'JY-P003' has no plan file" in e for e in errors)


def test_all_errors_of_the_folder_are_reported_in_one_run(tmp_path: Path) -> None:
    rows = small_rows()
    rows[4]["kind"] = "factory"  # inventory
    city: dict[str, Any] = small_city()
    city["levels"]["red"]["cut_fraction"]["pm"] = 2  # city plan
    plans = small_plans()
    plans["JY-P001"]["measures"][0]["loads"]["sinter-1"] = 1.2  # inside a plan
    plans["JY-P002"]["lines"][0]["nox_kg_d"] = 700  # against the inventory
    plans["JY-P003"]["lines"][0]["id"] = 5  # a type error
    root = write_small_dataset(tmp_path, rows=rows, city=city, plans=plans)
    errors = errors_of(root)
    starts = [
        f"{CSV}:6: kind:",
        "plans/city.yaml:",
        f"{plan_name('JY-P001')}:",
        f"{plan_name('JY-P002')}:",
        f"{plan_name('JY-P003')}:",
    ]
    for start in starts:
        assert any(e.startswith(start) for e in errors), (start, errors)
    assert len(errors) == 5, errors


# --------------------------------------------------------------------------- PUT a plan


def test_validate_plan_against_accepts_a_good_plan(small: Dataset) -> None:
    text = dump_yaml(small_plans()["JY-P001"])
    plan = parse_plan_text(text, plan_name("JY-P001"))
    assert validate_plan_against(plan, small.by_id["JY-P001"], small, text) == []


def test_validate_plan_against_names_lines_of_the_new_text(small: Dataset) -> None:
    data = small_plans()["JY-P001"]
    data["lines"][0]["so2_kg_d"] = 900
    data["enterprise"] = "JY-P002"
    text = dump_yaml(data)
    plan = parse_plan_text(text, "upload")
    errors = validate_plan_against(plan, small.by_id["JY-P001"], small, text)
    name = plan_name("JY-P001")
    assert one_error(errors, name, "enterprise")[0] == 1
    line, message = one_error(errors, name, "lines")
    assert line == 3 and "so2_kg_d 1100 differs" in message
    assert validate_plan_against(plan, small.by_id["JY-P001"], small)[0].startswith(f"{name}: ")


def test_validate_plan_against_protects_edges_of_other_plans(small: Dataset) -> None:
    data = small_plans()["JY-P001"]
    data["lines"][1]["id"] = "bf-2"
    for measure in data["measures"]:
        measure["loads"]["bf-2"] = measure["loads"].pop("bf-1")
    plan = parse_plan_text(dump_yaml(data), "upload")
    errors = validate_plan_against(plan, small.by_id["JY-P001"], small)
    assert errors == [
        f"{plan_name('JY-P002')}: supplies: JY-P001 has no line 'bf-1' (lines: sinter-1, bf-2)"
    ]


def test_validate_plan_against_checks_supply_feasibility(small: Dataset) -> None:
    data = small_plans()["JY-P001"]
    data["measures"] = [m for m in data["measures"] if m["id"] != "deep"]
    data["levels"]["red"] = "stop-sinter"
    plan = parse_plan_text(dump_yaml(data), "upload")
    errors = validate_plan_against(plan, small.by_id["JY-P001"], small)
    assert len(errors) == 1 and errors[0].startswith(f"{plan_name('JY-P002')}: supplies[0]: ")
    assert "allowed measures go no lower than 0.8" in errors[0]


def test_a_bad_inventory_row_does_not_orphan_its_plan(tmp_path: Path) -> None:
    rows = small_rows()
    rows[1]["grade"] = "E"
    errors = errors_of(write_small_dataset(tmp_path, rows=rows))
    assert len(errors) == 1 and errors[0].startswith(f"{CSV}:3: grade:"), errors
