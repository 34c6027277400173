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
from tests.test_listbook import COKE, STEEL, good_rows, write_book

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


def test_the_problems_of_a_list_workbook_in_chinese_keep_their_cells(tmp_path: Path) -> None:
    rows = good_rows()
    coke, site = rows[2], rows[3]
    bad_code = STEEL[:17] + ("0" if STEEL[17] != "0" else "1")
    faults: list[tuple[int, str, object, str]] = [
        # (row index, key, bad value, the Chinese the message must say)
        (0, "grade", "E", '绩效等级 "E" 不是 A, 引领性, B, B-, C, D 之一，也不是空'),
        (0, "yl", 120, "黄色负荷(%) 120 不在 [0, 100] 范围内"),
        (1, "ol", 50, "低于该生产线的 最低负荷 / min_load 60（停产请填 0）"),
        (0, "rl", 50, "比 橙色负荷 0 宽松"),
        (2, "industry", "造纸厂", '"造纸厂" 不是'),
        (2, "days", None, "单位为 t/a 时须填写 年运行天数"),
        (2, "vocs", "八十", '"八十" 不是数字'),
        (3, "credit_code", bad_code, "校验码"),
        (3, "kind", "工厂", '"工厂" 不是'),
        (1, "lat", 95, "95 不在 [-90, 90] 范围内"),
        (1, "can_stop", "也许", '"也许" 不是 是、否 之一'),
        (1, "min_stop", 0, "0 低于下限 1"),
    ]
    coke["unit"] = "t/a"  # and no operating days
    for index, key, value, _ in faults:
        rows[index][key] = value
    rows.append({**site, "name": "另一家企业", "credit_code": COKE, "line": ""})
    supplies = [[COKE, "1#焦炉", "JY-NOBODY", "1#高炉", 50], [COKE, "2#焦炉", STEEL, "1#高炉", 50]]
    letters = write_book(tmp_path / "bad.xlsx", rows, supplies=supplies)
    args = ["list", "import", str(tmp_path / "bad.xlsx"), "--out", str(tmp_path / "data")]
    result = runner.invoke(app, [*args, "--lang", "zh"])
    assert result.exit_code == 2, result.output
    err = result.stderr
    assert err.startswith("错误：bad.xlsx 中有 "), err
    for index, key, _, said in faults:
        cell = f"清单!{letters[key]}{index + 3}: "
        assert any(cell in x and said in x for x in err.splitlines()), (cell, said, err)
    dup = f"清单!{letters['credit_code']}{len(rows) + 2}: "
    assert any(dup in x and '已是 "济源市示例焦化有限公司"' in x for x in err.splitlines())
    assert '供应关系!C2: 下游企业 "JY-NOBODY" 不是清单工作表中的企业' in err
    assert '供应关系!B3: 上游生产线 "2#焦炉" 不是 ' in err
    assert_chinese(err)
    english = runner.invoke(app, [*args, "--lang", "en"])
    assert english.exit_code == 2 and not CJK.search(english.stderr.splitlines()[0])
    assert '供应关系!C2: 下游企业 "JY-NOBODY" is no enterprise' in english.stderr


