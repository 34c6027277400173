"""Validation messages in Chinese: one catalogue over the English the engine writes.

Problems are written once, in English, where they are found (``file:line: field: what``).
:func:`translate` gives a message in ``zh`` or ``en``: the location (file, line, field
path, ids) is kept as it is and only the words after it are put into Chinese, by the first
entry of :data:`CATALOGUE` that matches the whole rest of the message. An entry is an
English template and a Chinese one with the same ``{placeholders}``; the English template
is matched with each placeholder standing for any text, which is copied into the Chinese
unchanged, except placeholders named

- ``msg…``: a message itself, translated by the catalogue (the entry does not apply when
  it has no translation);
- ``may…``: a message translated when the catalogue has it, else kept as it is (the
  words of the operating system or of a parser);
- ``alts…``: a list of choices whose ``or`` / ``and`` become 或 / 和;
- ``term…``: an English term of :data:`TERMS` (``grade`` → 绩效等级).

A message no entry matches stays English, whole (never half translated). ``{{`` and ``}}``
are literal braces. When several entries match, the one whose literal words cover the most
of the message wins (the most specific), so a generic entry such as ``{msg} (got {value})``
only applies when no entry covers the message with its ``(got …)``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from emergency.errors import InputError, ValidationErrors
from emergency.names import DEFAULT_LANG, Lang, check_lang

TERMS: dict[str, str] = {
    "grade": "绩效等级",
    "kind": "类型",
    "kind without plan files": "无预案文件的类型",
    "industry": "行业",
    "guarantee": "保障类型",
    "verification": "核查方式",
    "pollutant": "污染物",
    "level": "预警级别",
    "levels": "预警级别",
    "value": "取值",
    "standard": "标准",
    "measure": "措施",
    "line": "生产线",
    "district": "区县",
    "column": "列",
    "columns": "列",
    "placement": "布局",
    "schedule": "作息",
    "role": "角色",
    "quota": "配额",
    "period": "时段",
    "source": "污染源",
    "status": "状态",
    "industries": "行业",
    "range_end": "范围取值端",
    "blue": "蓝色",
    "yellow": "黄色",
    "orange": "橙色",
    "red": "红色",
}
"""English terms that messages name (``unknown grade 'E'``), in Chinese."""

_PYDANTIC_SHOULD: tuple[tuple[str, str], ...] = (
    ("greater than {n}", "须大于 {n}"),
    ("greater than or equal to {n}", "须大于或等于 {n}"),
    ("less than {n}", "须小于 {n}"),
    ("less than or equal to {n}", "须小于或等于 {n}"),
    ("a multiple of {n}", "须为 {n} 的倍数"),
    ("a valid integer", "须为有效整数"),
    (
        "a valid integer, unable to parse string as an integer",
        "须为有效整数（无法将字符串解析为整数）",
    ),
    ("a valid integer, got a number with a fractional part", "须为整数（实为带小数部分的数）"),
    ("a valid number", "须为有效数字"),
    (
        "a valid number, unable to parse string as a number",
        "须为有效数字（无法将字符串解析为数字）",
    ),
    ("a finite number", "须为有限数值"),
    ("a valid string", "须为字符串"),
    ("a valid boolean", "须为布尔值"),
    ("a valid boolean, unable to interpret input", "须为布尔值（无法识别输入）"),
    ("a valid dictionary", "须为映射"),
    ("a valid dictionary or instance of {model}", "须为映射或 {model} 的实例"),
    ("a valid dictionary or object to extract fields from", "须为映射或可从中提取字段的对象"),
    ("a valid list", "须为列表"),
    ("a valid tuple", "须为元组"),
    ("a valid array", "须为数组"),
    ("a valid date", "须为有效日期"),
    ("a valid date or datetime, {msg_why}", "须为有效日期或日期时间（{msg_why}）"),
    ("a valid datetime", "须为有效日期时间"),
    ("a valid datetime, {msg_why}", "须为有效日期时间（{msg_why}）"),
    (
        "a valid date in the format YYYY-MM-DD, {msg_why}",
        "须为 YYYY-MM-DD 格式的有效日期（{msg_why}）",
    ),
    ("a valid time", "须为有效时间"),
    ("a valid enumeration member; permitted: {alts}", "须为以下之一：{alts}"),
    ("'{alts}", "须为 '{alts}"),
    ("a valid datetime or date, {msg_why}", "须为有效日期时间或日期（{msg_why}）"),
    ("None", "须为空（None）"),
)
"""pydantic's ``Input should be …`` (the forecast reader writes ``must be …``)."""

