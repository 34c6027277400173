"""Chinese and English names of the engine's codes, each spelled once (one table).

Codes (``steel``, ``plant``, ``orange``, ``optimal``) stay the keys that JSON, files and ids
use; these tables give what a planner reads in the CLI, the exports and the pages.
``label(kind, key, lang)`` looks one up and falls back to the code itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

from emergency import LEVELS, NORMAL
from emergency.aqi import CATEGORIES
from emergency.inventory import GRADES, GUARANTEES, INDUSTRIES, KINDS
from emergency.vocabulary import Fixed, OrderStatus, PlanStatus, PlanVersionStatus, ResponseStatus

Lang = Literal["zh", "en"]
LANGS: tuple[str, ...] = ("zh", "en")
DEFAULT_LANG: Lang = "zh"

INDUSTRY_ZH: dict[str, str] = {
    "steel": "钢铁",
    "coking": "焦化",
    "lead_zinc_smelting": "铅锌冶炼",
    "power": "火电",
    "cement": "水泥",
    "cement_grinding": "水泥粉磨",
    "refractory": "耐火材料",
    "brick": "砖瓦",
    "lime": "石灰",
    "glass": "玻璃",
    "corundum": "刚玉",
    "aluminium_rolling": "铝压延",
    "chemical": "化工",
    "coal_chemical": "煤化工",
    "coating": "工业涂装",
    "printing": "包装印刷",
    "heating": "供热锅炉",
    "construction": "建筑施工",
    "yard": "物料堆场",
    "quarry": "矿山开采",
    "other": "其他",
    "silver_refining": "白银冶炼",
    "nonferrous_other": "其他有色金属冶炼",
    "ferroalloy": "铁合金",
    "carbon": "炭素",
    "casting": "铸造",
    "ceramics": "陶瓷",
    "pharmaceutical": "制药",
    "pesticide": "农药",
    "rubber_plastics": "橡胶和塑料制品",
    "wood_products": "人造板",
    "asphalt": "沥青搅拌",
    "concrete_mixing": "混凝土搅拌",
    "food": "食品加工",
    "waste_incineration": "垃圾焚烧发电",
}
"""A Chinese name for every industry code of :data:`emergency.inventory.INDUSTRIES`."""

KIND_ZH = {"plant": "工业企业", "site": "施工工地", "yard": "物料堆场", "quarry": "矿山"}
GRADE_ZH = {"A": "A", "leading": "引领性", "B": "B", "B-": "B-", "C": "C", "D": "D"}
GUARANTEE_ZH = {"livelihood": "民生", "strategic": "战略", "export": "出口"}
VERIFICATION_ZH = {
    "electricity_submeter": "分表计电",
    "cems": "在线监测",
    "gate_records": "门禁记录",
    "video": "视频监控",
}
LEVEL_ZH = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
COLOUR_ZH = LEVEL_ZH
"""Warning colours as the list workbook names its measure columns."""

PLAN_STATUS_ZH = {
    PlanStatus.optimal: "最优",
    PlanStatus.feasible: "可行",
    PlanStatus.short: "目标未达",
    PlanStatus.no_warning: "无预警",
}
RESPONSE_STATUS_ZH = {ResponseStatus.open: "响应中", ResponseStatus.released: "已解除"}
ORDER_STATUS_ZH = {
    OrderStatus.issued: "已下达",
    OrderStatus.acknowledged: "已签收",
    OrderStatus.superseded: "已替代",
    OrderStatus.lifted: "已解除",
}
VERSION_STATUS_ZH = {
    PlanVersionStatus.pending: "待审核",
    PlanVersionStatus.approved: "已批准",
    PlanVersionStatus.rejected: "已退回",
    PlanVersionStatus.withdrawn: "已撤回",
}
FIXED_ZH = {
    Fixed.free: "",
    Fixed.guaranteed: "保障类",
    Fixed.protected_grade: "绩效等级保护",
    Fixed.override: "人工指定",
    Fixed.exempt: "豁免",
    Fixed.state: "持续停产",
}
"""Measure kinds: why a source's measure is not the optimiser's free choice."""

MEASURE_ZH = {NORMAL: "正常生产"}
"""Measures every source has, whatever its plan."""

CATEGORY_ZH = {c.key: c.zh for c in CATEGORIES}
"""The AQI bands of HJ 633 (优 … 严重污染)."""
CATEGORY_EN = {
    "excellent": "excellent",
    "good": "good",
    "light": "lightly polluted",
    "moderate": "moderately polluted",
    "heavy": "heavily polluted",
    "severe": "severely polluted",
}
"""The AQI bands as the English version of HJ 633 names them."""

_EN: dict[str, dict[str, str]] = {
    "industry": {code: code.replace("_", " ") for code in INDUSTRY_ZH},
    "kind": {"plant": "plant", "site": "site", "yard": "yard", "quarry": "quarry"},
    "grade": {g: g for g in GRADE_ZH},
    "guarantee": {g: g for g in GUARANTEE_ZH},
    "verification": {v: v.replace("_", " ") for v in VERIFICATION_ZH},
    "level": {level: level for level in LEVEL_ZH},
    "plan_status": {str(s): str(s).replace("_", " ") for s in PLAN_STATUS_ZH},
    "response_status": {str(s): str(s) for s in RESPONSE_STATUS_ZH},
    "order_status": {str(s): str(s) for s in ORDER_STATUS_ZH},
    "version_status": {str(s): str(s) for s in VERSION_STATUS_ZH},
    "fixed": {str(s): str(s).replace("_", " ") for s in FIXED_ZH},
    "measure": {NORMAL: "normal operation"},
    "category": CATEGORY_EN,
}

NAMES: dict[str, dict[str, dict[str, str]]] = {
    "zh": {
        "industry": INDUSTRY_ZH,
        "kind": KIND_ZH,
        "grade": GRADE_ZH,
        "guarantee": GUARANTEE_ZH,
        "verification": VERIFICATION_ZH,
        "level": LEVEL_ZH,
        "plan_status": {str(k): v for k, v in PLAN_STATUS_ZH.items()},
        "response_status": {str(k): v for k, v in RESPONSE_STATUS_ZH.items()},
        "order_status": {str(k): v for k, v in ORDER_STATUS_ZH.items()},
        "version_status": {str(k): v for k, v in VERSION_STATUS_ZH.items()},
        "fixed": {str(k): v for k, v in FIXED_ZH.items()},
        "measure": MEASURE_ZH,
        "category": CATEGORY_ZH,
    },
    "en": _EN,
}
"""language → kind of name → code → name."""

assert set(INDUSTRY_ZH) == set(INDUSTRIES)
assert set(KIND_ZH) == set(KINDS) and set(GRADE_ZH) == set(GRADES)
assert set(GUARANTEE_ZH) == set(GUARANTEES) and set(LEVEL_ZH) == set(LEVELS)
assert set(PLAN_STATUS_ZH) == set(PlanStatus) and set(RESPONSE_STATUS_ZH) == set(ResponseStatus)
assert set(ORDER_STATUS_ZH) == set(OrderStatus) and set(FIXED_ZH) == set(Fixed)
assert set(VERSION_STATUS_ZH) == set(PlanVersionStatus)
assert all(set(NAMES["zh"][kind]) == set(_EN[kind]) for kind in _EN)


def check_lang(lang: str) -> Lang:
    """``lang`` as a language of these tables; ValueError for another."""
    if lang == "zh":
        return "zh"
    if lang == "en":
        return "en"
    raise ValueError(f"unknown language {lang!r} (expected zh or en)")


def label(kind: str, key: str | None, lang: str = DEFAULT_LANG) -> str:
    """The name of code ``key`` of ``kind`` (``industry``, ``kind``, ``grade``, ``guarantee``,
    ``verification``, ``level``, ``plan_status``, ``response_status``, ``order_status``,
    ``version_status``, ``fixed``, ``measure``, ``category``: an AQI band) in ``lang``; the
    code itself when it has none, '' for None."""
    if key is None:
        return ""
    return NAMES[check_lang(lang)][kind].get(str(key), str(key))


POLLUTANT_LABEL = {"so2": "SO2", "nox": "NOx", "pm": "PM", "vocs": "VOCs", "so2+nox": "SO2+NOx"}
"""Pollutant symbols (the same in both languages; 颗粒物 is written PM in tables)."""


def _linked_lp_zh(found: re.Match[str]) -> str:
    seconds, most, here = found.groups()
    if seconds is not None:
        return f"各天相互关联的线性松弛未在分给它的 {seconds} 秒内解出"
    return f"各天相互关联的线性松弛在 {most} 个变量以上不求解（此处 {here} 个）"


_NOTES_ZH: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (
        re.compile(r"^all (\d+) days alike: solved as one stationary day \(exact\)$"),
        r"\1 天情况相同：按一天求解（精确）",
    ),
    (
        re.compile(r"^the capped targets cannot all be met together; shortfall minimised first$"),
        "限定后的目标无法同时满足：先使缺口最小",
    ),
    (
        re.compile(r"^CP-SAT found no list within ([0-9.e+-]+) s; the greedy list is given$"),
        r"CP-SAT 在 \1 秒内未找到清单：给出贪心算法清单",
    ),
    (
        re.compile(
            r"^CP-SAT found no list within ([0-9.e+-]+) s; the sources in play list is given$"
        ),
        r"CP-SAT 在 \1 秒内未在整个模型上找到清单：给出先求解关键源所得的清单",
    ),
    (
        re.compile(
            r"^improved on neighbourhoods of the sources in play; "
            r"the bound is the LP relaxation's$"
        ),
        "在关键源的邻域上逐步改进；下界取自线性松弛",
    ),
    (
        re.compile(
            r"^then searched day by day with the list's stops held: (\d+) of (\d+) days cheaper$"
        ),
        r"随后在保持清单停产安排不变的情况下逐日求解：\2 天中有 \1 天成本降低",
    ),
    (
        re.compile(
            r"^the sources in play list is given: the whole model is not searched at "
            r"this size; the bound is the LP relaxation's$"
        ),
        "给出先求解关键源所得的清单：此规模下不搜索整个模型；下界取自线性松弛",
    ),
    (
        re.compile(
            r"^within the gap asked of the LP relaxation's bound: "
            r"the whole model was not searched$"
        ),
        "与线性松弛下界之差已在所要求的间隙之内：未搜索整个模型",
    ),
    (
        re.compile(
            r"^proven least cost on the measures within the gap's reach of the LP optimum "
            r"\(reduced costs\): the whole model was not searched$"
        ),
        "在与线性松弛最优解之差（约化成本）不超过间隙的措施上证明为最低成本：未搜索整个模型",
    ),
    (
        re.compile(r"^no time left to search the whole model: the core's list is given$"),
        "已无时间搜索整个模型：给出先求解关键源所得的清单",
    ),
    (
        re.compile(
            r"^CP-SAT found no list within ([0-9.e+-]+) s; the least shortfall list is given$"
        ),
        r"CP-SAT 在 \1 秒内未找到清单：给出缺口最小的清单",
    ),
    (
        re.compile(r"^CP-SAT found no list within ([0-9.e+-]+) s; the LP's list rounded is given$"),
        r"CP-SAT 在 \1 秒内未找到清单：给出由线性松弛解取整所得的清单",
    ),
    (
        re.compile(
            r"^the LP relaxation of the linked days (?:did not finish in its ([0-9.]+) s|is not "
            r"solved above ([0-9,]+) variables \(([0-9,]+) here\)); the bound and the marginal "
            r"costs are those of the days apart \(restarts after the first day and minimum "
            r"stops left out\)$"
        ),
        lambda m: (
            _linked_lp_zh(m)
            + "：下界与边际成本取自各天分开的松弛（不计首日之后的重启费用与最短停产天数）"
        ),
    ),
    (
        re.compile(
            r"^the LP relaxation of the linked days (?:did not finish in its ([0-9.]+) s|is not "
            r"solved above ([0-9,]+) variables \(([0-9,]+) here\)): no bound$"
        ),
        lambda m: _linked_lp_zh(m) + "：无下界",
    ),
    (
        re.compile(
            r"^the greedy list is given: without the LP relaxation no sources in play are "
            r"cut out, and CP-SAT does not move on the whole model at this size$"
        ),
        "给出贪心算法清单：没有线性松弛便无法选出关键源，而 CP-SAT 在此规模的整个模型上难有进展",
    ),
)


def note(text: str, lang: str = DEFAULT_LANG) -> str:
    """An optimiser note (English as stored in ``ResponsePlan.notes``) in ``lang``."""
    if check_lang(lang) == "en":
        return text
    for pattern, zh in _NOTES_ZH:
        if pattern.match(text):
            return pattern.sub(zh, text)
    return text