LIST_PROBLEMS = [
    '清单!C3: 类型 "工厂" is not one of 工业企业 (plant), 施工工地 (site), 物料堆场 (yard),'
    " 矿山 (quarry)",
    '清单!H3: 保障类 "x" is not one of 民生, 战略, 出口 or empty',
    '清单!K3: 单位 "kg" is not one of kg/d, t/a',
    '清单!R3: 可停产 "也许" is not one of 是, 否 (yes, no)',
    '清单!M3: SO2 "八十" is not a number',
    "清单!F3: 经度 200 is not within [-180, 180]",
    "清单!U3: 最少停产天数 0 is not at least 1",
    "清单!U3: 最少停产天数 1.5 is not a whole number of days",
    '清单!A3: 企业编号 "a b" may hold only letters, digits, _ and -',
    "清单!A3: 企业编号 is empty and so is 统一社会信用代码 / credit_code",
    '清单!B3: 统一社会信用代码 "9141" has 4 characters (expected 18)',
    '清单!B3: 统一社会信用代码 "91419001MA440000IO" has characters outside GB 32100-2015 (I, O;'
    " I, O, S, V, Z are not used)",
    "清单!B3: 统一社会信用代码 \"91419001MA44000010\" wrong check character '0' (expected 'R')",
    '清单!B5: 统一社会信用代码 "X" is already the code of "甲" (row 3, id JY-1)',
    '清单!B5: 统一社会信用代码 "X" is already the code of "甲" (row 3), not of "乙"',
    '清单!E4: 区县 "克井镇" differs from row 3 of the same enterprise ("轵城镇")',
    "清单!S5: 年运行天数 t/a needs 年运行天数 / operating_days (kg/d = t/a × 1000 / days)",
    "清单!C3: 企业名称 is empty",
    "清单!J4: 生产线 is empty (each row of a 工业企业 is one line)",
    "清单!4:4: JY-S1 is a 施工工地 without lines: give it one row (row 3), or a 生产线 / line on"
    " every row",
    "清单!V3: 黄色措施 must be empty for a row without 生产线 / line (sites, yards and quarries"
    " follow the city plan's default measures)",
    '清单!J4: 生产线 "1#高炉" repeats the line of row 3',
    '清单!X3: 橙色措施编号 "o-1" names a measure given with other text or loads by another colour',
    '清单!X4: 橙色措施编号 "o-2" differs from "o-1" (row 3)',
    '清单!W3: 黄色负荷(%) 0 stops line "1#高炉", which cannot stop (可停产 否)',
    "清单!W3: 黄色负荷(%) 50 is under the line's 最低负荷 / min_load 60 (write 0 to stop it)",
    "清单!W3: 黄色负荷(%) is empty on every line although 黄色措施 is given",
    '清单!Z3: 红色负荷(%) 50 is milder than 橙色负荷 0 on line "1#烧结机" (red must be at least'
    " as strict as orange)",
    "清单!Y3: 红色措施 is empty for JY-1 although a milder colour has a measure (repeat the"
    " milder measure if nothing more is done)",
    "清单!2:2: missing column 统一社会信用代码 / credit_code (or 企业编号 / id)",
    '措施!B2: 措施编号 "yellow-plan" is already a colour measure',
    '措施!A2: 企业 "X" is the code of several enterprises: use the id',
    '措施!A2: 企业 "甲" names several enterprises: use the id',
    '措施!A2: 企业 "甲" has no lines (no 生产线 in the list sheet)',
    '措施!C2: 措施名称 "限产" differs from "停产" of the same measure',
    '措施!D3: 生产线 "1#高炉" appears twice in measure "m-1"',
    "措施!B2: 措施编号 is empty",
    "供应关系!E2: 供应占比(%) 0 is not within (0, 100]",
    "供应关系!3:3: repeats the supply edge of row 2",
    "供应关系!D2: 下游生产线 a line cannot supply itself",
]


@pytest.mark.parametrize("problem", LIST_PROBLEMS)
def test_every_list_workbook_problem_has_its_chinese(problem: str) -> None:
    done = translate(problem, "zh")
    place = problem.split(": ")[0] + ": "
    assert done.startswith(place) and done != problem, done
    assert_chinese(done)


def test_a_usage_error_of_a_command_in_both_languages(tmp_path: Path) -> None:
    args = ["respond", "--forecast", str(tmp_path / "f.json"), "--json", "--csv", "x.csv"]
    zh = runner.invoke(app, args)
    assert zh.exit_code == 2
    assert zh.stderr.strip() == "错误：--json, --csv, --xlsx, --report 至多给出其一", zh.stderr
    assert_chinese(zh.stderr)
    en = runner.invoke(app, [*args, "--lang", "en"])
    assert en.exit_code == 2
    assert en.stderr.strip() == "error: give at most one of --json, --csv, --xlsx, --report"
    curve = runner.invoke(app, ["curve", "--from", "0.5", "--to", "0.2"])
    assert curve.exit_code == 2 and curve.stderr.strip() == "错误：--from 0.5 大于 --to 0.2"


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
