"""Inspection tasks over HTTP: opened for an anomaly of the response, assigned, visited
with a finding and photos, closed; a confirmed breach lists the enterprise for grade
review; hostile and stale requests refused."""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from emergency.store.db import Store
from emergency.store.models import AuditEntry
from tests.api.conftest import ORANGE, Clock, at_issue

API = "/api/v1"
Auth = dict[str, dict[str, str]]


def png() -> bytes:
    """A real PNG (a small chart), as a phone would send a photo."""
    figure, axes = plt.subplots(figsize=(1, 1))
    axes.plot([0, 1], [1, 0])
    out = io.BytesIO()
    figure.savefig(out, format="png")
    plt.close(figure)
    return out.getvalue()


def episode(client: TestClient, auth: Auth, clock: Clock) -> tuple[int, dict[str, Any]]:
    """An approved orange response; JY-P001 reports a load above its allowed one."""
    r = client.post(f"{API}/consultations", json=at_issue(clock, ORANGE), headers=auth["planner"])
    rid = r.json()["response_id"]
    assert client.post(f"{API}/responses/{rid}/approve", headers=auth["planner"]).status_code == 200
    order = client.get(f"{API}/orders", headers=auth["enterprise"]).json()[0]
    firm = auth["enterprise"]
    assert client.post(f"{API}/orders/{order['id']}/ack", headers=firm).status_code == 200
    clock.advance(hours=24)  # the order's first day
    report = {"at": clock().isoformat(), "load": 1.0, "note": "全负荷 full load"}
    made = client.post(f"{API}/orders/{order['id']}/reports", json=report, headers=firm)
    assert made.status_code == 201, made.text
    return rid, order


def test_a_task_follows_an_anomaly_from_opening_to_grade_review(
    client: TestClient, auth: Auth, clock: Clock, store: Store
) -> None:
    rid, order = episode(client, auth, clock)
    ranked = client.get(
        f"{API}/supervision/anomalies", params={"response": rid}, headers=auth["inspector"]
    )
    assert ranked.status_code == 200, ranked.text
    load = next(a for a in ranked.json() if a["anomaly"]["kind"] == "load")
    key = load["anomaly"]["key"]
    assert key.startswith(f"load:{order['id']}:") and load["task_id"] is None
    assert [a["rank"] for a in ranked.json()] == list(range(1, len(ranked.json()) + 1))

    planner, inspector = auth["planner"], auth["inspector"]
    made = client.post(
        f"{API}/tasks", json={"response_id": rid, "anomaly_key": key}, headers=planner
    )
    assert made.status_code == 201, made.text
    task = made.json()
    assert (task["status"], task["enterprise"], task["enterprise_name"]) == (
        "open",
        "JY-P001",
        "济源钢铁",
    )
    again = client.post(
        f"{API}/tasks", json={"response_id": rid, "anomaly_key": key}, headers=planner
    )
    assert again.status_code == 409  # one open task per anomaly
    tid = task["id"]
    url = f"{API}/tasks/{tid}"
    assigned = client.post(f"{url}/assign", json={"assigned_to": "王检查"}, headers=planner)
    assert assigned.json()["status"] == "assigned"
    # the inspector's phone: photos, then the finding
    image = png()
    shot = client.post(
        f"{url}/photos", content=image, headers=inspector | {"content-type": "image/png"}
    )
    assert shot.status_code == 201, shot.text
    photo = shot.json()
    assert photo["content_type"] == "image/png" and photo["bytes"] == len(image)
    back = client.get(f"{url}/photos/{photo['id']}", headers=planner)
    assert back.content == image and back.headers["content-type"] == "image/png"
    visit = {"confirmed": True, "finding": "烧结机夜间恢复生产 sinter line running at night"}
    visited = client.post(f"{url}/visit", json=visit, headers=inspector)
    assert visited.status_code == 200 and visited.json()["status"] == "visited"
    assert visited.json()["confirmed"] is True
    listed = client.get(f"{API}/supervision/anomalies", params={"response": rid}, headers=planner)
    followed = next(a for a in listed.json() if a["anomaly"]["key"] == key)
    assert (followed["task_id"], followed["task_status"]) == (tid, "visited")
    closed = client.post(f"{url}/close", json={}, headers=inspector)
    assert closed.status_code == 200 and closed.json()["closed_by"].startswith("inspector:")
    # closed is final
    for tail, body in (("assign", {"assigned_to": "李"}), ("visit", visit), ("close", {})):
        assert client.post(f"{url}/{tail}", json=body, headers=planner).status_code == 409
    late = client.post(
        f"{url}/photos", content=image, headers=inspector | {"content-type": "image/png"}
    )
    assert late.status_code == 409
    # the confirmed breach: JY-P001 for grade review
    review = client.get(
        f"{API}/supervision/grade-review", params={"response": rid}, headers=planner
    )
    (firm,) = review.json()
    assert (firm["enterprise"], firm["tasks"], firm["kinds"]) == ("JY-P001", [tid], ["load"])
    # a new task for the same anomaly may open once the old one is closed
    reopened = client.post(
        f"{API}/tasks", json={"response_id": rid, "anomaly_key": key}, headers=planner
    )
    assert reopened.status_code == 201
    with store.session() as session:
        actions = session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.target == f"task:{tid}")
            .order_by(AuditEntry.id)
        ).all()
    assert actions == ["task.create", "task.assign", "task.photo", "task.visit", "task.close"]


