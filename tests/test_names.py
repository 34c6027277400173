"""emergency/names.py: one table of Chinese and English names, used by the list workbook."""

from __future__ import annotations

import re

import pytest

from emergency import LEVELS
from emergency.inventory import GRADES, GUARANTEES, INDUSTRIES, KINDS
from emergency.listbook import columns
from emergency.names import NAMES, check_lang, label, note
from emergency.vocabulary import Fixed, OrderStatus, PlanStatus, PlanVersionStatus, ResponseStatus

HAN = re.compile(r"[\u4e00-\u9fff]")


def test_label_in_both_languages_and_the_code_when_unnamed() -> None:
    assert label("industry", "lead_zinc_smelting", "zh") == "铅锌冶炼"
    assert label("industry", "lead_zinc_smelting", "en") == "lead zinc smelting"
    assert label("level", "orange") == "橙色"  # Chinese first
    assert label("kind", "quarry", "zh") == "矿山" and label("kind", "quarry", "en") == "quarry"
    assert label("guarantee", "livelihood", "zh") == "民生"
    assert label("plan_status", PlanStatus.short, "zh") == "目标未达"
    assert label("fixed", Fixed.protected_grade, "zh") == "绩效等级保护"
    assert label("measure", "normal", "zh") == "正常生产"
    assert label("industry", "not_a_code", "zh") == "not_a_code"
    assert label("grade", None, "zh") == ""
    with pytest.raises(ValueError, match="fr"):
        label("level", "red", "fr")
    with pytest.raises(ValueError):
        check_lang("EN")


@pytest.mark.parametrize(
    ("kind", "codes"),
    [
        ("industry", INDUSTRIES),
        ("kind", KINDS),
        ("guarantee", GUARANTEES),
        ("level", LEVELS),
        ("plan_status", tuple(PlanStatus)),
        ("response_status", tuple(ResponseStatus)),
        ("order_status", tuple(OrderStatus)),
        ("version_status", tuple(PlanVersionStatus)),
        ("fixed", tuple(c for c in Fixed if c)),
    ],
)
def test_every_code_has_a_chinese_name(kind: str, codes: tuple[str, ...]) -> None:
    for code in codes:
        assert HAN.search(label(kind, code, "zh")), (kind, code)
        assert label(kind, code, "en"), (kind, code)
    assert set(NAMES["zh"][kind]) == set(NAMES["en"][kind])


def test_grades_keep_their_letters() -> None:
    assert [label("grade", g, "zh") for g in GRADES] == ["A", "引领性", "B", "B-", "C", "D"]


