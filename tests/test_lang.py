"""``--lang zh|en``: the bundled city's ``respond`` speaks Chinese but for ids, units and
pollutant symbols; English on request; the list's CSV/XLSX in the chosen language."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from emergency.cli import app
from emergency.dataset import Dataset, load_dataset
from emergency.export import COLUMNS, HEADERS_ZH, to_csv, to_xlsx
from emergency.forecast import load_forecast
from emergency.measures import source_measures
from emergency.paths import default_data_dir
from emergency.respond import plan_response
from emergency.rules import assess, choose_rule_set, city_standard
from tests.datafiles import write_small_dataset

ORANGE = "examples/forecast-orange.json"
WIDE = {"COLUMNS": "400"}
"""Wide enough that no id is folded across two lines of a table."""

runner = CliRunner()

ALLOWED = {"SO2", "NOx", "PM", "VOCs", "AQI"}
"""Pollutant symbols and the index, the same in both languages."""
PLAIN = ("kg/d", "kg", "--csv", "--xlsx")
"""Units and the command's own options, written as they are in both languages."""


def machine_ids(dataset: Dataset) -> set[str]:
    """The ids a planner sees beside the Chinese: sources, lines, measures, rule sets."""
    ids: set[str] = {dataset.city.rule_set}
    for source in dataset.sources:
        ids.add(source.id)
        measures = source_measures(dataset, source.id)
        ids.update(option.id for option in measures.options)
    for plan in dataset.plans.values():
        ids.update(line.id for line in plan.lines)
    return ids


def english_words(text: str, ids: set[str]) -> set[str]:
    """ASCII words of ``text`` once ids, units and options are taken out, minus the pollutant
    symbols: what is left is English a Chinese reader would meet."""
    for found in sorted(ids | set(PLAIN), key=len, reverse=True):
        text = re.sub(rf"(?<![\w-]){re.escape(found)}(?![\w-])", " ", text)
    return set(re.findall(r"[A-Za-z][A-Za-z0-9]*", text)) - ALLOWED


@pytest.fixture(scope="module")
def bundled() -> Dataset:
    return load_dataset(default_data_dir())


@pytest.fixture(scope="module")
def zh_output() -> str:
    r = runner.invoke(app, ["respond", "-f", ORANGE, "--lang", "zh"], env=WIDE)
    assert r.exit_code == 0, r.output
    return r.output


def test_the_check_finds_an_english_label(bundled: Dataset) -> None:
    """The check is not blind: an English label, or an id glued to a word, is reported."""
    ids = machine_ids(bundled)
    assert english_words("橙色 JY-P005 limit-30 kg/d SO2+NOx AQI 元", ids) == set()
    assert english_words("orange JY-P005 deepened", ids) == {"orange", "deepened"}
    assert english_words("limit-30x 30 yuan", ids) == {"limit", "x", "yuan"}


def test_bundled_respond_in_chinese_has_no_english_word(zh_output: str, bundled: Dataset) -> None:
    assert english_words(zh_output, machine_ids(bundled)) == set(), zh_output
    for word in ("橙色预警", "减排量", "目标", "成本（元）", "最优", "元", "加严至"):
        assert word in zh_output, word
    assert "全厂限产30%（limit-30）" in zh_output  # the plan's measure name beside its id


def test_bundled_respond_defaults_to_the_city_plans_language(zh_output: str) -> None:
    r = runner.invoke(app, ["respond", "-f", ORANGE], env=WIDE)
    assert r.exit_code == 0, r.output
    strip = re.compile(r"用时 [0-9.]+ 秒")
    assert strip.sub("", r.output) == strip.sub("", zh_output)


def test_respond_in_english(bundled: Dataset) -> None:
    r = runner.invoke(app, ["respond", "-f", ORANGE, "--lang", "en"], env=WIDE)
    assert r.exit_code == 0, r.output
    assert "ORANGE warning" in r.output and "Status optimal" in r.output
    assert "deepened from" in r.output and "yuan" in r.output
    assert not re.search(r"[\u4e00-\u9fff]", r.output.replace(bundled.city.name, ""))