CATALOGUE: tuple[tuple[str, str], ...] = (
    # --- ValidationErrors, YAML and JSON -------------------------------------------------
    ("{n} errors in the data:", "数据中有 {n} 处错误："),
    ("{n} errors in {what}:", "{what} 中有 {n} 处错误："),
    ("YAML: {may_yaml}", "YAML 语法错误：{may_yaml}"),
    ("malformed YAML: {may_yaml}", "YAML 格式错误：{may_yaml}"),
    ("duplicate key {key}", "重复的键 {key}"),
    (
        "while parsing a flow sequence did not find expected ',' or ']'",
        "解析流式序列时未找到预期的 ',' 或 ']'",
    ),
    (
        "while parsing a flow mapping did not find expected ',' or '}}'",
        "解析流式映射时未找到预期的 ',' 或 '}}'",
    ),
    (
        "while parsing a block mapping expected <block end>, but found {what}",
        "解析块映射时预期块结束，实为 {what}",
    ),
    (
        "while parsing a block collection expected <block end>, but found {what}",
        "解析块序列时预期块结束，实为 {what}",
    ),
    ("while scanning a simple key could not find expected ':'", "扫描简单键时未找到预期的 ':'"),
    (
        "while scanning a quoted scalar found unexpected end of stream",
        "扫描带引号的标量时遇到意外的文件结尾",
    ),
    ("mapping values are not allowed here", "此处不允许映射值"),
    ("expected ',' or ']', but got {what}", "预期 ',' 或 ']'，实为 {what}"),
    ("expected ',' or '}}', but got {what}", "预期 ',' 或 '}}'，实为 {what}"),
    ("found character '\\t' that cannot start any token", "发现不能作为记号开头的制表符 '\\t'"),
    ("YAML alias refers to a node that contains it", "YAML 别名引用了包含它自身的节点"),
    ("YAML aliases expand to more than {n} values", "YAML 别名展开后超过 {n} 个值"),
    ("malformed JSON: {may_json}", "JSON 格式错误：{may_json}"),
    ("Expecting ',' delimiter", "缺少 ',' 分隔符"),
    ("Expecting ':' delimiter", "缺少 ':' 分隔符"),
    ("Expecting value", "缺少值"),
    ("Expecting property name enclosed in double quotes", "属性名须用双引号括起"),
    ("Unterminated string starting at", "字符串未结束"),
    ("Extra data", "多余的数据"),
    ("Invalid control character at", "无效的控制字符"),
    ("NaN is not a number", "NaN 不是数字"),
    ("Infinity is not a number", "Infinity 不是数字"),
    ("-Infinity is not a number", "-Infinity 不是数字"),
    ("{name} is not a number", "{name} 不是数字"),
    ("JSON nested too deeply", "JSON 嵌套过深"),
    ("not UTF-8 (byte {n})", "不是 UTF-8 编码（第 {n} 字节）"),
    ("expected a JSON object, got {kind}", "须为 JSON 对象，实为 {kind}"),
    ("empty plan", "预案为空"),
    ("cannot read: {may_reason}", "无法读取：{may_reason}"),
    ("cannot read ({may_reason})", "无法读取（{may_reason}）"),
    ("cannot read the file ({may_reason})", "无法读取文件（{may_reason}）"),
    ("cannot write ({may_reason})", "无法写入（{may_reason}）"),
    ("cannot write {path}: {may_reason}", "无法写入 {path}：{may_reason}"),
    ("cannot write the file here (no such folder)", "无法在此写入文件（文件夹不存在）"),
    ("no such data folder", "数据文件夹不存在"),
    ("no such folder", "文件夹不存在"),
    ("is a folder", "是一个文件夹"),
    ("No such file or directory", "文件或文件夹不存在"),
    ("Permission denied", "无权访问"),
    ("rule set file not found", "未找到规则集文件"),
    (
        "not found (a data folder holds enterprises.csv and plans/)",
        "未找到（数据文件夹应包含 enterprises.csv 和 plans/）",
    ),
    # --- pydantic's own words, as the readers pass them on --------------------------------
    ("Field required", "缺少必填字段"),
    ("Extra inputs are not permitted", "不允许的多余字段"),
    ("missing field", "缺少字段"),
    ("unknown field", "未知字段"),
    ("required field is missing", "缺少必填字段"),
    ("Value error, {msg}", "{msg}"),
    ("Assertion failed, {msg}", "{msg}"),
    ("String should match pattern {pattern}", "须符合模式 {pattern}"),
    ("String should have at least {n} character", "至少须有 {n} 个字符"),
    ("String should have at least {n} characters", "至少须有 {n} 个字符"),
    ("String should have at most {n} character", "至多 {n} 个字符"),
    ("String should have at most {n} characters", "至多 {n} 个字符"),
    (
        "List should have at least {n} item after validation, not {got}",
        "至少须有 {n} 项，实为 {got} 项",
    ),
    (
        "List should have at least {n} items after validation, not {got}",
        "至少须有 {n} 项，实为 {got} 项",
    ),
    ("List should have at most {n} item after validation, not {got}", "至多 {n} 项，实为 {got} 项"),
    (
        "List should have at most {n} items after validation, not {got}",
        "至多 {n} 项，实为 {got} 项",
    ),
    (
        "Dictionary should have at least {n} item after validation, not {got}",
        "至少须有 {n} 项，实为 {got} 项",
    ),
    (
        "Dictionary should have at least {n} items after validation, not {got}",
        "至少须有 {n} 项，实为 {got} 项",
    ),
    ("input is too short", "输入过短"),
    ("input is too long", "输入过长"),
    ("invalid character in year", "年份中有无效字符"),
    ("invalid character in month", "月份中有无效字符"),
    ("invalid character in day", "日期中有无效字符"),
    ("invalid date separator, expected `-`", "日期分隔符无效，应为 `-`"),
    ("month value is outside expected range of 1-12", "月份超出 1-12 的范围"),
    ("day value is outside expected range", "日超出有效范围"),
    ("unexpected extra characters at the end of the input", "输入末尾有多余字符"),
    ("invalid character in hour", "小时中有无效字符"),
    ("JSON decode error", "JSON 解析错误"),
    ("JSON input should be string, bytes or bytearray", "JSON 输入须为字符串或字节"),
    ("must list at least {n} item, got {got}", "至少须列出 {n} 项，实为 {got}"),
    ("must list at least {n} items, got {got}", "至少须列出 {n} 项，实为 {got}"),
    # --- bounds and forecasts --------------------------------------------------------------
    ("must be between {low} and {high}, got {value}", "须在 {low} 至 {high} 之间，实为 {value}"),
    ("must be ≥ {n}, got {value}", "须 ≥ {n}，实为 {value}"),
    ("must be > {n}, got {value}", "须 > {n}，实为 {value}"),
    ("must be ≥ {n}, got {value} ({msg_range})", "须 ≥ {n}，实为 {value}（{msg_range}）"),
    ("range {range} on {date}", "{date} 的范围 {range}"),
    ("range {range} on {date}: low must be ≤ high", "{date} 的范围 {range}：下限须 ≤ 上限"),
    ("{shown}: low must be ≤ high", "{shown}：下限须 ≤ 上限"),
    (
        "range {range} on {date} is implausibly wide: the high is above {above} and more than"
        ' {factor}× the low (a typo?); if it is meant, add "wide_range": true to this day',
        "{date} 的范围 {range} 宽得不合理：上限高于 {above} 且超过下限的 {factor} 倍（笔误？）；"
        '若确属本意，请在该日加 "wide_range": true',
    ),
    ("must be a number or [low, high], got {value}", "须为一个数或 [下限, 上限]，实为 {value}"),
    (
        "a range must be [low, high] numbers, got {value}",
        "范围须为 [下限, 上限] 两个数，实为 {value}",
    ),
    (
        "must be a pollutant key or a list of them, got {value}",
        "须为污染物键或其列表，实为 {value}",
    ),
    ("unknown pollutant {name} (known: {known})", "未知污染物 {name}（已知：{known}）"),
    ("unknown pollutant (known: {known})", "未知污染物（已知：{known}）"),
    ("give at least one of {alts}", "至少给出 {alts} 中的一项"),
    ("give `aqi` or 1-hour concentrations, not both", "给出 `aqi` 或 1 小时浓度，不能同时给出"),
    ("give `aqi` or at least one of {known}", "给出 `aqi` 或 {known} 中的至少一项"),
    (
        "must list exactly {n} hours (00–23), got {got}",
        "须恰好列出 {n} 个小时（00–23），实为 {got}",
    ),
    ("must list exactly {n} hours, got {got}", "须恰好列出 {n} 个小时，实为 {got}"),
    ("must list exactly {n} hours", "须恰好列出 {n} 个小时"),
    (
        "{j}: gives {kinds} but hour 0 gives {first}; every hour of a day gives the same",
        "{j}：给出的是 {kinds}，但第 0 小时给出的是 {first}；一天中每小时须给出相同的项",
    ),
    (
        "give `aqi` (a value or [low, high]), `concentrations` or `hours`",
        "给出 `aqi`（一个数或 [下限, 上限]）、`concentrations` 或 `hours`",
    ),
    (
        "give only one of `aqi`, `concentrations` and `hours`, not more",
        "`aqi`、`concentrations` 和 `hours` 只能给出其一",
    ),
    (
        "must carry a UTC offset, e.g. 2016-12-15T16:00:00+08:00",
        "须带 UTC 时差，例如 2016-12-15T16:00:00+08:00",
    ),
    (
        "{date} is before the issue date {issued}: forecast days start on it",
        "{date} 早于发布日期 {issued}：预报日须从发布日期起",
    ),
    ("{date} is duplicated", "{date} 重复"),
    ("{date} is out of order (after {before})", "{date} 顺序错误（在 {before} 之后）"),
    ("{date} follows {before}; {missing} is missing", "{date} 紧接 {before}：缺少 {missing}"),
    ("no JSON string at {i}", "位置 {i} 处没有 JSON 字符串"),
    ("no JSON value at {i}", "位置 {i} 处没有 JSON 值"),
    ("unknown level {value} (known: {known})", "未知预警级别 {value}（已知：{known}）"),
    ("unknown value {value} (expected {alts})", "未知取值 {value}（应为 {alts}）"),
    ("{n} days; at most {most} are taken", "{n} 天；至多接受 {most} 天"),
    ("must be the id of a rule set, e.g. {example}", "须为规则集的 id，例如 {example}"),
    ("{msg}, but {key} is not given", "{msg}，但未给出 {key}"),
    # --- AQI -------------------------------------------------------------------------------
    ("not a valid AQI", "不是有效的 AQI"),
    ("unknown; use one of {known}", "未知；请使用 {known} 之一"),
    ("unknown pollutant; use one of {known}", "未知污染物；请使用 {known} 之一"),
    ("not a number", "不是数字"),
    ("not a finite number", "不是有限数值"),
    ("a concentration cannot be negative", "浓度不能为负"),
    ("not a date", "不是日期"),
    ("not a date (YYYY-MM-DD)", "不是日期（YYYY-MM-DD）"),
    ("not a date (YYYY-MM-DD): {text}", "不是日期（YYYY-MM-DD）：{text}"),
    (
        "no concentrations given; name at least one of {known}",
        "未给出浓度；请至少给出 {known} 之一",
    ),
    ("no concentrations given; e.g. {example}", "未给出浓度；例如 {example}"),
    ("unknown pollutant (known: {known})", "未知污染物（已知：{known}）"),
    ("no pollutant is given in every hour", "没有哪种污染物在每个小时都给出"),
    (
        "above {limit} µg/m³ its sub-index is not computed (HJ 633) and the {other} sub-index"
        " replaces it",
        "高于 {limit} µg/m³ 时不计算其分指数（HJ 633），改用 {other} 的分指数",
    ),
    (
        "in the hourly AQI the 24-hour mean only stands in for {key} above its table; give {key2}",
        "小时 AQI 中 24 小时均值仅在 {key} 超出其分级表时代替它；请给出 {key2}",
    ),
    (
        "a 24-hour mean does not count in the hourly (real-time) AQI; give the 1-hour value"
        " {key} (keys: {known})",
        "24 小时均值不计入小时（实时）AQI；请给出 1 小时值 {key}（可用键：{known}）",
    ),
    (
        "a 1-hour value counts only in the hourly (real-time) AQI; the daily AQI (HJ 633) uses"
        " the 24-hour mean {key} (for the hourly AQI: hourly_aqi, emergency aqi --hourly)",
        "1 小时值只计入小时（实时）AQI；日 AQI（HJ 633）使用 24 小时均值 {key}"
        "（小时 AQI：hourly_aqi、emergency aqi --hourly）",
    ),
    (
        "a 1-hour value counts only in the hourly (real-time) AQI; the daily AQI (HJ 633) uses"
        " the 24-hour mean {key}. For the hourly AQI add --hourly: {example}",
        "1 小时值只计入小时（实时）AQI；日 AQI（HJ 633）使用 24 小时均值 {key}。"
        "计算小时 AQI 请加 --hourly：{example}",
    ),
    ("expected KEY=VALUE, e.g. {example}", "应为 KEY=VALUE，例如 {example}"),
    ("{key} is given twice", "{key} 给出了两次"),
    # --- data folder: inventory -----------------------------------------------------------
    ("missing (expected the city plan)", "缺失（应为城市预案）"),
    ("missing (expected the inventory in {base})", "缺失（应为 {base} 中的清单）"),
    ("plan files are named <id>.yaml", "预案文件须命名为 <id>.yaml"),
    ("plant {source} has no plan file {file}", "工业企业 {source} 没有预案文件 {file}"),
    ("missing column(s) {columns}", "缺少列 {columns}"),
    ("unknown column(s) {columns} (expected {expected})", "未知列 {columns}（应为 {expected}）"),
    ("duplicate column(s) {columns}", "重复的列 {columns}"),
    ("empty (write 0 for none)", "为空（没有请填 0）"),
    ("not a number: {value}", "不是数字：{value}"),
    ("bad id {value} (use [A-Za-z0-9_-]+)", "无效的 id {value}（请使用 [A-Za-z0-9_-]+）"),
    ("unknown {term} {value} (expected {alts})", "未知{term} {value}（应为 {alts}）"),
    (
        "unknown {term} {value} (expected {alts}, or empty)",
        "未知{term} {value}（应为 {alts} 或留空）",
    ),
    ("unknown {term} {value} (expected one of {alts})", "未知{term} {value}（应为 {alts} 之一）"),
    ("unknown {term} {value}", "未知{term} {value}"),
    ("missing: the row has fewer fields than the header", "缺失：该行字段少于表头"),
    ("empty {column}", "{column} 为空"),
    ("{column} {value} outside [{low}, {high}]", "{column} {value} 超出 [{low}, {high}]"),
    ("negative: {value} (must be >= 0)", "为负数：{value}（须 >= 0）"),
    ("duplicate id {ident} (first on line {line})", "重复的 id {ident}（首次出现在第 {line} 行）"),
    ("missing {term} {alts}", "缺少{term} {alts}"),
    # --- data folder: city plan and enterprise plans ---------------------------------------
    ("missing pollutant(s) {alts}", "缺少污染物 {alts}"),
    ("no levels: name at least one warning level", "没有预警级别：请至少给出一个预警级别"),
    ("'normal' is reserved (no cut)", "'normal' 为保留名（不减排）"),
    ("'normal' is reserved (all loads 1.0)", "'normal' 为保留名（全部负荷 1.0）"),
    ("duplicate measure id {ident} (also {other})", "重复的措施 id {ident}（另见 {other}）"),
    ("duplicate {term} id {ident} (also {other})", "重复的{term} id {ident}（另见 {other}）"),
    ("not a level of this plan ({known})", "不是本预案的预警级别（{known}）"),
    # city plan: notice (how the public outputs name the city, docs/PUBLIC.md)
    ("must not be empty", "不能为空"),
    (
        "not a valid pattern: {may_reason} (a literal brace is written {{{{ or }}}})",
        "不是有效的编号格式：{may_reason}（字面的花括号写作 {{{{ 或 }}}}）",
    ),
    ("not a valid pattern: {may_reason}", "不是有效的编号格式：{may_reason}"),
    (
        "unknown placeholder {name} (only {{year}} and {{seq}})",
        "未知占位符 {name}（只能用 {{year}} 和 {{seq}}）",
    ),
    (
        "the pattern must contain {{year}} and {{seq}}; missing {alts}",
        "编号格式须包含 {{year}} 和 {{seq}}；缺少 {alts}",
    ),
    (
        "a CAP sender has no spaces, commas, '<' or '&' (found {found})",
        "CAP 发送者（sender）不能含空格、逗号、'<' 或 '&'（发现 {found}）",
    ),
    (
        "a point is [lon, lat], two numbers (got {value})",
        "点须为 [经度, 纬度] 两个数（实为 {value}）",
    ),
    (
        "{point} is [lat, lon]: write each point as [lon, lat]",
        "{point} 是 [纬度, 经度]：每个点请写作 [经度, 纬度]",
    ),
    ("lon {value} is outside {low}..{high} (China)", "经度 {value} 超出 {low}..{high}（中国）"),
    ("lat {value} is outside {low}..{high} (China)", "纬度 {value} 超出 {low}..{high}（中国）"),
    (
        "a polygon needs at least 3 distinct points, got {n}",
        "多边形至少须有 3 个不同的点，实为 {n} 个",
    ),
    ("the points lie on one line: the polygon has no area", "各点在一条直线上：多边形没有面积"),
    (
        "not a level of the city plan (levels: {known})",
        "不是城市预案的预警级别（预警级别：{known}）",
    ),
    (
        "{higher} ({high}) is milder than {lower} ({low})",
        "{higher}（{high}）比 {lower}（{low}）宽松",
    ),
    (
        "{higher} ({high}) is milder than {lower} ({low}) on {what}",
        "{higher}（{high}）在 {what} 上比 {lower}（{low}）宽松",
    ),
    (
        "{after} is milder than the previous {before} on {what} (list measures mildest first)",
        "{after} 在 {what} 上比前一项 {before} 宽松（措施请按从宽到严排列）",
    ),
    (
        "names no default measure: {measure} (measures: {known})",
        "所指默认措施不存在：{measure}（措施：{known}）",
    ),
    (
        "names no measure: {measure} (measures: {known})",
        "所指措施不存在：{measure}（措施：{known}）",
    ),
    (
        "rule set {city} is milder than {base}: daily AQI [{aqi}] gives {level} under {city2}"
        " but {level2} under {base2}",
        "规则集 {city} 比 {base} 宽松：日 AQI [{aqi}] 在 {city2} 下为 {level}，"
        "在 {base2} 下为 {level2}",
    ),
    ("supply cycle {cycle} (plans {plans})", "供应关系成环 {cycle}（预案 {plans}）"),
    ("{enterprise} is not this enterprise ({source})", "{enterprise} 不是本企业（{source}）"),
    (
        "conflicts with another enterprise's plan; ask the planner",
        "与另一企业的预案冲突；请联系规划人员",
    ),
    ("{enterprise} differs from the file name {name}", "{enterprise} 与文件名 {name} 不符"),
    (
        "lines' total {column} {total} differs from {at} ({expected}) by more than 1 %",
        "各生产线 {column} 合计 {total} 与 {at}（{expected}）相差超过 1 %",
    ),
    ("enterprises.csv row {n}", "enterprises.csv 第 {n} 行"),
    (
        "names a measure for {lower} but none for {higher}, where normal operation would be"
        " milder than {floor}",
        "为 {lower} 指定了措施，却未为 {higher} 指定；正常生产将比 {floor} 宽松",
    ),
    (
        "no plan for {enterprise} (supply targets need a plan file {file})",
        "{enterprise} 没有预案（供应对象须有预案文件 {file}）",
    ),
    (
        "a line another enterprise's plan names as supplied is missing; keep its id or ask the"
        " planner",
        "另一企业预案所指的受供生产线缺失；请保留其 id 或联系规划人员",
    ),
    ("no row {key} in {file}", "{file} 中没有 {key} 这一行"),
    (
        "{enterprise} has no line {line} (lines: {known})",
        "{enterprise} 没有生产线 {line}（生产线：{known}）",
    ),
    ("unknown line {line} (lines: {known})", "未知生产线 {line}（生产线：{known}）"),
    ("line {line} cannot stop (can_stop: false)", "生产线 {line} 不能停产（can_stop: false）"),
    ("load {load} outside [{low}, {high}]", "负荷 {load} 超出 [{low}, {high}]"),
    ("unknown level (expected {known})", "未知预警级别（应为 {known}）"),
    ("a line cannot supply itself", "生产线不能供应自身"),
    ("duplicate supply edge", "重复的供应关系"),
    ("email: not an email address: {value}", "email：不是电子邮件地址：{value}"),
    (
        "mobile: not a mobile number (11 digits, 13…–19…): {value}",
        "mobile：不是手机号码（11 位，13…–19… 开头）：{value}",
    ),
    (
        "'to' must be a mapping {{enterprise: ID, line: ID}}",
        "'to' 须为映射 {{enterprise: ID, line: ID}}",
    ),
    (
        "at {level}, {line} runs at its floor load {load} ({measure}), so {target} must run at"
        " <= {bound}, but its allowed measures go no lower than {best}",
        "{level}预警时 {line} 按底线负荷 {load}（{measure}）运行，故 {target} 负荷须 <= {bound}，"
        "但其允许的措施最低只到 {best}",
    ),
    (
        "at {level}, {line} runs at its floor load {load} ({measure}), so {target} must run at"
        " <= {bound}, but its allowed measures go no lower than {best} ({why})",
        "{level}预警时 {line} 按底线负荷 {load}（{measure}）运行，故 {target} 负荷须 <= {bound}，"
        "但其允许的措施最低只到 {best}（{why}）",
    ),
    ("the city plan has no targets for this level", "城市预案没有该预警级别的减排目标"),
    ("unknown source {source}", "未知污染源 {source}"),
    (
        "{source} has no measure {measure} (known: {known})",
        "{source} 没有措施 {measure}（已知：{known}）",
    ),
    ("{source} is not in the inventory", "{source} 不在清单中"),
    ("give either a measure or exempt: true", "给出措施或 exempt: true 二者之一"),
    (
        "give either `measure` or `exempt: true`, not both or neither",
        "`measure` 与 `exempt: true` 须且只能给出其一",
    ),
    ("unknown language {lang} (expected zh or en)", "未知语言 {lang}（应为 zh 或 en）"),
    # --- rule sets ---------------------------------------------------------------------------
    ("rule set {name}: unknown (known: {known})", "规则集 {name}：未知（已知：{known}）"),
    ("expected a mapping of rule-set fields", "须为规则集字段的映射"),
    ("{rule} differs from the file name {stem}", "{rule} 与文件名 {stem} 不符"),
    ("must be a string, got {value}", "须为字符串，实为 {value}"),
    ("unknown standard {value} (known: {known})", "未知标准 {value}（已知：{known}）"),
    ("give exactly one of `above` and `at_least`", "`above` 与 `at_least` 须且只能给出其一"),
    ("give exactly one of {known}", "{known} 须且只能给出其一"),
    ("give exactly one of {known} (got {got})", "{known} 须且只能给出其一（实为 {got}）"),
    (
        "listed after {before}; list levels mild to severe ({known})",
        "列在 {before} 之后；预警级别请按从轻到重排列（{known}）",
    ),
    (
        "{bound} reaches below the episode bound ({episode}); only episode days are assessed",
        "{bound} 低于污染过程的下限（{episode}）；只评估污染过程中的日子",
    ),
    ("days must be at least 1", "天数至少为 1"),
    # --- command line --------------------------------------------------------------------------
    ("must be at least 1, got {n}", "至少为 1，实为 {n}"),
    ("{out} exists and is not a folder", "{out} 已存在且不是文件夹"),
    (
        "{out} is not empty (use --force to overwrite the data in it)",
        "{out} 不为空（用 --force 覆盖其中的数据）",
    ),
    ("the workbook must end in .xlsx", "工作簿须以 .xlsx 结尾"),
    ("--state needs --from (the first day to re-plan)", "--state 需要 --from（重新编制的第一天）"),
    ("expected a JSON object (season plan --json)", "须为 JSON 对象（season plan --json）"),
    ("after the end of season {season} ({end})", "晚于采暖季 {season} 的结束日（{end}）"),
    ("{start} is after the season's end", "{start} 晚于采暖季结束日"),
    ("{start} is after the season's end ({end})", "{start} 晚于采暖季结束日（{end}）"),
    ("the schedule was not re-planned, --state does not apply", "该排程未重新编制，--state 不适用"),
    ("not a JSON schedule ({may_reason})", "不是 JSON 排程（{may_reason}）"),
    (
        "{text} is not a duration: a positive number of days, hours or minutes such as 90d,"
        " 12h or 30m",
        "{text} 不是时长：须为正数的天、小时或分钟，如 90d、12h 或 30m",
    ),
    ("the token must expire after it is created", "令牌的过期时间须晚于创建时间"),
    ("unknown role {role} (known: {known})", "未知角色 {role}（已知：{known}）"),
    ("required for a token of role 'enterprise'", "'enterprise' 角色的令牌必须给出"),
    (
        "only tokens of role 'enterprise' name one, not {role}",
        "只有 'enterprise' 角色的令牌才指定企业，{role} 不指定",
    ),
    (
        "only SQLite and PostgreSQL are supported, not {url}",
        "只支持 SQLite 和 PostgreSQL，不支持 {url}",
    ),
    ("not a database URL: {url}", "不是数据库 URL：{url}"),
    ("token {n} not found", "未找到令牌 {n}"),
    # --- service -------------------------------------------------------------------------------
    ("give the reason for rejecting the plan version", "请给出退回该预案版本的理由"),
    ("give the reason for rejecting the season plan", "请给出退回该采暖季方案的理由"),
    (
        "{first} is before today ({today}): days behind stay as they were",
        "{first} 早于今天（{today}）：已过去的日子保持不变",
    ),
    ("unknown source or date {source} {date}", "未知污染源或日期 {source} {date}"),
    (
        "{at} is in the future (server time {now}); report what happened, from {first} to now",
        "{at} 在将来（服务器时间 {now}）；请报告已发生的情况，时间从 {first} 到现在",
    ),
    ("请选择措施或豁免 Choose a measure or exempt", "请选择措施或豁免"),
    ("expected a mapping of plan fields", "须为预案字段的映射"),
    ("expected a mapping of city-plan fields", "须为城市预案字段的映射"),
    ("expected a mapping of season fields", "须为采暖季方案字段的映射"),
    (
        "longer than {n} characters (an order stores at most {m})",
        "超过 {n} 个字符（指令最多保存 {m} 个）",
    ),
    ("unknown supply target (enterprise or line)", "未知的供应对象（企业或生产线）"),
    (
        "this supply edge cannot be accepted with the target's plan; ask the planner",
        "此供应关系与对象企业的预案不相容，无法接受；请联系规划人员",
    ),
    (
        "{edge} (share {share}) cannot be met on {date} ({level}): {source} runs its line at"
        " {up} at most, and {file} allows no load below {down}",
        "{edge}（占比 {share}）在 {date}（{level}）无法满足：{source} 的生产线负荷至多 {up}，"
        "而 {file} 允许的负荷不低于 {down}",
    ),
    (
        "unknown kind without plan files {value} (expected {alts})",
        "未知的无预案文件类型 {value}（应为 {alts}）",
    ),
    (
        "while parsing a flow node did not find expected node content",
        "解析流式节点时未找到预期的节点内容",
    ),
    (
        "while parsing a block node expected the node content, but found {what}",
        "解析块节点时预期节点内容，实为 {what}",
    ),
    (
        "while scanning an alias did not find expected alphabetic or numeric character",
        "扫描别名时未找到预期的字母或数字字符",
    ),
    ("found undefined alias {name}", "发现未定义的别名 {name}"),
    (
        "unacceptable character {char}: control characters are not allowed{rest}",
        "不可接受的字符 {char}：不允许控制字符{rest}",
    ),
    (
        "expected a single document in the stream but found another document",
        "应只有一个文档，却发现了另一个文档",
    ),
    # --- synthetic data description ------------------------------------------------------------
    ("`half` is allowed at yellow only", "`half` 只允许用于黄色预警"),
    (
        "a load is a percent in 0..100 (or `half` at yellow)",
        "负荷是 0..100 的百分数（黄色预警可用 `half`）",
    ),
    ("the fewest lines exceed the most", "最少生产线数超过最多生产线数"),
    ("key {key} given twice", "键 {key} 给出了两次"),
    ("give either stop_days or output_cut", "给出 stop_days 或 output_cut 二者之一"),
    ("per: firm applies to output_cut only", "per: firm 只适用于 output_cut"),
    (
        "per: firm applies to output_cut only (stop_days is per line)",
        "per: firm 只适用于 output_cut（stop_days 按生产线计）",
    ),
    ("no schedule {name}", "没有作息 {name}"),
    ("no placement {name}", "没有布局 {name}"),
    ("no district {name}", "没有区县 {name}"),
    ("no measure {name}", "没有措施 {name}"),
    ("end: {end} is before start {start}", "end：{end} 早于开始日 {start}"),
    ("quotas: id {ident} given twice", "quotas：id {ident} 给出了两次"),
    ("risk.peak: {day} is outside the season", "risk.peak：{day} 不在采暖季内"),
    ("{start} .. {end} is not inside the season", "{start} .. {end} 不在采暖季内"),
    # --- season ----------------------------------------------------------------------------------
    ("a season lasts at most {n} days", "一个采暖季至多 {n} 天"),
    (
        "no source with a plan in industry {industry} in the data",
        "数据中没有行业 {industry} 的有预案污染源",
    ),
    ("no source with a plan {ident}", "没有有预案的污染源 {ident}"),
    ("selects no line", "未选中任何生产线"),
    ("{day} is outside the season {start} .. {end}", "{day} 不在采暖季 {start} .. {end} 内"),
    ("{end} is before start {start}", "{end} 早于开始日 {start}"),
    ("{day} is outside the season", "{day} 不在采暖季内"),
    ("duplicate date {day}", "重复的日期 {day}"),
    ("not a date {value}", "不是日期 {value}"),
    ("must be a finite number ≥ 0", "须为有限数值且 ≥ 0"),
    ("not a number {value}", "不是数字 {value}"),
    ("no such file", "文件不存在"),
    ("cannot write the file ({may_reason})", "无法写入文件（{may_reason}）"),
    ("after the end of the season ({end})", "晚于采暖季结束日（{end}）"),
    ("the schedule is for season {season}, not {other}", "该排程属于采暖季 {season}，不是 {other}"),
    ("expected a list of runs", "须为运行段的列表"),
    ("expected an object", "须为对象"),
    ("missing", "缺失"),
    ("load must be within 0 .. 1 (got {load})", "负荷须在 0 .. 1 之间（实为 {load}）"),
    ("a load within 0 .. 1 (got {load})", "须为 0 .. 1 之间的负荷（实为 {load}）"),
    ("{source} has no line {line}", "{source} 没有生产线 {line}"),
    (
        "not a settled day ({start} .. the day before {first})",
        "不是已结算的日子（{start} 至 {first} 前一天）",
    ),
    ("expected {{line: load}}", "须为 {{line: load}}"),
    ("not a load of a line of {enterprise}", "不是 {enterprise} 某条生产线的负荷"),
    ("malformed run ({may_reason})", "运行段格式错误（{may_reason}）"),
    ("no planned source {source}", "没有已编制的污染源 {source}"),
    ("settled loads without line_loads", "已结算的负荷缺少 line_loads"),
    ("{source} {day} is in two runs", "{source} {day} 出现在两个运行段中"),
    ("{source} has no measure {measure}", "{source} 没有措施 {measure}"),
    ("{start} .. {end} is not within the season", "{start} .. {end} 不在采暖季内"),
    ("{source} {day} has two measures", "{source} {day} 有两个措施"),
    ("not an .xlsx workbook ({may_reason})", "不是 .xlsx 工作簿（{may_reason}）"),
    ("no list sheet (清单)", "没有清单工作表"),
    ("no rows below the header row {row}", "表头行 {row} 之下没有数据行"),
    (
        "no header row in the first {n} rows (expected headers such as {wanted})",
        "前 {n} 行中没有表头行（应有 {wanted} 等表头）",
    ),
    ("{cell} repeats the column of {first}", "{cell} 与 {first} 的列重复"),
    (
        "{out} is not empty (use --force to replace the data in it)",
        "{out} 不为空（用 --force 替换其中的数据）",
    ),
    ("{n} errors in the season state:", "采暖季状态中有 {n} 处错误："),
    (
        "{n} errors in the data folder written from {name}:",
        "由 {name} 写出的数据文件夹中有 {n} 处错误：",
    ),
    # --- list workbook (emergency list import): "<sheet>!<cell>: <header> <value> …" --------
    ("{what} is not one of {alts}", "{what} 不是 {alts} 之一"),
    ("{what} is not one of {alts} or empty", "{what} 不是 {alts} 之一，也不是空"),
    ("{what} is not one of 是, 否 (yes, no)", "{what} 不是 是、否 之一"),
    ("{what} is not at least {low}", "{what} 低于下限 {low}"),
    ("{what} is not within {range}", "{what} 不在 {range} 范围内"),
    ("{what} is not a whole number of days", "{what} 不是整数天数"),
    ("{what} may hold only letters, digits, _ and -", "{what} 只能包含字母、数字、_ 和 -"),
    ("{header} is empty", "{header} 为空"),
    ("{header} is empty and so is {other}", "{header} 为空，{other} 也为空"),
    (
        "{header} is empty (each row of a {kind} is one line)",
        "{header} 为空（{kind}的每一行是一条生产线）",
    ),
    (
        "{header} must be empty for a row without {column} (sites, yards and quarries follow"
        " the city plan's default measures)",
        "{header} 在没有 {column} 的行中须为空（施工工地、物料堆场和矿山执行城市预案的默认措施）",
    ),
    (
        "{header} is empty on every line although {measure} is given",
        "{header} 在每条生产线上都为空，但已给出 {measure}",
    ),
    (
        "{header} is empty for {ident} although a milder colour has a measure (repeat the"
        " milder measure if nothing more is done)",
        "{header} 对 {ident} 为空，但较宽松的颜色已有措施（若不再加严，请重复较宽松的措施）",
    ),
    ("{what} has {n} characters (expected {m})", "{what} 有 {n} 个字符（应为 {m} 个）"),
    (
        "{what} has characters outside GB 32100-2015 ({bad}; I, O, S, V, Z are not used)",
        "{what} 含有 GB 32100-2015 以外的字符（{bad}；不使用 I、O、S、V、Z）",
    ),
    (
        "{what} wrong check character {got} (expected {want})",
        "{what} 校验码 {got} 错误（应为 {want}）",
    ),
    ("has {n} characters (expected {m})", "有 {n} 个字符（应为 {m} 个）"),
    (
        "has characters outside GB 32100-2015 ({bad}; I, O, S, V, Z are not used)",
        "含有 GB 32100-2015 以外的字符（{bad}；不使用 I、O、S、V、Z）",
    ),
    ("wrong check character {got} (expected {want})", "校验码 {got} 错误（应为 {want}）"),
    ("bad credit code {code}: {msg_problem}", "统一社会信用代码 {code} 无效：{msg_problem}"),
    (
        "{code} is already the credit code of {name} (line {n}), not of {other}",
        "{code} 已是 {name}（第 {n} 行）的统一社会信用代码，不是 {other} 的",
    ),
    (
        "{what} is already the code of {name} (row {n}, id {ident})",
        "{what} 已是 {name} 的代码（第 {n} 行，id {ident}）",
    ),
    (
        "{what} is already the code of {name} (row {n}), not of {other}",
        "{what} 已是 {name}（第 {n} 行）的代码，不是 {other} 的",
    ),
    (
        "{what} differs from row {n} of the same enterprise ({first})",
        "{what} 与同一企业第 {n} 行的值（{first}）不同",
    ),
    ("{what} differs from {other} (row {n})", "{what} 与 {other}（第 {n} 行）不同"),
    ("{what} differs from {other} of the same measure", "{what} 与同一措施的 {other} 不同"),
    (
        "{header} t/a needs {column} (kg/d = t/a × 1000 / days)",
        "{header} 单位为 t/a 时须填写 {column}（kg/d = t/a × 1000 / 天数）",
    ),
    (
        "{ident} is a {kind} without lines: give it one row (row {n}), or a {column} on every row",
        "{ident} 是没有生产线的{kind}：只给一行（第 {n} 行），或在每一行填写 {column}",
    ),
    ("{what} repeats the line of row {n}", "{what} 与第 {n} 行的生产线重复"),
    (
        "{what} names a measure given with other text or loads by another colour",
        "{what} 所指的措施在另一颜色中的文字或负荷不同",
    ),
    (
        "{header} 0 stops line {line}, which cannot stop (可停产 否)",
        "{header} 0 会使生产线 {line} 停产，而该生产线不能停产（可停产 否）",
    ),
    (
        "{what} is under the line's {column} (write 0 to stop it)",
        "{what} 低于该生产线的 {column}（停产请填 0）",
    ),
    (
        "{what} is milder than {other} on line {line} ({term_high} must be at least as strict"
        " as {term_low})",
        "{what} 比 {other} 宽松（生产线 {line}：{term_high}须至少与{term_low}同样严格）",
    ),
    ("{what} is already a colour measure", "{what} 已是某一颜色的措施"),
    ("{what} is the code of several enterprises: use the id", "{what} 是多家企业的代码：请使用 id"),
    ("{what} names several enterprises: use the id", "{what} 指向多家企业：请使用 id"),
    ("{what} is no enterprise of the list sheet", "{what} 不是清单工作表中的企业"),
    (
        "{what} has no lines (no 生产线 in the list sheet)",
        "{what} 没有生产线（清单工作表中没有 生产线）",
    ),
    (
        "{what} is no line of {enterprise} (lines: {known})",
        "{what} 不是 {enterprise} 的生产线（生产线：{known}）",
    ),
    ("{what} appears twice in measure {measure}", "{what} 在措施 {measure} 中出现了两次"),
    ("repeats the supply edge of row {n}", "与第 {n} 行的供应关系重复"),
    ("{header} a line cannot supply itself", "{header} 生产线不能供应自身"),
    ("missing column {column} (or {other})", "缺少列 {column}（或 {other}）"),
    # --- command line: usage errors (fail) -----------------------------------------------------
    ("give at most one of {alts}", "{alts} 至多给出其一"),
    ("--from {start} is above --to {stop}", "--from {start} 大于 --to {stop}"),
    ("use a .png or .svg file", "请使用 .png 或 .svg 文件"),
    ("the city plan has no level {level} ({known})", "城市预案没有预警级别 {level}（{known}）"),
    # --- a province at once (emergency respond --cities, emergency/province.py) ----------------
    ("missing (the forecast JSON, docs/FORMATS.md)", "缺少（预报 JSON 文件，见 docs/FORMATS.md）"),
    ("--jobs goes with --cities", "--jobs 须与 --cities 一起使用"),
    (
        "unexpected argument (city folders go with --cities)",
        "多余的参数（城市文件夹须与 --cities 一起给出）",
    ),
    (
        "give the city data folders after it (or a folder holding them)",
        "请在其后给出城市数据文件夹（或包含这些文件夹的文件夹）",
    ),
    ("given twice (also as {other})", "重复给出（另一处为 {other}）"),
    ("{a} and {b} would both be written to {file}", "{a} 和 {b} 将写入同一文件 {file}"),
    (
        "no {file} in the folder, and no --forecast",
        "文件夹中没有 {file}，也未给出 --forecast",
    ),
    (
        "{env} is set ({address}) but Ray is not installed ({command})",
        "已设置 {env}（{address}），但未安装 Ray（{command}）",
    ),
    (
        "cannot reach a Ray cluster there ({may_reason})",
        "无法连接该地址的 Ray 集群（{may_reason}）",
    ),
    # --- service: 401, 403, 404, 409 -------------------------------------------------------------
    ("Not Found", "未找到"),
    ("missing bearer token", "缺少 Bearer 令牌"),
    ("invalid or revoked token", "令牌无效或已撤销"),
    ("session ended or expired: sign in again", "会话已结束或已过期：请重新登录"),
    ("role {role} may not do {action}", "角色 {role} 无权执行 {action}"),
    ("response {ident} not found", "未找到应急响应 {ident}"),
    ("order {ident} not found", "未找到指令 {ident}"),
    ("enterprise {ident} not found", "未找到企业 {ident}"),
    ("source {ident} not found", "未找到污染源 {ident}"),
    ("season plan {ident} not found", "未找到采暖季方案 {ident}"),
    ("plan version {n} of response {ident} not found", "未找到应急响应 {ident} 的方案版本 {n}"),
    ("plan version {n} of {enterprise} not found", "未找到 {enterprise} 的预案版本 {n}"),
    ("override {n} of response {ident} not found", "未找到应急响应 {ident} 的调整 {n}"),
    (
        "enterprise {ident} has no plan file (it follows the city's defaults)",
        "企业 {ident} 没有预案文件（执行城市的默认措施）",
    ),
    ("response {ident} has no plan yet", "应急响应 {ident} 尚无方案"),
    ("response {ident} has no plan to approve", "应急响应 {ident} 没有可批准的方案"),
    ("response {ident} is already {status}", "应急响应 {ident} 已是 {status} 状态"),
    ("response {ident} is {status}", "应急响应 {ident} 的状态为 {status}"),
    (
        "response {ident}: its planned days ended on {last}",
        "应急响应 {ident}：计划的日子已于 {last} 结束",
    ),
    (
        "plan version {n} is not current (current: {current})",
        "方案版本 {n} 不是当前版本（当前：{current}）",
    ),
    (
        "changed by a concurrent request meanwhile; reload and retry",
        "已被同时发出的另一请求修改；请刷新后重试",
    ),
    (
        "response {ident} changed meanwhile; reload and retry",
        "应急响应 {ident} 已被同时修改；请刷新后重试",
    ),
    (
        "response {ident} changed meanwhile; send the consultation again",
        "应急响应 {ident} 已被同时修改；请重新发送会商",
    ),
    (
        "plan of {enterprise} changed meanwhile; reload and retry",
        "{enterprise} 的预案已被同时修改；请刷新后重试",
    ),
    (
        "plan version {n} of {enterprise} changed meanwhile",
        "{enterprise} 的预案版本 {n} 已被同时修改",
    ),
    ("season {ident} changed meanwhile; send it again", "采暖季 {ident} 已被同时修改；请重新发送"),
    (
        "season {ident} changed meanwhile; reload and retry",
        "采暖季 {ident} 已被同时修改；请刷新后重试",
    ),
    ("season plan {ident} changed meanwhile", "采暖季方案 {ident} 已被同时修改"),
    (
        "a response is already open (opened by a concurrent request)",
        "已有一个应急响应处于开启状态（由同时发出的另一请求开启）",
    ),
    (
        "plan version {n} of {enterprise} was written against a plan no longer in force; reject"
        " it and ask for a new submission",
        "{enterprise} 的预案版本 {n} 基于一份已不再生效的预案编写；请退回并要求重新提交",
    ),
    (
        "plan version {n} of {enterprise} is {status}, not pending",
        "{enterprise} 的预案版本 {n} 的状态为 {status}，不是待审核",
    ),
    ("order {ident} is {status}", "指令 {ident} 的状态为 {status}"),
    (
        "order {ident} is {status}; the current order is {current}",
        "指令 {ident} 的状态为 {status}；当前指令为 {current}",
    ),
    (
        "order {ident} is not acknowledged: acknowledge the order first, then report",
        "指令 {ident} 尚未签收：请先签收指令，再报告",
    ),
    (
        "{at} is outside order {ident}'s period: reports on it are dated from {first} to {until}",
        "{at} 不在指令 {ident} 的时段内：其报告的时间须在 {first} 至 {until} 之间",
    ),
    ("order {ident} was {status} before {at}", "指令 {ident} 在 {at} 之前已是 {status} 状态"),
    (
        "order {ident} was {status} before {at}; report under order {current}",
        "指令 {ident} 在 {at} 之前已是 {status} 状态；请在指令 {current} 下报告",
    ),
    ("override {ident} is no longer in force", "调整 {ident} 已不再生效"),
    (
        "season plan {ident} is {status}: re-plan the approved version",
        "采暖季方案 {ident} 的状态为 {status}：请重新编制已批准的版本",
    ),
    (
        "season plan {ident} is {status}, not pending",
        "采暖季方案 {ident} 的状态为 {status}，不是待审核",
    ),
    (
        "season plan {ident} was planned with data no longer in force: re-plan needed"
        " / 数据已变更，请重新编制",
        "采暖季方案 {ident} 编制时所用的数据已不再生效：数据已变更，请重新编制",
    ),
    (
        "season plan {ident}: the checker rejects the schedule: {may_why}",
        "采暖季方案 {ident}：校验器拒绝该排程：{may_why}",
    ),
    (
        "issued_at {at} is ahead of the server's clock ({now}); 会商时间晚于服务器时间",
        "issued_at {at} 晚于服务器时间（{now}）：会商时间晚于服务器时间",
    ),
    (
        "issued_at {at} is more than {h} h before the server's clock ({now}): a late or replayed"
        " forecast cannot change the response; 会商已过期",
        "会商已过期：issued_at {at} 比服务器时间（{now}）早 {h} 小时以上，"
        "迟到或重放的预报不能改变应急响应",
    ),
    (
        "表单已过期，请刷新后重试 The form has expired: reload the page and retry",
        "表单已过期，请刷新后重试",
    ),
    ("来源不符 This form was sent from another site", "来源不符：表单来自其他网站"),
    # --- webhook subscriptions (emergency/notify/subscriptions.py) ------------------------
    ("not a URL", "不是网址"),
    ("must be an http:// or https:// URL", "须为 http:// 或 https:// 网址"),
    ("must name a host", "须写明主机"),
    ("port 0", "端口不能为 0"),
    ("{host} is not a public address", "{host} 不是公网地址"),
    (
        "a public webhook must be https:// (http:// only where the server allows private targets)",
        "公网 webhook 须为 https://（仅在服务器允许内网目标时可用 http://）",
    ),
    ("no enterprise {id}", "没有企业 {id}"),
    ("an enterprise may subscribe only for itself", "企业只能为自己订阅"),
    ("not an email address", "不是电子邮件地址"),
    ("not a mobile number (11 digits, 13…–19…)", "不是手机号码（11 位，13…–19… 开头）"),
    ("email is not configured on this server", "本服务器未配置电子邮件（SMTP）"),
    ("SMS is not configured on this server", "本服务器未配置短信网关"),
    # --- inspection tasks (emergency/service/supervision.py) --------------------------------
    ("no anomaly {key} in this response", "本次响应中没有异常 {key}"),
    (
        "a task closed without a visit needs a note saying why",
        "未经现场检查关闭任务须填写说明",
    ),
    ("not a JPEG or PNG image", "不是 JPEG 或 PNG 图片"),
    ("larger than {n} bytes", "大于 {n} 字节"),
    ("empty", "为空"),
    # --- forecast verification (emergency/verification, emergency verify) --------------------
    ("expected the header date,aqi (got {cols})", "表头须为 date,aqi（实为 {cols}）"),
    ("unknown column (known: {alts})", "未知列（已知：{alts}）"),
    ("more cells than the header's {n}", "单元格多于表头的 {n} 列"),
    ("station {station}, {day}: already on line {n}", "站点 {station} 的 {day} 已在第 {n} 行"),
    ("no row of station {station} (the city's AQI)", "没有站点 {station}（全市 AQI）的行"),
    ("no observation (only the header)", "没有观测数据（只有表头）"),
    ("not a folder of forecast JSON files", "不是存放预报 JSON 文件的文件夹"),
    ("no forecast JSON file (*.json)", "没有预报 JSON 文件（*.json）"),
    (
        "required to verify a forecast (leads count from it)",
        "检验预报时必填（预报时效由此起算）",
    ),
    ("{day} is after today ({today}): not observed yet", "{day} 晚于今天（{today}）：尚未观测"),
    (
        "{station} {day} differs from {other} of the same request",
        "{station} {day} 与同一请求中的 {other} 不一致",
    ),
    ("no observation {ident}", "没有观测记录 {ident}"),
    (
        "observation {ident} is of {where}, not {other}",
        "观测记录 {ident} 属于 {where}，不是 {other}",
    ),
    (
        "{station} {day} is stored with AQI {aqi} (id {ident}); to change it send a correction"
        ' with "corrects": {ident2}',
        "{station} {day} 已存 AQI {aqi}（编号 {ident}）；如需更改，请以更正发送"
        '（"corrects": {ident2}）',
    ),
    (
        "sent concurrently by another request; send them again",
        "另一请求同时发送了这些观测；请重新发送",
    ),
    ("{first} is after to ({last})", "{first} 晚于截止日期 to（{last}）"),
    # --- electricity sub-meters (emergency/meters, emergency/dataset.py) -------------------
    ("unknown meter {meter} (no plan names it)", "未知电表 {meter}（没有预案登记此电表）"),
    ("{at} is in the future (server time {now})", "{at} 晚于服务器时间（{now}）"),
    (
        "{kwh} kWh, but {other} gives {kwh2} kWh for the same meter and time ({meter}, {at})",
        "{kwh} kWh，但 {other} 对同一电表同一时间（{meter}，{at}）给出 {kwh2} kWh",
    ),
    (
        "meter {meter} at {at} has {kwh} kWh (reading {ident}), not {value}: send a correction"
        " (corrects) to change it",
        "电表 {meter} 在 {at} 的读数为 {kwh} kWh（读数 {ident}），不是 {value}："
        "如需更改，请以更正（corrects）发送",
    ),
    (
        "no reading of meter {meter} at {at} to correct: send the original first",
        "电表 {meter} 在 {at} 没有可更正的读数：请先发送原始读数",
    ),
    (
        "reading {ident} of meter {meter} at {at} was corrected meanwhile by reading {other}"
        " ({kwh} kWh): correct that one",
        "电表 {meter} 在 {at} 的读数 {ident} 已被读数 {other}（{kwh} kWh）更正：请更正该读数",
    ),
    (
        "reading {ident} is not a reading of meter {meter} at {at}",
        "读数 {ident} 不是电表 {meter} 在 {at} 的读数",
    ),
    ("… and {n} more problems", "……另有 {n} 个问题"),
    ("… and {n} more conflicts", "……另有 {n} 处冲突"),
    (
        "must begin a quarter hour (:00, :15, :30 or :45, no seconds)",
        "须为整刻钟（:00、:15、:30 或 :45，不带秒）",
    ),
    (
        "must be a reading id or true (leave it out for an original)",
        "须为读数编号或 true（原始读数不填）",
    ),
    (
        "meter {meter} already measures {owner}'s line {line}: a meter belongs to one line",
        "电表 {meter} 已用于 {owner} 的生产线 {line}：一块电表只属于一条生产线",
    ),
    (
        "meter {meter} already measures {place}: a meter belongs to one line",
        "电表 {meter} 已用于 {place}：一块电表只属于一条生产线",
    ),
    (
        "meter {meter} is named in another enterprise's plan: a meter belongs to one line",
        "电表 {meter} 已列在其他企业的预案中：一块电表只属于一条生产线",
    ),
    (
        "meter {meter} is named in {owner}'s plan: a meter belongs to one line",
        "电表 {meter} 已列在 {owner} 的预案中：一块电表只属于一条生产线",
    ),
    # --- daily reports per line, vehicles and gate records (emergency/vehicles, orders) ----
    (
        "gate record {ident} came from the city's gateway; only the gateway or an admin"
        " corrects it",
        "门禁记录 {ident} 来自市级数据网关：只有网关或管理员可以更正",
    ),
    (
        "missing: give load, or line_loads with every line's load",
        "缺少：请给出 load，或在 line_loads 中给出每条生产线的负荷",
    ),
    (
        "missing: give load, or line_loads with every line's load (missing: {lines})",
        "缺少：请给出 load，或在 line_loads 中给出每条生产线的负荷（缺少：{lines}）",
    ),
    (
        "unknown line {lines} of order {ident} (lines: {known})",
        "指令 {ident} 没有生产线 {lines}（生产线：{known}）",
    ),
    ("no report {ident} of order {order} to correct", "指令 {order} 没有可更正的报告 {ident}"),
    (
        "report {ident} was corrected already by report {other}: correct that one",
        "报告 {ident} 已被报告 {other} 更正：请更正该报告",
    ),
    (
        "report {ident} was corrected meanwhile by another request: correct the latest report",
        "报告 {ident} 已被另一请求同时更正：请更正最新的报告",
    ),
    (
        "report {ident} is of {day} (+08:00), not {other}: a correction is of the same day",
        "报告 {ident} 属于 {day}（+08:00），不是 {other}：更正须针对同一天",
    ),
    (
        "report {ident} gives the load of lines {lines}: its correction gives the load of"
        " the same lines (line_loads)",
        "报告 {ident} 报送了生产线 {lines} 的负荷：更正须报送相同生产线的负荷（line_loads）",
    ),
    ("an enterprise may send gate records only for itself", "企业只能报送本企业的门禁记录"),
    (
        "no gate record {ident} of enterprise {enterprise} to correct",
        "企业 {enterprise} 没有可更正的门禁记录 {ident}",
    ),
    (
        "gate record {ident} has this gate, plate and time with other values ({values}): send"
        " a correction of it",
        "门禁记录 {ident} 的门岗、车牌和时间与此相同而其他取值不同（{values}）：请以更正发送",
    ),
    (
        "{where} has this gate, plate and time with other values ({values}): send a correction"
        " of it",
        "{where} 的门岗、车牌和时间与此相同而其他取值不同（{values}）：请以更正发送",
    ),
    (
        "gate record {ident} was corrected already by gate record {other}: correct that one",
        "门禁记录 {ident} 已被门禁记录 {other} 更正：请更正该记录",
    ),
    (
        "gate record {ident} was corrected already by {where}: correct that one",
        "门禁记录 {ident} 已被 {where} 更正：请更正该记录",
    ),
    (
        "not a Chinese number plate: {value} (e.g. 豫U12345, 豫UD12345)",
        "不是中国机动车号牌：{value}（例如 豫U12345、豫UD12345）",
    ),
    ("must be a record id (a whole number)", "须为记录编号（整数）"),
    (
        "standard {standard} does not fit fuel {fuel}: 'electric' goes with fuel electric or"
        " hydrogen, and only with them",
        "排放标准 {standard} 与燃料 {fuel} 不符：'electric' 只用于纯电动或氢燃料车辆",
    ),
    ("missing column", "缺少此列"),
    ("unknown column (columns: {columns})", "未知列（应为：{columns}）"),
    ("empty file (expected {columns})", "文件为空（应有列：{columns}）"),
    ("{n} cells, expected {m}", "有 {n} 个单元格，应为 {m} 个"),
    ("no gate record (only the header)", "没有门禁记录（只有表头）"),
    ("unknown vehicle {value} (expected {alts})", "未知车辆类型 {value}（应为 {alts}）"),
    ("unknown fuel {value} (expected {alts})", "未知燃料 {value}（应为 {alts}）"),
    (
        "level {term_high} is milder than {term_low}: it does not ban {what}",
        "{term_high}预警比{term_low}预警宽松：未禁止 {what}",
    ),
    (
        "level {term_high} is milder than {term_low}: {n} heavy-truck entries a day where"
        " {term_low2} allows {cap}",
        "{term_high}预警比{term_low}预警宽松："
        "每日重型货车进厂 {n} 辆次，而{term_low2}预警限 {cap} 辆次",
    ),
    (
        "level {term_high} is milder than {term_low}: no cap on heavy-truck entries where"
        " {term_low2} allows {cap} a day",
        "{term_high}预警比{term_low}预警宽松："
        "未限制重型货车进厂，而{term_low2}预警每日限 {cap} 辆次",
    ),
)
"""English template → Chinese template; see the module's description."""

