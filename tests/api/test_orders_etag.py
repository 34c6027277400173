"""GET /orders answers with an ETag; a poll that sends it back gets 304 while nothing it
would list has changed, and 200 with a new ETag as soon as something has."""

from __future__ import annotations

from fastapi.testclient import TestClient

from emergency.store.db import Store
from tests.api.conftest import ORANGE, Clock, at_issue, bearer, make_token

API = "/api/v1"
Auth = dict[str, dict[str, str]]


def poll(client: TestClient, headers: dict[str, str], etag: str | None = None) -> tuple[int, str]:
    sent = headers | ({"If-None-Match": etag} if etag else {})
    answer = client.get(f"{API}/orders", headers=sent)
    assert answer.status_code in (200, 304), answer.text
    if answer.status_code == 304:
        assert answer.content == b""
    return answer.status_code, answer.headers["etag"]


def test_a_poll_is_304_until_its_orders_change(
    client: TestClient, auth: Auth, clock: Clock, store: Store
) -> None:
    firm = auth["enterprise"]
    status, empty = poll(client, firm)
    assert status == 200 and client.get(f"{API}/orders", headers=firm).json() == []
    assert poll(client, firm, empty) == (304, empty)
    r = client.post(f"{API}/consultations", json=at_issue(clock, ORANGE), headers=auth["planner"])
    rid = r.json()["response_id"]
    assert poll(client, firm, empty) == (304, empty)  # a plan, no order yet
    assert client.post(f"{API}/responses/{rid}/approve", headers=auth["planner"]).status_code == 200
    status, issued = poll(client, firm, empty)
    assert status == 200 and issued != empty  # orders issued
    assert poll(client, firm, issued) == (304, issued)
    assert poll(client, firm, f'"nope", W/{issued}') == (304, issued)  # a list, weak form
    assert poll(client, firm, "*")[0] == 304
    # another enterprise's order acknowledged: not in this list, still 304
    other = bearer(make_token(store, "enterprise", "JY-P002"))
    theirs = client.get(f"{API}/orders", headers=other).json()[0]["id"]
    assert client.post(f"{API}/orders/{theirs}/ack", headers=other).status_code == 200
    assert poll(client, firm, issued) == (304, issued)
    # its own acknowledgement, then a report: each changes the list
    mine = client.get(f"{API}/orders", headers=firm).json()[0]["id"]
    assert client.post(f"{API}/orders/{mine}/ack", headers=firm).status_code == 200
    status, acked = poll(client, firm, issued)
    assert status == 200 and acked != issued
    clock.advance(hours=24)
    report = {"at": clock().isoformat(), "load": 0.5}
    assert client.post(f"{API}/orders/{mine}/reports", json=report, headers=firm).status_code == 201
    status, reported = poll(client, firm, acked)
    assert status == 200 and reported != acked
    # a filter is part of what is listed
    filtered = client.get(f"{API}/orders", params={"status": "issued"}, headers=firm)
    assert filtered.headers["etag"] != reported
    # a release lifts the orders
    released = client.post(f"{API}/responses/{rid}/release", json={}, headers=auth["planner"])
    assert released.status_code == 200, released.text
    assert poll(client, firm, reported)[0] == 200
