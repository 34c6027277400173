"""Crash safety: the server is killed (SIGKILL) and restarted; nothing acknowledged is lost.

The real server (``emergency serve``) runs in a subprocess on a temp data folder, with
SQLite and, when configured, PostgreSQL. A planner token comes from
``emergency token create``. After every kill the database itself is checked
(:func:`tests.reliability.invariants.check_response`): no order lost or issued twice, no
half-written approval, plan versions and orders consistent; then the restarted server must
agree and carry on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.reliability.conftest import ServerFactory
from tests.reliability.invariants import State, check_response
from tests.reliability.live import OVERRIDES, Server, cli_token, orange

pytestmark = pytest.mark.slow


@dataclass
class Acknowledged:
    """Approvals the server answered 200 to (what it promised)."""

    approvals: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    errors: list[str] = field(default_factory=list)

    def add(self, answer: dict[str, Any]) -> int:
        with self.lock:
            self.approvals.append(answer)
            return len(self.approvals)


def assert_kept(state: State, acknowledged: list[dict[str, Any]]) -> None:
    """Every approval answered 200 is in the database with every order it issued."""
    for answer in acknowledged:
        assert answer["plan_version"] in state.approved, answer["plan_version"]
        for order in answer["issued"]:
            stored = state.orders.get(order["id"])
            assert stored is not None, f"order {order['id']} acknowledged, then lost"
            assert (stored.source, stored.measure_id) == (order["source"], order["measure"]["id"])
        for order_id in answer["superseded"] + answer["lifted"]:
            assert state.orders[order_id].status in ("superseded", "lifted"), order_id


def assert_server_agrees(server: Server, token: str, response_id: int, state: State) -> None:
    """After a restart the API shows what the database holds, and approving is idempotent."""
    with server.client(token) as client:
        detail = client.get(f"/responses/{response_id}").json()
        assert detail["plan_version"] == state.plan_number
        assert detail["approved_plan_version"] == state.approved_plan
        listed = client.get("/orders", params={"response": response_id}).json()
        assert sorted(o["id"] for o in listed) == sorted(state.orders)
        in_force = sorted(o["id"] for o in listed if o["current"])
        assert in_force == sorted(o.id for o in state.orders.values() if o.status in IN_FORCE)
        if state.approved_plan == state.plan_number:
            again = client.post(f"/responses/{response_id}/approve")
            assert again.status_code == 200, again.text
            assert again.json()["already_approved"] is True and again.json()["issued"] == []


IN_FORCE = ("issued", "acknowledged")


def open_response(server: Server, token: str) -> int:
    with server.client(token) as client:
        answer = client.post("/consultations", json=orange())
        assert answer.status_code == 200, answer.text
        assert answer.json()["action"] == "opened"
        return int(answer.json()["response_id"])


def test_kill_right_after_approvals_return(
    server_factory: ServerFactory, data_dir: Path, db_url: str | None
) -> None:
    """Approve, SIGKILL at once, check the database, restart; three rounds with overrides."""
    token = cli_token(data_dir, db_url, "planner")
    server = server_factory().start()
    response_id = open_response(server, token)
    acknowledged: list[dict[str, Any]] = []
    for round_ in range(3):
        with server.client(token) as client:
            if round_:
                body = OVERRIDES[round_ - 1]
                override = client.post(f"/responses/{response_id}/overrides", json=body)
                assert override.status_code == 200, override.text
            answer = client.post(f"/responses/{response_id}/approve")
            assert answer.status_code == 200, answer.text
        server.kill()  # the answer is in hand: the approval must survive
        acknowledged.append(answer.json())
        assert answer.json()["issued"], "each round's plan issues something new"
        state = check_response(data_dir, db_url, response_id)
        assert_kept(state, acknowledged)
        assert state.approved_plan == answer.json()["plan_version"] == round_ + 1
        server.start()
        assert_server_agrees(server, token, response_id, state)


def burst(
    server: Server, token: str, response_id: int, acks: Acknowledged, kill_after: int
) -> None:
    """Four planners override and approve in a loop; SIGKILL after ``kill_after`` approvals
    were answered, while the others are still in flight."""
    stop = threading.Event()
    killed = threading.Event()
    kill_lock = threading.Lock()

    def planner(offset: int) -> None:
        with server.client(token, timeout_s=30) as client:
            step = offset
            while not stop.is_set():
                try:
                    override = OVERRIDES[step % len(OVERRIDES)]
                    step += 1
                    r = client.post(f"/responses/{response_id}/overrides", json=override)
                    if r.status_code not in (200, 409):
                        acks.errors.append(f"override {r.status_code}: {r.text[:200]}")
                    r = client.post(f"/responses/{response_id}/approve")
                    if r.status_code == 200:
                        if acks.add(r.json()) >= kill_after:
                            with kill_lock:
                                if not killed.is_set():
                                    server.kill()
                                    killed.set()
                    elif r.status_code != 409:
                        acks.errors.append(f"approve {r.status_code}: {r.text[:200]}")
                except httpx.TransportError:
                    return  # the server is gone

    threads = [threading.Thread(target=planner, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    killed.wait(timeout=120)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    server.kill()
    assert killed.is_set(), "the burst never reached the kill point"


def test_kill_in_the_middle_of_a_burst_of_approvals(
    server_factory: ServerFactory, data_dir: Path, db_url: str | None
) -> None:
    """Concurrent overrides and approvals, SIGKILL mid-way (three times at different points):
    what was answered 200 is kept, what was in flight is all there or not at all."""
    token = cli_token(data_dir, db_url, "planner")
    server = server_factory().start()
    response_id = open_response(server, token)
    acks = Acknowledged()
    for round_, kill_after in enumerate((4, 8, 16)):
        burst(server, token, response_id, acks, kill_after=len(acks.approvals) + kill_after)
        assert acks.errors == []
        state = check_response(data_dir, db_url, response_id)
        assert_kept(state, acks.approvals)
        server.start()
        assert_server_agrees(server, token, response_id, state)
        with server.client(token) as client:  # the survivors go on from where it stopped
            client.post(f"/responses/{response_id}/overrides", json=OVERRIDES[round_])
            final = client.post(f"/responses/{response_id}/approve")
            assert final.status_code == 200, final.text
            acks.add(final.json())
        assert_kept(check_response(data_dir, db_url, response_id), acks.approvals)
