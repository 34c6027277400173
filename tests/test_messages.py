"""Validation messages in Chinese (emergency.messages): the catalogue, and the command line
printing faulty inputs' problems in Chinese by default and in English with ``--lang en``."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from emergency.cli import app
from emergency.messages import (
    CATALOGUE,
    _all_entries,
    placeholders,
    preferred_language,
    translate,
)

ROOT = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH = re.compile(
    r"\b(the|must|should|unknown|missing|expected|field|than|between|got|cannot|is|are|has"
    r"|give|input|valid|required|not|outside|milder|duplicate|names|no|of|or|and)\b",
    re.IGNORECASE,
)
"""Words of the English messages that a Chinese message must not keep."""

runner = CliRunner()


def chinese_words(line: str) -> str:
    """What follows the location of a problem: the line from its first Chinese character
    on, quoted values and codes taken out."""
    first = CJK.search(line)
    assert first is not None, f"no Chinese in {line!r}"
    location = " ".join(
        token for token in line[: first.start()].split() if not re.search(r"[/.:\[\]_=']", token)
    )
    assert not ENGLISH.search(location), line
    return re.sub(r"'[^']*'|`[^`]*`|\"[^\"]*\"", "", line[first.start() :])


def assert_chinese(text: str) -> None:
    for line in text.strip().splitlines():
        body = line.strip().removeprefix("错误：")
        words = chinese_words(body)
        assert not ENGLISH.search(words), f"English left in {line!r}"


def bundled_copy(tmp_path: Path) -> Path:
    """The bundled data folder (plans/ and enterprises.csv) copied into ``tmp_path``."""
    data = tmp_path / "data"
    shutil.copytree(ROOT / "plans", data / "plans")
    shutil.copy(ROOT / "enterprises.csv", data / "enterprises.csv")
    return data


def test_a_faulty_data_folder_is_reported_in_chinese_and_in_english_on_request(
    tmp_path: Path,
) -> None:
    data = bundled_copy(tmp_path)
    plan = data / "plans" / "enterprises" / "JY-P001.yaml"
    text = plan.read_text(encoding="utf-8")
    # an unknown field at the top and a load that is not a number
    plan.write_text("power_kw: 12\n" + text, encoding="utf-8")
    zh = runner.invoke(app, ["validate", "--data", str(data)])
    assert zh.exit_code == 2, zh.output
    assert zh.stderr.startswith("错误："), zh.stderr
    assert "plans/enterprises/JY-P001.yaml:1: power_kw: 未知字段" in zh.stderr
    assert_chinese(zh.stderr)
    en = runner.invoke(app, ["validate", "--data", str(data), "--lang", "en"])
    assert en.exit_code == 2
    assert "plans/enterprises/JY-P001.yaml:1: power_kw: unknown field" in en.stderr
    assert not CJK.search(en.stderr)


def test_yaml_that_does_not_parse_is_reported_in_chinese(tmp_path: Path) -> None:
    data = bundled_copy(tmp_path)
    plan = data / "plans" / "enterprises" / "JY-P002.yaml"
    plan.write_text(plan.read_text(encoding="utf-8") + "\nlines: [a, b\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", "--data", str(data)])
    assert result.exit_code == 2
    assert "JY-P002.yaml:" in result.stderr and "YAML" in result.stderr
    assert CJK.search(result.stderr)


def test_several_problems_of_a_forecast_in_chinese(tmp_path: Path) -> None:
    path = tmp_path / "forecast.json"
    days = [
        {"date": "2016-12-16", "aqi": [210, 2600]},
        {"date": "2016-12-17", "aqi": [260, 210]},
        {"date": "2016-12-19", "aqi": -1, "colour": "red"},
        {"date": "2016-12-20", "concentrations": {"pm2.5": 80}},
        {"date": "2016-12-21"},
    ]
    path.write_text(json.dumps({"days": days}, indent=1), encoding="utf-8")
    result = runner.invoke(app, ["assess", "--forecast", str(path)])
    assert result.exit_code == 2, result.output
    err = result.stderr
    assert err.startswith("错误："), err
    assert "中有 7 处错误：" in err, err
    for words in ("宽得不合理", "下限须 ≤ 上限", "须 ≥ 0，实为 -1", "未知字段", "缺少 2016-12-18"):
        assert words in err, (words, err)
    assert "days[3].concentrations.pm2.5: 未知污染物" in err
    assert_chinese(err)
    en = runner.invoke(app, ["assess", "--forecast", str(path), "--lang", "en"])
    assert en.stderr.startswith("error: 7 errors in ") and not CJK.search(en.stderr)


@pytest.mark.parametrize(
    "args",
    [
        ["aqi", "pm25=abc"],
        ["aqi", "pm2.5=80"],
        ["aqi", "pm25=-5"],
        ["aqi"],
        ["aqi", "--standard", "HJ633-2099", "pm25=80"],
    ],
)
def test_commands_without_a_data_folder_speak_chinese(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr.startswith("错误：")
    assert_chinese(result.stderr)
    english = runner.invoke(app, [*args, "--lang", "en"])
    assert english.exit_code == 2 and english.stderr.startswith("error: ")


def test_every_entry_has_the_same_placeholders_in_both_languages() -> None:
    for en, zh in _all_entries():
        assert Counter(placeholders(en)) == Counter(placeholders(zh)), (en, zh)
        assert CJK.search(zh) or not re.sub(r"\{\w+\}|[\s\W\d]", "", zh), (en, zh)


def test_every_entry_translates_its_own_english() -> None:
    for en, zh in CATALOGUE:
        names = placeholders(en)
        sample = en.replace("{{", "{").replace("}}", "}")
        for i, name in enumerate(names):
            value = (
                "width"
                if name.startswith("msg")
                else "grade"
                if name.startswith("term")
                else f"V{i}"
            )
            sample = sample.replace("{" + name + "}", value, 1)
        if any(name.startswith("msg") for name in names):
            continue  # held messages need an entry of their own; covered above and below
        place = "" if en.startswith("{") else "plans/city.yaml:3: levels.red: "
        done = translate(place + sample, "zh")
        assert done.startswith(place), (en, done)
        assert done != place + sample or not CJK.search(zh), en


def test_a_message_without_an_entry_stays_english_whole() -> None:
    message = "plans/city.yaml:3: levels: something nobody has catalogued (got 3)"
    assert translate(message, "zh") == message
    assert translate("3 errors in the data:\n  a.csv:1: x: who knows", "zh") == (
        "数据中有 3 处错误：\n  a.csv:1: x: who knows"
    )


def test_held_and_pydantic_messages() -> None:
    assert translate("Field required") == "缺少必填字段"
    assert translate("x.yaml:4: lines[0].share: Input should be greater than 0 (got 0)") == (
        "x.yaml:4: lines[0].share: 须大于 0（实为 0）"
    )
    assert translate("Value error, give exactly one of `above` and `at_least`") == (
        "`above` 与 `at_least` 须且只能给出其一"
    )
    assert translate("must be between 2000-01-01 and 2100-12-31, got 9999-12-31") == (
        "须在 2000-01-01 至 2100-12-31 之间，实为 9999-12-31"
    )
    assert (
        translate("Input should be 'blue', 'yellow' or 'red'") == "须为 'blue', 'yellow' 或 'red'"
    )
    assert translate("f.json:3:27: malformed JSON: Expecting ',' delimiter") == (
        "f.json:3:27: JSON 格式错误：缺少 ',' 分隔符"
    )
    assert translate("Field required", "en") == "Field required"


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "zh"),
        ("", "zh"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en;q=0.5,zh;q=0.9", "zh"),
        ("fr-FR", "zh"),
        ("fr,en;q=0.8", "en"),
    ],
)
def test_preferred_language(header: str | None, lang: str) -> None:
    assert preferred_language(header) == lang