PREFIX_EN = "error: "
PREFIX_ZH = "错误："


def _all_entries() -> tuple[tuple[str, str], ...]:
    leads = ("Input should be", "must be")
    should = [(f"{lead} {en}", zh) for lead in leads for en, zh in _PYDANTIC_SHOULD]
    should.append(("Input should have timezone info", "须带时区信息"))
    generic = (
        ("{msg} (got {value})", "{msg}（实为 {value}）"),
        ("{msg}, got {value}", "{msg}，实为 {value}"),
    )
    return (*CATALOGUE, *should, *generic)


_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{(\w+)\}")


def placeholders(template: str) -> list[str]:
    """The placeholders of a template, in order (``{{`` and ``}}`` are no placeholders)."""
    return [m.group(1) for m in _PLACEHOLDER.finditer(template) if m.group(1)]


@dataclass(frozen=True)
class Entry:
    """One catalogue entry: English and Chinese template, the English as a pattern."""

    en: str
    zh: str
    pattern: re.Pattern[str]
    literal: int
    """How many characters of the English are words, not placeholders (specificity)."""


def _compile(en: str, zh: str) -> Entry:
    parts: list[str] = []
    literal = 0
    pos = 0
    for m in _PLACEHOLDER.finditer(en):
        text = en[pos : m.start()]
        parts.append(re.escape(text))
        literal += len(text)
        if m.group(1):
            parts.append(f"(?P<{m.group(1)}>.+?)")
        else:
            parts.append(re.escape(m.group(0)[0]))
            literal += 1
        pos = m.end()
    parts.append(re.escape(en[pos:]))
    literal += len(en) - pos
    # an entry covers the whole message or what follows a location ("file:3: field: ")
    pattern = re.compile(r"(?:^|(?<=: ))" + "".join(parts) + r"$", re.DOTALL)
    return Entry(en, zh, pattern, literal)