def test_the_list_workbook_reads_the_same_table() -> None:
    from emergency import names

    assert columns.INDUSTRY_ZH is names.INDUSTRY_ZH and columns.KIND_ZH is names.KIND_ZH
    assert columns.GRADE_ZH is names.GRADE_ZH and columns.GUARANTEE_ZH is names.GUARANTEE_ZH
    assert columns.COLOUR_ZH is names.LEVEL_ZH
    assert columns.VERIFICATION_ZH is names.VERIFICATION_ZH


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        (
            "all 4 days alike: solved as one stationary day (exact)",
            "4 天情况相同：按一天求解（精确）",
        ),
        (
            "the capped targets cannot all be met together; shortfall minimised first",
            "限定后的目标无法同时满足：先使缺口最小",
        ),
        (
            "CP-SAT found no list within 20 s; the greedy list is given",
            "CP-SAT 在 20 秒内未找到清单：给出贪心算法清单",
        ),
        (
            "CP-SAT found no list within 0.5 s; the LP's list rounded is given",
            "CP-SAT 在 0.5 秒内未找到清单：给出由线性松弛解取整所得的清单",
        ),
        (
            "within the gap asked of the LP relaxation's bound: the whole model was not searched",
            "与线性松弛下界之差已在所要求的间隙之内：未搜索整个模型",
        ),
        (
            "improved on neighbourhoods of the sources in play; the bound is the LP relaxation's",
            "在关键源的邻域上逐步改进；下界取自线性松弛",
        ),
        (
            "then searched day by day with the list's stops held: 3 of 4 days cheaper",
            "随后在保持清单停产安排不变的情况下逐日求解：4 天中有 3 天成本降低",
        ),
        (
            "the sources in play list is given: the whole model is not searched at this size; "
            "the bound is the LP relaxation's",
            "给出先求解关键源所得的清单：此规模下不搜索整个模型；下界取自线性松弛",
        ),
        (
            "proven least cost on the measures within the gap's reach of the LP optimum "
            "(reduced costs): the whole model was not searched",
            "在与线性松弛最优解之差（约化成本）不超过间隙的措施上证明为最低成本：未搜索整个模型",
        ),
        (
            "no time left to search the whole model: the core's list is given",
            "已无时间搜索整个模型：给出先求解关键源所得的清单",
        ),
        (
            "the LP relaxation of the linked days did not finish in its 6.6 s; the bound and "
            "the marginal costs are those of the days apart (restarts after the first day and "
            "minimum stops left out)",
            "各天相互关联的线性松弛未在分给它的 6.6 秒内解出：下界与边际成本取自各天分开的松弛"
            "（不计首日之后的重启费用与最短停产天数）",
        ),
        (
            "the LP relaxation of the linked days did not finish in its 0.4 s: no bound",
            "各天相互关联的线性松弛未在分给它的 0.4 秒内解出：无下界",
        ),
        (
            "the LP relaxation of the linked days is not solved above 250,000 variables "
            "(494,628 here); the bound and the marginal costs are those of the days apart "
            "(restarts after the first day and minimum stops left out)",
            "各天相互关联的线性松弛在 250,000 个变量以上不求解（此处 494,628 个）：下界与边际成本"
            "取自各天分开的松弛（不计首日之后的重启费用与最短停产天数）",
        ),
        (
            "the greedy list is given: without the LP relaxation no sources in play are cut "
            "out, and CP-SAT does not move on the whole model at this size",
            "给出贪心算法清单：没有线性松弛便无法选出关键源，"
            "而 CP-SAT 在此规模的整个模型上难有进展",
        ),
        ("a note nobody translated", "a note nobody translated"),
    ],
)
def test_optimiser_notes_in_chinese(english: str, chinese: str) -> None:
    assert note(english, "zh") == chinese
    assert note(english, "en") == english


def test_the_optimisers_notes_are_the_ones_translated() -> None:
    """Each note the optimiser writes (read from its source: every ``notes.append`` of a
    string, over one line or several) matches a pattern of the table (a reworded note
    would come back in English)."""
    import ast
    from pathlib import Path

    import emergency.optimiser as optimiser

    tree = ast.parse(Path(optimiser.__file__).read_text(encoding="utf-8"))

    def samples(node: ast.expr, whys: list[str]) -> list[str]:
        """The texts a string expression may give, each placeholder 7 (``why``: each
        reason the optimiser gives)."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        assert isinstance(node, ast.JoinedStr), ast.dump(node)
        out = [""]
        for part in node.values:
            if isinstance(part, ast.Constant):
                out = [text + str(part.value) for text in out]
            elif isinstance(part.value, ast.Name) and part.value.id == "why":
                out = [text + why for text in out for why in whys]
            else:
                out = [text + "7" for text in out]
        return out

    whys = [
        text
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "why" for t in node.targets)
        for text in samples(node.value, [])
    ]
    assert len(whys) == 2  # why the linked days' LP gave no bound, each way
    written = [
        text
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "append"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "notes"
        for text in samples(node.args[0], whys)
    ]
    assert any("days cheaper" in text for text in written)
    assert len(written) >= 16
    for text in written:
        assert HAN.search(note(text, "zh")), text
