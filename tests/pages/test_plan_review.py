"""方案审核 The plan review pages: the queue, a version's differences and effect, decisions."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from emergency.service.plan_review import list_plan_versions, submit_plan
from emergency.service.tokens import authenticate
from emergency.store.db import Store
from tests.datafiles import small_plans
from tests.pages.test_actions import csrf_of
from tests.pages.test_review import text


def pending_without_floors(store: Store, tokens: dict[str, str]) -> tuple[str, int]:
    """The steel plant submits a plan with no level floors; returns (enterprise, version)."""
    plan = small_plans()["JY-P001"]
    plan["levels"] = {}
    plan["updated"] = plan["updated"].isoformat()
    with store.session() as session:
        actor = authenticate(session, tokens["enterprise"])
        assert actor.enterprise_id == "JY-P001"
        version = submit_plan(session, actor, "JY-P001", plan)
    assert version.status == "pending"
    return "JY-P001", version.number


def test_queue_and_version_page_show_the_weaker_floor(
    planner: TestClient, store: Store, tokens: dict[str, str]
) -> None:
    enterprise, number = pending_without_floors(store, tokens)
    queue = planner.get("/plans")
    assert queue.status_code == 200
    link = f"/plans/{enterprise}/versions/{number}"
    assert link in queue.text
    page = planner.get(link)
    assert page.status_code == 200
    shown = text(page.text)
    assert "red: the floor cuts less" in shown and "保底减排量降低" in shown
    assert re.search(r"deep → <strong>normal</strong>", page.text)
    assert "批准 Approve" in shown and "退回 Reject" in shown


def test_reject_needs_the_form_token_and_a_reason_then_keeps_the_plan(
    planner: TestClient, store: Store, tokens: dict[str, str]
) -> None:
    enterprise, number = pending_without_floors(store, tokens)
    url = f"/plans/{enterprise}/versions/{number}"
    forged = planner.post(f"{url}/reject", data={"note": "x", "csrf": "0" * 64})
    assert forged.status_code == 403
    csrf = csrf_of(planner, url)
    empty = planner.post(f"{url}/reject", data={"note": " ", "csrf": csrf})
    assert empty.status_code == 400 and "reason" in empty.text
    done = planner.post(
        f"{url}/reject", data={"note": "红色预警须减产", "csrf": csrf}, follow_redirects=False
    )
    assert done.status_code == 303
    with store.session() as session:
        actor = authenticate(session, tokens["planner"])
        versions = list_plan_versions(session, actor, enterprise)
    assert versions[0].status == "rejected" and versions[0].review_note == "红色预警须减产"
    assert "已退回" in text(planner.get(url).text)


def test_approve_puts_the_version_in_force(
    planner: TestClient, store: Store, tokens: dict[str, str]
) -> None:
    enterprise, number = pending_without_floors(store, tokens)
    url = f"/plans/{enterprise}/versions/{number}"
    done = planner.post(
        f"{url}/approve", data={"note": "", "csrf": csrf_of(planner, url)}, follow_redirects=False
    )
    assert done.status_code == 303
    with store.session() as session:
        actor = authenticate(session, tokens["planner"])
        versions = list_plan_versions(session, actor, enterprise)
    assert versions[0].status == "approved" and versions[0].in_force


def test_only_planners_review(client: TestClient, tokens: dict[str, str]) -> None:
    from tests.pages.conftest import sign_in

    inspector = sign_in(client, tokens["inspector"])
    assert inspector.get("/plans").status_code == 403