@functools.cache
def entries() -> tuple[Entry, ...]:
    """The compiled catalogue, the pydantic words and the generic ``(got …)`` entries."""
    return tuple(_compile(en, zh) for en, zh in _all_entries())


def _choices(text: str) -> str:
    return re.sub(r",? or ", " 或 ", re.sub(r",? and ", " 和 ", text))


def _fill(entry: Entry, match: re.Match[str], depth: int) -> tuple[str, int] | None:
    """The Chinese of a matched entry and how many English characters it accounts for (its
    words and those of the messages it holds); None when a held message has no entry."""
    values: dict[str, str] = {}
    covered = entry.literal
    for name, value in match.groupdict().items():
        if name.startswith("msg"):
            done = _words(value, depth + 1)
            if done is None:
                return None
            values[name], inner = done
            covered += inner
        elif name.startswith("may"):
            done = _words(value, depth + 1)
            values[name], inner = done if done is not None else (value, 0)
            covered += inner
        elif name.startswith("alts"):
            values[name] = _choices(value)
        elif name.startswith("term"):
            if value not in TERMS:
                return None
            values[name] = TERMS[value]
            covered += len(value)
        else:
            values[name] = value

    def put(m: re.Match[str]) -> str:
        if m.group(1):
            return values[m.group(1)]
        return m.group(0)[0]

    return _PLACEHOLDER.sub(put, entry.zh), covered


