"""The workbook's sheets, headers (Chinese / English) and value vocabularies (docs/LIST.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from emergency.names import COLOUR_ZH
from emergency.names import GRADE_ZH as GRADE_ZH
from emergency.names import GUARANTEE_ZH as GUARANTEE_ZH
from emergency.names import INDUSTRY_ZH as INDUSTRY_ZH
from emergency.names import KIND_ZH as KIND_ZH
from emergency.names import VERIFICATION_ZH as VERIFICATION_ZH

COLOURS: tuple[str, ...] = ("blue", "yellow", "orange", "red")
"""Warning colours that may have measure columns, mildest first (blue is optional)."""

YES = ("是", "yes", "y", "true", "1")
NO = ("否", "no", "n", "false", "0")
UNITS = ("kg/d", "t/a")
NONE_MARKS = ("无", "none")
"""In the measures sheet's measure id: the enterprise has no deeper measures."""


def vocabulary(zh: dict[str, str]) -> dict[str, str]:
    """Accepted spellings (Chinese name or code, case-insensitive) → code."""
    accepted: dict[str, str] = {}
    for code, name in zh.items():
        accepted[code.lower()] = code
        accepted[name.lower()] = code
    return accepted


@dataclass(frozen=True)
class Column:
    """A column: its key, Chinese and English headers, unit and other accepted names."""

    key: str
    zh: str
    en: str
    unit: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """The Chinese header as written, unit included."""
        return f"{self.zh}({self.unit})" if self.unit else self.zh

    def names(self) -> tuple[str, ...]:
        return (self.zh, self.en, self.key, *self.aliases)


def _colour_columns() -> list[Column]:
    columns: list[Column] = []
    for colour in COLOURS:
        zh = COLOUR_ZH[colour]
        columns += [
            Column(f"{colour}_measure", f"{zh}措施", f"{colour}_measure"),
            Column(f"{colour}_load", f"{zh}负荷", f"{colour}_load", "%"),
            Column(f"{colour}_measure_id", f"{zh}措施编号", f"{colour}_measure_id"),
        ]
    return columns


LIST_COLUMNS: tuple[Column, ...] = (
    Column("name", "企业名称", "name"),
    Column("credit_code", "统一社会信用代码", "credit_code"),
    Column("id", "企业编号", "id"),
    Column("kind", "类型", "kind"),
    Column("industry", "行业", "industry"),
    Column("district", "区县", "district"),
    Column("lon", "经度", "lon"),
    Column("lat", "纬度", "lat"),
    Column("grade", "绩效等级", "grade"),
    Column("guarantee", "保障类", "guarantee"),
    Column("line_id", "生产线编号", "line_id"),
    Column("line", "生产线", "line"),
    Column("unit", "单位", "unit"),
    Column("operating_days", "年运行天数", "operating_days"),
    Column("so2", "SO2", "so2", aliases=("二氧化硫",)),
    Column("nox", "NOx", "nox", aliases=("氮氧化物",)),
    Column("pm", "颗粒物", "pm"),
    Column("vocs", "VOCs", "vocs", aliases=("挥发性有机物",)),
    Column("value_added", "日增加值", "value_added_yuan_d", "元"),
    Column("can_stop", "可停产", "can_stop"),
    Column("min_load", "最低负荷", "min_load", "%"),
    Column("restart_cost", "重启成本", "restart_cost_yuan", "元"),
    Column("min_stop_days", "最少停产天数", "min_stop_days"),
    Column("meters", "分表电表", "meters"),
    *(c for c in _colour_columns() if not c.key.startswith("blue")),
    *(c for c in _colour_columns() if c.key.startswith("blue")),
    Column("updated", "更新日期", "updated"),
    Column("verification", "核查方式", "verification"),
    Column("contact_person", "联系人", "contact_person"),
    Column("contact_phone", "联系电话", "contact_phone"),
)
"""The list sheet's columns, in the order the template and the export write them."""

LIST_REQUIRED = (
    "name",
    "kind",
    "industry",
    "district",
    "lon",
    "lat",
    "line",
    "so2",
    "nox",
    "pm",
    "vocs",
    "value_added",
)

MEASURE_COLUMNS: tuple[Column, ...] = (
    Column("enterprise", "企业", "enterprise"),
    Column("measure_id", "措施编号", "measure_id"),
    Column("measure_name", "措施名称", "measure_name"),
    Column("line", "生产线", "line"),
    Column("load", "负荷", "load", "%"),
)
MEASURE_REQUIRED = ("enterprise", "measure_id", "line", "load")

SUPPLY_COLUMNS: tuple[Column, ...] = (
    Column("from_enterprise", "上游企业", "from_enterprise"),
    Column("from_line", "上游生产线", "from_line"),
    Column("to_enterprise", "下游企业", "to_enterprise"),
    Column("to_line", "下游生产线", "to_line"),
    Column("share", "供应占比", "share", "%"),
)
SUPPLY_REQUIRED = ("from_enterprise", "from_line", "to_enterprise", "to_line")

LIST_SHEETS = ("清单", "list")
MEASURE_SHEETS = ("措施", "measures")
SUPPLY_SHEETS = ("供应关系", "supplies")
INSTRUCTION_SHEETS = ("说明", "instructions")
CHOICE_SHEETS = ("选项", "choices")

_UNIT = re.compile(r"[(（][^()（）]*[)）]$")


def normalise(header: str) -> str:
    """A header as compared: no unit suffix such as ``(元)``, no blanks, lower case."""
    text = re.sub(r"\s+", "", header)
    text = _UNIT.sub("", text)
    return text.lower()


def header_index(columns: tuple[Column, ...]) -> dict[str, Column]:
    """Normalised header name → column."""
    return {normalise(name): column for column in columns for name in column.names()}
