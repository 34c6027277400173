"""``GET /api/v1/orders/stream``: server-sent events of the orders' history, each
enterprise its own, resumed with ``Last-Event-ID``; read whole through the test client
(test stores end a stream after 0.3 s) and live from a real server while orders are
issued."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Clock
from tests.api.test_notify import API, Auth, approve
from tests.pages.live import LiveServer, seed

Event = dict[str, Any]


def parse(text: str) -> list[Event]:
    """The events of an SSE body (comments and the ``retry`` field left out)."""
    events = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        if "id" in fields:
            events.append(
                {"id": int(fields["id"]), "event": fields["event"], **json.loads(fields["data"])}
            )
    return events


def read(client: TestClient, headers: dict[str, str], **params: Any) -> list[Event]:
    answer = client.get(f"{API}/orders/stream", headers=headers, params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert answer.text.startswith("retry: ")
    return parse(answer.text)


def test_each_enterprise_streams_its_own_order_events_and_resumes(
    client: TestClient, auth: Auth, clock: Clock
) -> None:
    assert read(client, auth["enterprise"]) == []  # nothing yet
    approve(client, auth, clock)
    assert read(client, auth["enterprise"]) == []  # without an id: from now on
    mine = read(client, auth["enterprise"], after=0)
    every = read(client, auth["planner"], after=0)
    own = client.get(f"{API}/orders", headers=auth["enterprise"]).json()
    assert sorted(e["order"]["id"] for e in mine) == sorted(o["id"] for o in own)
    assert {e["event"] for e in mine} == {"order.issued"}
    assert all(e["order"]["source"] == "JY-P001" for e in mine)
    assert mine[0]["order"]["source_name"] == "济源钢铁"
    ids = [e["id"] for e in every]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) and len(every) > len(mine)
    assert {e["order"]["source"] for e in every} > {"JY-P001"}
    assert all(e["event_id"] == e["id"] for e in every)
    # acknowledging is an event too; resuming after the last one seen gives only it
    first = own[0]["id"]
    assert client.post(f"{API}/orders/{first}/ack", headers=auth["enterprise"]).status_code == 200
    resumed = client.get(
        f"{API}/orders/stream",
        headers=auth["enterprise"] | {"Last-Event-ID": str(mine[-1]["id"])},
        params={"after": 0},  # the header wins: a browser reconnects to the same URL
    )
    (ack,) = parse(resumed.text)
    assert (ack["event"], ack["order"]["id"], ack["order"]["status"]) == (
        "order.acknowledged",
        first,
        "acknowledged",
    )
    assert ack["id"] > mine[-1]["id"]


def test_the_stream_refuses_bad_ids_and_the_wrong_people(client: TestClient, auth: Auth) -> None:
    for bad in ("abc", "-1", "1e9", "1 OR 1=1", "9" * 40, ""):
        answer = client.get(
            f"{API}/orders/stream", headers=auth["enterprise"] | {"Last-Event-ID": bad}
        )
        assert answer.status_code == 400, (bad, answer.status_code, answer.text)
        assert "Last-Event-ID" in answer.json()["detail"]
    assert (
        client.get(
            f"{API}/orders/stream", params={"after": -1}, headers=auth["planner"]
        ).status_code
        == 422
    )
    assert client.get(f"{API}/orders/stream").status_code == 401
    assert client.get(f"{API}/orders/stream", headers=auth["consultation"]).status_code == 403


class Reader(threading.Thread):
    """Reads one stream of a live server into ``events`` until :meth:`close`."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.url, self.headers = url, headers
        self.events: list[Event] = []
        self.opened = threading.Event()
        self.client = httpx.Client(timeout=httpx.Timeout(5.0, read=60.0))

    def run(self) -> None:
        try:
            with self.client.stream("GET", self.url, headers=self.headers) as answer:
                assert answer.status_code == 200
                self.opened.set()
                buffer = ""
                for chunk in answer.iter_text():
                    buffer += chunk
                    *done, buffer = buffer.split("\n\n")
                    self.events += parse("\n\n".join(done) + "\n\n")
        except (httpx.HTTPError, RuntimeError):
            pass  # closed by the test

    def close(self) -> None:
        self.client.close()
        self.join(10)

    def wait_for(self, n: int, timeout_s: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if len(self.events) >= n:
                return True
            time.sleep(0.05)
        return False


@pytest.mark.slow
def test_a_live_stream_gets_orders_as_they_are_issued(tmp_path: Path) -> None:
    from tests.datafiles import write_small_dataset

    data = write_small_dataset(tmp_path / "data")
    seeded = seed(data)
    firm = {"Authorization": f"Bearer {seeded.tokens['enterprise']}"}
    planner = {"Authorization": f"Bearer {seeded.tokens['planner']}"}
    with LiveServer(data) as server:
        reader = Reader(f"{server.url}{API}/orders/stream", firm)
        reader.start()
        assert reader.opened.wait(10)
        time.sleep(0.5)  # the stream is open before the orders exist
        started = time.monotonic()
        approved = httpx.post(
            f"{server.url}{API}/responses/{seeded.response_id}/approve", headers=planner, timeout=60
        )
        assert approved.status_code == 200, approved.text
        mine = [o for o in approved.json()["issued"] if o["source"] == "JY-P001"]
        assert mine and reader.wait_for(len(mine))
        took = time.monotonic() - started
        reader.close()
        assert sorted(e["order"]["id"] for e in reader.events) == sorted(o["id"] for o in mine)
        assert took < 15, took
        # a second stream resumes after the last event the first one saw
        last = reader.events[-1]["id"]
        ack = httpx.post(f"{server.url}{API}/orders/{mine[0]['id']}/ack", headers=firm, timeout=30)
        assert ack.status_code == 200
        again = Reader(f"{server.url}{API}/orders/stream", firm | {"Last-Event-ID": str(last)})
        again.start()
        assert again.wait_for(1)
        again.close()
        assert [(e["event"], e["order"]["id"]) for e in again.events] == [
            ("order.acknowledged", mine[0]["id"])
        ]
