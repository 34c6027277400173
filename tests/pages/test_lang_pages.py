"""The pages speak Chinese first: codes with their Chinese names (one table,
``emergency.names``), the why and the warning reason in Chinese with the English beside."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.pages.render import bilingual, named, templates
from emergency.solution import ResponsePlan
from emergency.store.db import Store
from tests.pages.test_review import plan_of, rows_of, text


def test_named_puts_the_chinese_name_before_the_code() -> None:
    assert named("steel", "industry") == "钢铁 steel"
    assert named("plant", "kind") == "工业企业 plant"
    assert named("livelihood", "guarantee") == "民生 livelihood"
    assert named("optimal", "plan_status") == "最优 optimal"
    assert named("A", "grade") == "A"  # the same in both: said once
    assert named(None, "grade") == "" and named("", "industry") == ""


def test_bilingual_falls_back_to_the_english_of_older_plans() -> None:
    assert bilingual("因为", "because") == ("因为", "because")
    assert bilingual("", "because") == ("because", "")
    macro = templates.env.from_string('{% from "_macros.html" import bi %}{{ bi(zh, en) }}')
    both = macro.render(zh="为完成目标", en="to meet the target")
    assert both.index("为完成目标") < both.index("to meet the target")
    assert 'lang="en"' in both
    old = macro.render(zh="", en="to meet the target")
    assert "to meet the target" in old and 'lang="en"' not in old


def _steel_why(plan: ResponsePlan) -> tuple[str, str]:
    first = min((a for a in plan.assignments if a.source == "JY-P001"), key=lambda a: a.date)
    assert first.why_zh and first.why
    return first.why_zh, first.why


def test_list_shows_chinese_names_and_the_why_in_chinese_first(
    planner: TestClient, store: Store, tokens: dict[str, str], response_id: int
) -> None:
    plan = plan_of(store, tokens["planner"], response_id)
    page = planner.get(f"/responses/{response_id}")
    assert page.status_code == 200
    steel = next(r for r in rows_of(page.text) if "JY-P001" in r)
    assert "钢铁 steel" in steel and "工业企业 plant" in steel
    why_zh, why = _steel_why(plan)
    assert why_zh in steel and why in steel
    assert steel.index(why_zh) < steel.index(why)
    shown = text(page.text)
    assert '<option value="steel" >钢铁 steel</option>' in page.text  # the industry filter
    assert "最优 optimal" in shown


def test_source_page_shows_chinese_names_and_the_why_in_chinese_first(
    planner: TestClient, store: Store, tokens: dict[str, str], response_id: int
) -> None:
    plan = plan_of(store, tokens["planner"], response_id)
    shown = text(planner.get(f"/responses/{response_id}/sources/JY-P001").text)
    assert "钢铁 steel" in shown and "工业企业 plant" in shown
    why_zh, why = _steel_why(plan)
    assert shown.index(why_zh) < shown.index(why)


def test_dashboard_reason_and_timeline_in_chinese_first(
    planner: TestClient, store: Store, tokens: dict[str, str], response_id: int
) -> None:
    warning = plan_of(store, tokens["planner"], response_id).warning
    assert warning.reason_zh and "橙色预警" in warning.reason_zh
    page = planner.get("/")
    shown = text(page.text)
    card = text(page.text.split('class="reason"')[1].split("</p>")[0])
    assert card.index(warning.reason_zh) < card.index(warning.reason)
    timeline = text(page.text.split('class="timeline"')[1].split("</ol>")[0])
    assert "启动 Opened" in timeline and "会商 Consultation" in timeline
    assert timeline.index(warning.reason_zh) < timeline.index(warning.reason)
    assert "响应中 open" in shown