@functools.lru_cache(maxsize=4096)
def _words(message: str, depth: int = 0) -> tuple[str, int] | None:
    """The Chinese of one message line and how much English it accounts for, or None when
    no entry covers it. The entry accounting for the most English wins (then the one
    covering the most of the line, then the first)."""
    if depth > 4 or not message:
        return None
    best: tuple[tuple[int, int, int], str] | None = None
    for order, entry in enumerate(entries()):
        match = entry.pattern.search(message)
        if match is None:
            continue
        done = _fill(entry, match, depth)
        if done is None:
            continue
        text, covered = done
        rank = (-covered, match.start(), order)
        if best is None or rank < best[0]:
            best = (rank, message[: match.start()] + text)
    if best is None:
        return None
    return best[1], -best[0][0]


def translate_line(message: str, lang: str = DEFAULT_LANG) -> str:
    """One message (``file:line: field: what``) in ``lang``; English when not catalogued."""
    if check_lang(lang) == "en":
        return message
    done = _words(message)
    return message if done is None else done[0]


def translate(text: str, lang: str = DEFAULT_LANG) -> str:
    """A message of one or several lines (a heading and indented problems) in ``lang``."""
    if check_lang(lang) == "en":
        return text
    out = []
    for line in text.split("\n"):
        body = line.lstrip(" ")
        out.append(line[: len(line) - len(body)] + translate_line(body, lang))
    return "\n".join(out)