def test_tasks_refuse_what_they_cannot_be(
    client: TestClient, auth: Auth, clock: Clock, store: Store
) -> None:
    rid, _order = episode(client, auth, clock)
    planner = auth["planner"]
    with store.session() as session:
        before = session.scalar(select(func.count(AuditEntry.id)))
    unknown = client.post(
        f"{API}/tasks", json={"response_id": rid, "anomaly_key": "load:1:999999"}, headers=planner
    )
    assert unknown.status_code == 400 and "anomaly_key" in unknown.json()["detail"]
    missing = client.post(
        f"{API}/tasks", json={"response_id": 999, "anomaly_key": "x"}, headers=planner
    )
    assert missing.status_code == 404
    ranked = client.get(f"{API}/supervision/anomalies", params={"response": rid}, headers=planner)
    key = ranked.json()[0]["anomaly"]["key"]
    tid = client.post(
        f"{API}/tasks", json={"response_id": rid, "anomaly_key": key}, headers=planner
    ).json()["id"]
    url = f"{API}/tasks/{tid}"
    # not an image, whatever the header says; empty; too large (8 MiB)
    for body in (b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"GIF89a" + b"\0" * 20, b""):
        bad = client.post(
            f"{url}/photos", content=body, headers=planner | {"content-type": "image/png"}
        )
        assert bad.status_code == 400, (body[:10], bad.text)
    huge = b"\xff\xd8\xff" + b"\0" * (8 * 1024 * 1024)
    assert client.post(f"{url}/photos", content=huge, headers=planner).status_code == 413
    # closing a task never visited needs a note
    assert client.post(f"{url}/close", json={"note": "  "}, headers=planner).status_code == 400
    done = client.post(
        f"{url}/close", json={"note": "报告有误，企业已更正 report corrected"}, headers=planner
    )
    assert done.status_code == 200 and done.json()["confirmed"] is None
    assert "report corrected" in done.json()["finding"]
    # the enterprise and the consultation have no say
    for role in ("enterprise", "consultation"):
        assert client.get(f"{API}/tasks", headers=auth[role]).status_code == 403
        assert (
            client.post(
                f"{url}/visit", json={"confirmed": True, "finding": "x"}, headers=auth[role]
            ).status_code
            == 403
        )
    assert client.get(f"{API}/tasks/{tid}/photos/1", headers=planner).status_code == 404
    listed = client.get(
        f"{API}/tasks", params={"status": "closed"}, headers=auth["inspector"]
    ).json()
    assert [t["id"] for t in listed] == [tid]
    with store.session() as session:
        after = session.scalar(select(func.count(AuditEntry.id)))
    assert after == (before or 0) + 2  # the task made and closed; nothing of the refusals
