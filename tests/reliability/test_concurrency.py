"""Concurrency: a dozen requests at once on one response against a live server.

Each round releases twelve threads together (a barrier): approvals (some naming the plan
version they reviewed), overrides of different sources, consultations that extend or
shorten the episode, and reads. Every answer must be 200 or, for a lost race, 409 — never a
5xx; afterwards each order has been issued once, no plan version was approved twice or
lost, and the orders in force are exactly what the approved version wants. The server is
``emergency serve`` (one process, a thread pool) or ``uvicorn --workers 2`` (two processes
on one database).
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.reliability.conftest import ServerFactory
from tests.reliability.invariants import check_response
from tests.reliability.live import OVERRIDES, Server, cli_token, orange

pytestmark = pytest.mark.slow

ROUNDS = 3
Answer = tuple[str, int, Any]


def one_round(
    server: Server, tokens: dict[str, str], response_id: int, round_: int
) -> list[Answer]:
    """Twelve requests released at once; (kind, status, body) of each."""
    base = f"/responses/{response_id}"
    with server.client(tokens["planner"]) as client:
        version = client.get(base).json()["plan_version"]
    calls: list[tuple[str, str, str, str, Any]] = []  # kind, role, method, path, body
    calls += [("approve", "planner", "POST", f"{base}/approve", None)] * 4
    calls += [("approve", "planner", "POST", f"{base}/approve", {"plan_version": version})] * 2
    for i in range(3):
        override = OVERRIDES[(3 * round_ + i) % len(OVERRIDES)]
        calls.append(("override", "planner", "POST", f"{base}/overrides", override))
    extended = orange(days=5 if round_ % 2 == 0 else 4)
    calls.append(("consult", "consultation", "POST", "/consultations", extended))
    calls.append(("consult", "planner", "POST", "/consultations", extended))
    calls.append(("read", "inspector", "GET", f"{base}/plan", None))
    barrier = threading.Barrier(len(calls))
    answers: list[Answer] = []
    lock = threading.Lock()

    def call(kind: str, role: str, method: str, path: str, body: Any) -> None:
        with server.client(tokens[role]) as client:
            barrier.wait()
            try:
                r = client.request(method, path, json=body)
                answer: Answer = (kind, r.status_code, r.json())
            except httpx.HTTPError as exc:  # a dropped connection counts as a server error
                answer = (kind, 599, repr(exc))
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=call, args=c) for c in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert len(answers) == len(calls), "a request never came back"
    return answers


@pytest.mark.parametrize("workers", [0, 2], ids=["serve", "workers2"])
def test_simultaneous_approvals_overrides_and_consultations(
    server_factory: ServerFactory, data_dir: Path, db_url: str | None, workers: int
) -> None:
    tokens = {role: cli_token(data_dir, db_url, role) for role in ("planner", "consultation")}
    tokens["inspector"] = cli_token(data_dir, db_url, "inspector")
    server = server_factory(workers=workers).start()
    with server.client(tokens["planner"]) as client:
        opened = client.post("/consultations", json=orange())
        assert opened.status_code == 200, opened.text
        response_id = opened.json()["response_id"]
        first = client.post(f"/responses/{response_id}/approve")
        assert first.status_code == 200, first.text
    answers: list[Answer] = [("approve", 200, first.json())]
    for round_ in range(ROUNDS):
        answers += one_round(server, tokens, response_id, round_)
    with server.client(tokens["planner"]) as client:
        final = client.post(f"/responses/{response_id}/approve")
        assert final.status_code == 200, final.text
        answers.append(("approve", 200, final.json()))
        detail = client.get(f"/responses/{response_id}").json()

    statuses = Counter((kind, status) for kind, status, _ in answers)
    assert all(status in (200, 409) for _kind, status in statuses), statuses
    assert statuses[("read", 200)] == ROUNDS
    assert statuses[("approve", 200)] > ROUNDS, statuses  # some approvals got through

    # each plan version approved by one request; each order issued by one answer
    approvals = [body for kind, status, body in answers if kind == "approve" and status == 200]
    fresh = [a["plan_version"] for a in approvals if not a["already_approved"]]
    assert len(fresh) == len(set(fresh)), f"a version approved twice: {fresh}"
    issued = [o["id"] for a in approvals for o in a["issued"]]
    assert len(issued) == len(set(issued)), "an order issued twice"

    # every override answered 200 made one plan version, none was lost
    overrides = statuses[("override", 200)]
    assert overrides == sum(1 for p in detail["plans"] if p["reason"] == "override")
    assert [p["number"] for p in detail["plans"]] == list(range(1, detail["plan_version"] + 1))

    state = check_response(data_dir, db_url, response_id, approvals_via_api=False)
    assert state.approved_plan == detail["plan_version"] == state.plan_number
    assert set(issued) <= set(state.orders)