def translate_all(messages: Iterable[str], lang: str = DEFAULT_LANG) -> list[str]:
    return [translate(m, lang) for m in messages]


def error_text(exc: InputError, lang: str = DEFAULT_LANG) -> str:
    """The message of an input error in ``lang`` (every problem of several, with heading)."""
    if isinstance(exc, ValidationErrors):
        if len(exc.errors) == 1:
            return translate(exc.errors[0], lang)
        return translate(exc.message, lang)
    return translate(exc.message, lang)


def error_line(message: str, lang: str = DEFAULT_LANG) -> str:
    """``error: …`` / ``错误：…`` as the command line prints a problem."""
    if check_lang(lang) == "en":
        return PREFIX_EN + message
    return PREFIX_ZH + translate(message, lang)


def preferred_language(accept_language: str | None, default: Lang = DEFAULT_LANG) -> Lang:
    """``en`` when the client's ``Accept-Language`` prefers English to Chinese, ``zh`` when
    it prefers Chinese; ``default`` (Chinese) without the header or when it names neither."""
    best: Lang = default
    best_q = -1.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        lang: Lang | None = "zh" if tag.startswith("zh") else "en" if tag.startswith("en") else None
        if lang is None:
            continue
        q = 1.0
        param = params.strip()
        if param.startswith("q="):
            try:
                q = float(param[2:])
            except ValueError:
                q = 0.0
        if q > 0 and q > best_q:
            best, best_q = lang, q
    return best
