"""The city plan's ``notice`` in the public outputs: the formal notice shows the number made
from the city's pattern and its issuing body; CAP carries the sender, the issuer, the
city's polygon (``lat,lon``, closed) and its geocode, valid against the official OASIS
CAP 1.2 XSD; the Atom feed's author is the issuer; a notice's number never changes when
later warnings are issued (docs/PUBLIC.md)."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from emergency.cap import ATOM_NS, CAP_NS
from emergency.store.db import Store
from tests.api.conftest import ORANGE, RED, Clock, forecast
from tests.api.test_public_cap import cap, consult, schema, text
from tests.datafiles import small_city, write_small_dataset

C = f"{{{CAP_NS}}}"
A = f"{{{ATOM_NS}}}"
AREA = [[112.02, 35.10], [112.45, 35.27], [112.80, 35.10], [112.55, 34.90]]
NOTICE = {
    "issuer": "济源市重污染天气应急指挥部",
    "issuer_en": "Jiyuan Heavy Pollution Weather Emergency Command",
    "number": "济重污应急〔{year}〕{seq}号",
    "sender": "jiyuan-emergency@example.cn",
    "area": AREA,
    "geocode": {"valueName": "GB/T 2260", "value": "419001"},
}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The small data folder whose city plan states its notice."""
    city = small_city()
    city["notice"] = NOTICE
    return write_small_dataset(tmp_path / "data", city=city)


def notice_number(client: TestClient, response_id: int) -> str:
    page = client.get(f"/public/notice/{response_id}")
    assert page.status_code == 200, page.text
    found = re.search(r'<p class="doc-number">([^<]*)</p>', page.text)
    assert found is not None, page.text
    return found.group(1)


def test_cap_carries_the_sender_issuer_polygon_and_geocode(
    client: TestClient, store: Store, clock: Clock
) -> None:
    consult(store, clock, ORANGE)
    alert = cap(client)  # validated against the XSD
    assert text(alert, "sender") == "jiyuan-emergency@example.cn"
    # the identifiers keep the URN whatever the sender
    assert text(alert, "identifier") == "urn:emergency:jiyuan-test:response-1:v1"
    assert text(alert, "incidents") == "urn:emergency:jiyuan-test:response-1"
    infos = alert.findall(f"{C}info")
    assert [text(i, "senderName") for i in infos] == [NOTICE["issuer"], NOTICE["issuer_en"]]
    for info in infos:
        area = info.find(f"{C}area")
        assert area is not None
        ring = text(area, "polygon").split()
        assert ring == [
            "35.1000,112.0200",
            "35.2700,112.4500",
            "35.1000,112.8000",
            "34.9000,112.5500",
            "35.1000,112.0200",
        ]
        geocodes = area.findall(f"{C}geocode")
        assert len(geocodes) == 1
        assert text(geocodes[0], "valueName") == "GB/T 2260"
        assert text(geocodes[0], "value") == "419001"
        # the schema's order: areaDesc, polygon, geocode
        assert [child.tag.removeprefix(C) for child in area] == ["areaDesc", "polygon", "geocode"]


def test_updates_reference_the_stated_sender_and_the_feed_names_the_issuer(
    client: TestClient, store: Store, clock: Clock
) -> None:
    consult(store, clock, ORANGE)
    first = cap(client)
    consult(store, clock, RED)
    update = cap(client)
    assert text(update, "msgType") == "Update"
    assert text(update, "references") == ",".join(
        ("jiyuan-emergency@example.cn", text(first, "identifier"), text(first, "sent"))
    )
    feed = client.get("/api/v1/public/feed.atom")
    assert feed.status_code == 200
    root = ET.fromstring(feed.content)
    assert root.findtext(f"{A}author/{A}name") == NOTICE["issuer"]
    assert root.findtext(f"{A}id") == "urn:emergency:jiyuan-test:feed"
    entries = root.findall(f"{A}entry")
    assert len(entries) == 2
    for entry in entries:
        inline = entry.find(f"{A}content/{C}alert")
        assert inline is not None
        schema().validate(ET.tostring(inline, encoding="unicode"))
        assert inline.findtext(f"{C}info/{C}area/{C}geocode/{C}value") == "419001"


def test_the_notice_shows_the_pattern_number_and_the_issuer(
    client: TestClient, store: Store, clock: Clock
) -> None:
    rid = consult(store, clock, ORANGE).response_id
    page = client.get(f"/public/notice/{rid}").text
    assert notice_number(client, rid) == "济重污应急〔2016〕1号"
    assert f'<p class="issuer-red">{NOTICE["issuer"]}</p>' in page
    signature = page[page.index('<div class="signature">') :]
    assert NOTICE["issuer"] in signature
    assert NOTICE["issuer_en"] in page
    assert "办公室" not in page and "环应急" not in page  # no default left
    public = client.get("/public").text
    assert "济重污应急〔2016〕1号" in public and NOTICE["issuer"] in public


def test_a_past_notice_keeps_its_number_when_later_ones_are_issued(
    client: TestClient, store: Store, clock: Clock
) -> None:
    first = consult(store, clock, ORANGE).response_id
    assert notice_number(client, first) == "济重污应急〔2016〕1号"
    consult(store, clock, RED)  # a new plan version of the same warning: the same notice
    assert notice_number(client, first) == "济重污应急〔2016〕1号"
    clean = forecast(dt.date(2016, 12, 18), [150, 120, 100], issued_at="2016-12-17T10:00:00+08:00")
    assert consult(store, clock, clean).action == "released"

    december = forecast(
        dt.date(2016, 12, 23),
        [[210, 260], [240, 290], [250, 300], [190, 240], [110, 150]],
        issued_at="2016-12-22T16:00:00+08:00",
    )
    second = consult(store, clock, december)
    assert second.action == "opened" and second.response_id != first
    assert notice_number(client, second.response_id) == "济重污应急〔2016〕2号"
    assert notice_number(client, first) == "济重污应急〔2016〕1号"
    clean = forecast(dt.date(2016, 12, 25), [150, 120, 100], issued_at="2016-12-24T10:00:00+08:00")
    assert consult(store, clock, clean).action == "released"

    january = forecast(
        dt.date(2017, 1, 11),
        [[210, 260], [240, 290], [250, 300], [190, 240], [110, 150]],
        issued_at="2017-01-10T16:00:00+08:00",
    )
    third = consult(store, clock, january)
    assert third.action == "opened"
    assert notice_number(client, third.response_id) == "济重污应急〔2017〕1号"  # a new year
    assert notice_number(client, first) == "济重污应急〔2016〕1号"
    assert notice_number(client, second.response_id) == "济重污应急〔2016〕2号"
    public = client.get("/public").text  # this winter's warnings, newest first
    numbers = re.findall(r'<a href="/public/notice/\d+">([^<]*号)</a>', public)
    assert numbers == ["济重污应急〔2017〕1号", "济重污应急〔2016〕2号", "济重污应急〔2016〕1号"]
