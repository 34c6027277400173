"""CAP 1.2 alerts and their Atom feed, validated against the official OASIS CAP 1.2 XSD
(tests/data/cap-v1.2.xsd, see tests/data/README.md) with xmlschema; the sequence of
messages over a warning's life (open → upgrade → release) and the formal notice."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import pytest
import xmlschema
from fastapi.testclient import TestClient

from emergency.cap import ATOM_NS, CAP_NS, SEVERITY
from emergency.service import consult as consultations
from emergency.service.access import Actor, Role
from emergency.service.public import city_names
from emergency.store.db import Store
from tests.api.conftest import ORANGE, RED, Clock, at_issue, forecast

REPO = Path(__file__).resolve().parents[2]
XSD = REPO / "tests" / "data" / "cap-v1.2.xsd"
CONSULTATION = Actor("bureau", Role.consultation, token_id=1)
C = f"{{{CAP_NS}}}"
A = f"{{{ATOM_NS}}}"


@cache
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD))


def consult(store: Store, clock: Clock, fc: dict[str, object]) -> consultations.ConsultResult:
    with store.session() as session:
        return consultations.consult(session, CONSULTATION, at_issue(clock, fc))


def cap(client: TestClient, path: str = "/api/v1/public/cap") -> ET.Element:
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/cap+xml")
    schema().validate(answer.text)  # raises with the first violation
    return ET.fromstring(answer.content)


def text(alert: ET.Element, tag: str) -> str:
    found = alert.find(f"{C}{tag}")
    assert found is not None and found.text is not None, tag
    return found.text


def test_the_schema_is_the_official_one() -> None:
    head = XSD.read_text(encoding="utf-8")[:400]
    assert "Copyright OASIS Open 2010" in head
    assert schema().target_namespace == CAP_NS == "urn:oasis:names:tc:emergency:cap:1.2"


def test_no_warning_yet_is_404(client: TestClient) -> None:
    assert client.get("/api/v1/public/cap").status_code == 404
    feed = client.get("/api/v1/public/feed.atom")
    assert feed.status_code == 200
    assert ET.fromstring(feed.content).findall(f"{A}entry") == []


def test_an_opened_warning_is_a_valid_cap_alert(
    client: TestClient, store: Store, clock: Clock
) -> None:
    assert consult(store, clock, ORANGE).action == "opened"
    alert = cap(client)
    assert text(alert, "status") == "Actual"
    assert text(alert, "msgType") == "Alert"
    assert text(alert, "scope") == "Public"
    assert alert.find(f"{C}references") is None
    assert text(alert, "sent") == "2016-12-15T16:00:00+08:00"
    assert text(alert, "identifier").startswith(text(alert, "sender"))
    infos = alert.findall(f"{C}info")
    assert [text(i, "language") for i in infos] == ["zh-CN", "en-US"]
    for info in infos:
        assert text(info, "category") == "Env"
        assert text(info, "severity") == "Severe"
        assert text(info, "urgency") == "Expected"  # sent before 16 Dec 00:00
        assert text(info, "certainty") == "Likely"
        assert text(info, "onset") == "2016-12-16T00:00:00+08:00"
        assert text(info, "expires") == "2016-12-20T00:00:00+08:00"
        area = info.find(f"{C}area")
        assert area is not None
        ring = text(area, "polygon").split()
        assert len(ring) == 5 and ring[0] == ring[-1]
        lat, lon = (float(x) for x in ring[0].split(","))
        assert 34 < lat < 36 and 112 < lon < 113  # around the small city's sources
    zh, en = infos
    assert "橙色" in text(zh, "headline") and "orange" in text(en, "headline")
    assert "AQI 210–260" in text(zh, "description")
    assert text(zh, "instruction")  # the city plan's advice


def test_each_change_is_a_new_message_referencing_the_earlier_ones(
    client: TestClient, store: Store, clock: Clock
) -> None:
    opened = consult(store, clock, ORANGE)
    alert = cap(client)
    first = (text(alert, "sender"), text(alert, "identifier"), text(alert, "sent"))
    upgraded = consult(store, clock, RED)
    assert (opened.response_id, upgraded.action) == (upgraded.response_id, "upgraded")
    update = cap(client)
    assert text(update, "msgType") == "Update"
    assert text(update, "references") == ",".join(first)
    assert {text(i, "severity") for i in update.findall(f"{C}info")} == {"Extreme"}
    clean = forecast(dt.date(2016, 12, 18), [150, 120, 100], issued_at="2016-12-17T10:00:00+08:00")
    assert consult(store, clock, clean).action == "released"
    cancel = cap(client)
    assert text(cancel, "msgType") == "Cancel"
    references = text(cancel, "references").split()
    assert references[0] == ",".join(first)
    assert references[1].split(",")[1] == text(update, "identifier")
    assert {text(i, "urgency") for i in cancel.findall(f"{C}info")} == {"Past"}
    assert cap(client).findtext(f"{C}identifier") == text(cancel, "identifier")  # stable

    feed = client.get("/api/v1/public/feed.atom")
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("application/atom+xml")
    entries = ET.fromstring(feed.content).findall(f"{A}entry")
    assert [e.findtext(f"{A}id") for e in entries] == [
        text(cancel, "identifier"),
        text(update, "identifier"),
        first[1],
    ]
    for entry in entries:
        inline = entry.find(f"{A}content/{C}alert")
        assert inline is not None
        schema().validate(ET.tostring(inline, encoding="unicode"))
        link = entry.find(f"{A}link")
        assert link is not None and link.get("type") == "application/cap+xml"
        linked = cap(client, link.get("href", "").removeprefix("http://testserver"))
        assert text(linked, "identifier") == entry.findtext(f"{A}id")
    assert client.get("/api/v1/public/cap/urn:nothing").status_code == 404


def test_the_bundled_city_numbers_its_notices_in_chinese() -> None:
    from emergency.cityplan import load_city_plan

    city, errors = load_city_plan(REPO / "plans" / "city.yaml")
    assert city is not None, errors
    names = city_names(city)
    assert (names.zh, names.en, names.slug) == ("济源市", "Jiyuan", "jiyuan")
    # the bundled city plan states its issuer and number pattern (notice)
    assert names.issuer_zh == "济源市重污染天气应急指挥部"
    assert names.number(2016, 3) == "济重污应急〔2016〕3号"
    # without them: the defaults from the city's name
    names = city_names(city.model_copy(update={"notice": None}))
    assert names.number_prefix == "济环应急"
    assert names.number(2016, 3) == "济环应急〔2016〕3号"
    assert names.issuer_zh == "济源市重污染天气应急指挥部办公室"


def test_severity_per_level() -> None:
    assert SEVERITY == {
        "red": "Extreme",
        "orange": "Severe",
        "yellow": "Moderate",
        "blue": "Minor",
    }


@pytest.mark.parametrize("path", ["/public", "/public/notice/1"])
def test_public_pages_need_no_sign_in(
    client: TestClient, store: Store, clock: Clock, path: str
) -> None:
    consult(store, clock, ORANGE)
    answer = client.get(path, follow_redirects=False)
    assert answer.status_code == 200, answer.text
    assert "橙色" in answer.text


def test_the_notice_in_the_official_shape(client: TestClient, store: Store, clock: Clock) -> None:
    rid = consult(store, clock, ORANGE).response_id
    page = client.get(f"/public/notice/{rid}").text
    for part in (
        "关于发布重污染天气橙色预警的通知",
        "环应急〔2016〕1号",  # the small city has no Chinese name: J环应急
        "重污染天气应急指挥部办公室",
        "2016-12-16 00:00",
        "2016-12-20 00:00",
        "健康防护提示",
        "一厂一策",
        "/static/public.css",
    ):
        assert part in page, part
    css = client.get("/static/public.css").text
    assert "@media print" in css and "@page" in css
    assert client.get("/public/notice/999").status_code == 404
    assert client.get("/public/notice/0").status_code == 404