def test_a_city_plan_in_english_makes_english_the_default(tmp_path: Path) -> None:
    data = write_small_dataset(tmp_path / "city")
    city = data / "plans" / "city.yaml"
    city.write_text(city.read_text(encoding="utf-8") + "language: en\n", encoding="utf-8")
    r = runner.invoke(app, ["respond", "-f", ORANGE, "--data", str(data)], env=WIDE)
    assert r.exit_code == 0, r.output
    assert "Status optimal" in r.output and "求解状态" not in r.output
    r = runner.invoke(app, ["respond", "-f", ORANGE, "--data", str(data), "--lang", "zh"])
    assert "求解状态" in r.output


def test_a_bad_language_is_refused(tmp_path: Path) -> None:
    r = runner.invoke(app, ["respond", "-f", ORANGE, "--lang", "fr"])
    assert r.exit_code == 2 and "fr" in r.output
    data = write_small_dataset(tmp_path / "city")
    city = data / "plans" / "city.yaml"
    city.write_text(city.read_text(encoding="utf-8") + "language: fr\n", encoding="utf-8")
    r = runner.invoke(app, ["respond", "-f", ORANGE, "--data", str(data)])
    assert r.exit_code == 2 and "language" in r.output


def test_the_csv_file_has_a_bom_and_chinese_headers(tmp_path: Path) -> None:
    data = write_small_dataset(tmp_path / "city")
    out = tmp_path / "list.csv"
    args = ["respond", "-f", ORANGE, "--data", str(data), "--csv", str(out), "--lang", "zh"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw[3:].decode("utf-8").splitlines()
    assert lines[0].split(",") == [HEADERS_ZH[c] for c in COLUMNS]
    assert lines[0].startswith("企业编号,企业名称,类型,行业")
    assert any(",工业企业,钢铁," in line and ",橙色," in line for line in lines[1:])
    assert "行，总成本" in r.output


def test_the_csv_file_in_english_keeps_the_codes(tmp_path: Path) -> None:
    data = write_small_dataset(tmp_path / "city")
    out = tmp_path / "list.csv"
    args = ["respond", "-f", ORANGE, "--data", str(data), "--csv", str(out), "--lang", "en"]
    assert runner.invoke(app, args).exit_code == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw[3:].decode("utf-8").splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert any(",plant,steel," in line and ",orange," in line for line in lines[1:])


def test_the_workbook_in_chinese(tmp_path: Path) -> None:
    data = write_small_dataset(tmp_path / "city")
    out = tmp_path / "list.xlsx"
    args = ["respond", "-f", ORANGE, "--data", str(data), "--xlsx", str(out), "--lang", "zh"]
    assert runner.invoke(app, args).exit_code == 0
    wb = load_workbook(out)
    assert wb.sheetnames == ["清单", "逐日", "概要"]
    header = [c.value for c in wb["清单"][1]]
    assert header == [HEADERS_ZH[c] for c in COLUMNS]
    why = header.index("原因")
    rows = list(wb["清单"].iter_rows(min_row=2))
    assert rows and all(re.search(r"[\u4e00-\u9fff]", str(row[why].value)) for row in rows)
    summary = {row[0].value: row[1].value for row in wb["概要"].iter_rows()}
    assert summary["预警级别"] == "橙色" and summary["求解状态"] == "最优"
    assert "预警" in summary["原因"]


def test_the_service_downloads_stay_english_by_default(tmp_path: Path) -> None:
    """``to_csv``/``to_xlsx`` without a language (the API's downloads): as before."""
    data = write_small_dataset(tmp_path / "city")
    dataset = load_dataset(data)
    forecast = load_forecast(Path(ORANGE))
    rule_set = choose_rule_set(forecast, None, data)
    plan = plan_response(dataset, assess(forecast, rule_set, standard=city_standard(data)))
    text = to_csv(plan, dataset)
    assert not text.startswith("\ufeff") and text.splitlines()[0] == ",".join(COLUMNS)
    wb = load_workbook(io.BytesIO(to_xlsx(plan, dataset)))
    assert wb.sheetnames == ["list", "days", "summary"]
    assert [c.value for c in wb["list"][1]] == COLUMNS


@pytest.mark.parametrize(
    "forecast", sorted(str(p) for p in Path("examples").glob("forecast-*.json"))
)
def test_every_example_forecast_in_chinese(forecast: str, bundled: Dataset) -> None:
    """No warning, advisory only, a regional order, red with two conditions: all Chinese."""
    r = runner.invoke(app, ["respond", "-f", forecast, "--lang", "zh"], env=WIDE)
    assert r.exit_code == 0, r.output
    assert english_words(r.output, machine_ids(bundled)) == set(), r.output
    assert "预警" in r.output.splitlines()[0]


def test_why_in_chinese_for_every_kind_of_fixed_measure(bundled: Dataset) -> None:
    """Guaranteed, protected grade, override, exemption and the free choice each get a
    Chinese why beside the English one."""
    from emergency.respond import Override

    forecast = load_forecast(Path(ORANGE))
    base = default_data_dir()
    warning = assess(forecast, choose_rule_set(forecast, None, base), city_standard(base))
    assert warning.reason_zh.startswith("AQI > 200 连续 4 天") and "橙色预警" in warning.reason_zh
    forced = bundled.sources[0].id
    freed = next(s.id for s in bundled.sources if s.kind == "site" and not s.guarantee)
    overrides = [
        Override(source=forced, measure="red-plan", reason="市指挥部要求"),
        Override(source=freed, exempt=True, reason="民生保供"),
    ]
    plan = plan_response(bundled, warning, overrides=overrides)
    seen = {str(a.fixed): a.why_zh for a in plan.assignments}
    assert seen["override"] == "人工指定措施：市指挥部要求"
    assert seen["exempt"] == "人工豁免：民生保供"
    assert seen["guaranteed"].startswith("保障类企业（") and "不加严" in seen["guaranteed"]
    assert seen["protected_grade"].startswith("绩效等级 ")
    assert any(a.why_zh.startswith("为完成橙色预警减排目标") for a in plan.assignments)
    assert all(a.why and re.search(r"[\u4e00-\u9fff]", a.why_zh) for a in plan.assignments)


POLLUTANTS = re.compile(r"(?<![\w.])(?:PM2\.5|PM10|O3|NO2|SO2|CO)(?![\w.])")
"""The primary pollutants of the per-day table, as symbols."""


@pytest.mark.parametrize(
    "forecast", sorted(str(p) for p in Path("examples").glob("forecast-*.json"))
)
def test_every_example_forecast_assessed_in_chinese(forecast: str, bundled: Dataset) -> None:
    """``assess --lang zh``: level, reason, table headers and episodes in Chinese; only ids,
    dates, numbers and pollutant symbols stay ASCII."""
    r = runner.invoke(app, ["assess", "-f", forecast, "--lang", "zh"], env=WIDE)
    assert r.exit_code == 0, r.output
    decision = runner.invoke(app, ["assess", "-f", forecast, "--json"])
    rule_set = json.loads(decision.stdout)["rule_set"]
    text = POLLUTANTS.sub(" ", r.output)
    assert english_words(text, machine_ids(bundled) | {rule_set}) == set(), r.output
    assert "预警" in r.output.splitlines()[0] and "原因：" in r.output
    assert "日期" in r.output and "预警级别" in r.output


def test_assess_by_default_speaks_the_city_plans_language() -> None:
    r = runner.invoke(app, ["assess", "-f", ORANGE], env=WIDE)
    assert r.exit_code == 0, r.output
    assert r.output.startswith("橙色预警") and "连续 4 天" in r.output
    r = runner.invoke(app, ["assess", "-f", ORANGE, "--lang", "en"], env=WIDE)
    assert r.output.startswith("ORANGE") and "Reason: AQI > 200 on 4" in r.output


def test_episodes_have_a_chinese_reason() -> None:
    """Every episode of every example forecast says why in Chinese too (``--json``)."""
    for path in sorted(Path("examples").glob("forecast-*.json")):
        r = runner.invoke(app, ["assess", "-f", str(path), "--json"])
        out = json.loads(r.stdout)
        for episode in out["episodes"]:
            assert episode["reason"], path
            assert re.search(r"[\u4e00-\u9fff]", episode["reason_zh"]), (path, episode)
            assert not re.search(r"[\u4e00-\u9fff]", episode["reason"]), (path, episode)
    out = json.loads(runner.invoke(app, ["assess", "-f", ORANGE, "--json"]).stdout)
    assert out["episodes"][0]["reason_zh"].endswith("→ 橙色预警")
