"""CAP 1.2 alerts and their Atom feed, validated against the official OASIS CAP 1.2 XSD
(tests/data/cap-v1.2.xsd, see tests/data/README.md) with xmlschema; the sequence of
messages over a warning's life (open → upgrade → release) and the formal notice; what the
public page ``/public`` says (period with its hours, the forecast per day, advice, the
measures that touch the public, episodes to come, the winter's warnings), in Chinese with
English, read from its HTML."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from fastapi.testclient import TestClient

from api.main import create_app
from emergency.cap import ATOM_NS, CAP_NS, SEVERITY
from emergency.service import consult as consultations
from emergency.service.access import Actor, Role
from emergency.service.enterprises import open_store
from emergency.service.public import city_names
from emergency.settings import Settings
from emergency.store.db import Store
from tests.api.conftest import ORANGE, RED, Clock, at_issue, forecast
from tests.datafiles import small_city, write_small_dataset

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


# ----------------------------------------------------------------------------- /public


@dataclass
class Node:
    """An element of a parsed page: tag, attributes, children (elements and text)."""

    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        """The element's text, whitespace collapsed."""
        parts: list[str] = []

        def walk(node: Node) -> None:
            for child in node.children:
                parts.append(child) if isinstance(child, str) else walk(child)

        walk(self)
        return " ".join("".join(parts).split())

    def all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        """The descendants with ``tag`` whose attributes hold ``attrs`` (``class_`` is one
        of the classes), in document order."""
        found: list[Node] = []
        for child in self.children:
            if isinstance(child, str):
                continue
            ok = tag is None or child.tag == tag
            for key, value in attrs.items():
                if key == "class_":
                    ok = ok and value in child.attrs.get("class", "").split()
                else:
                    ok = ok and child.attrs.get(key) == value
            if ok:
                found.append(child)
            found.extend(child.all(tag, **attrs))
        return found

    def one(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.all(tag, **attrs)
        assert len(found) == 1, (tag, attrs, [f.text() for f in found])
        return found[0]


class _Tree(HTMLParser):
    VOID = frozenset({"meta", "link", "br", "img", "input", "hr"})

    def __init__(self) -> None:
        super().__init__()
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def page(client: TestClient, path: str = "/public") -> Node:
    answer = client.get(path, follow_redirects=False)  # no sign-in, no token
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    tree = _Tree()
    tree.feed(answer.text)
    tree.close()
    return tree.root


def section(root: Node, title_id: str) -> Node:
    """The ``<section>`` labelled by heading ``title_id``."""
    return root.one("section", **{"aria-labelledby": title_id})


def bilingual_city() -> dict[str, Any]:
    """The small city with English advice, and advice that names schools and traffic."""
    city = small_city()
    city["levels"]["yellow"]["advice"] = "减少户外活动；中小学停止户外课程；机动车单双号限行"
    city["levels"]["yellow"]["advice_en"] = (
        "Reduce outdoor activity; schools stop outdoor lessons; odd-even traffic restrictions"
    )
    return city


@pytest.fixture
def bilingual(
    tmp_path: Path, db_url: str | None, clock: Clock
) -> Iterator[tuple[TestClient, Store]]:
    folder = write_small_dataset(tmp_path / "bilingual", city=bilingual_city())
    opened = open_store(folder, db_url, solver_time_limit_s=10.0, now=clock)
    try:
        app = create_app(Settings(data=folder, database_url=db_url), store=opened)
        with TestClient(app) as test_client:
            yield test_client, opened
    finally:
        opened.dispose()


TWO_EPISODES = {
    **forecast(
        dt.date(2016, 12, 16),
        [[230, 270], [240, 280], [120, 160], [110, 150], [230, 270], [240, 290], [250, 300]],
    ),
    "effective_at": "2016-12-16T12:00:00+08:00",
}
"""Issued 15 Dec 16:00, in force from noon on the 16th: two heavy days (yellow, 16–17 Dec),
two lighter ones, then three heavy days (orange, 20–22 Dec) — an episode to come."""
PRIMARY = ["pm25", "pm25", "pm10", "pm10", "pm25", "no2", "pm25"]
for _day, _primary in zip(TWO_EPISODES["days"], PRIMARY, strict=True):
    _day["primary"] = _primary


HEAVY, MODERATE, LIGHT = (
    "重度污染 heavily polluted",
    "中度污染 moderately polluted",
    "轻度污染 lightly polluted",
)
"""The AQI band of a day, in both languages (of its range's upper end: HJ 633's bands)."""


def test_the_public_page_states_period_forecast_advice_measures_and_episodes(
    bilingual: tuple[TestClient, Store], clock: Clock
) -> None:
    client, store = bilingual
    result = consult(store, clock, TWO_EPISODES)
    assert (result.action, result.warning.level) == ("opened", "yellow")
    root = page(client)

    level = root.one("section", id="level")
    assert "level-yellow" in level.attrs["class"].split()
    assert level.one("h2").text() == "黄色 Yellow 预警 warning in force"
    # start and end with the hour: from noon (the forecast's effective_at) to 24:00 of 17 Dec
    times = level.all("time")
    assert [(t.attrs["datetime"], t.text()) for t in times] == [
        ("2016-12-16T12:00:00+08:00", "2016-12-16 12:00"),
        ("2016-12-18T00:00:00+08:00", "2016-12-18 00:00"),
    ]
    period = level.one("p", class_="period").text()
    assert period == "起 From 2016-12-16 12:00 至 Until 2016-12-18 00:00"
    assert level.one("p", class_="late").text().endswith("Issued at short notice: in force at once")
    assert level.one("p", class_="updated").text() == "更新 Updated: 2016-12-15 16:00"

    # the forecast per day: AQI range and primary pollutant, the level of the days that have one
    days = section(root, "days-title")
    assert days.one("h2").text() == "空气质量预报 Air quality forecast"
    rows = [
        (
            d.one(class_="date").text(),
            d.one(class_="aqi").text(),
            d.one(class_="cat").text(),
            d.one(class_="primary").text(),
            [b.text() for b in d.all(class_="badge")],
        )
        for d in days.all("li", class_="day")
    ]
    assert rows == [
        ("2016-12-16", "AQI 230–270", HEAVY, "首要污染物 Primary: PM2.5", ["黄色 Yellow"]),
        ("2016-12-17", "AQI 240–280", HEAVY, "首要污染物 Primary: PM2.5", ["黄色 Yellow"]),
        ("2016-12-18", "AQI 120–160", MODERATE, "首要污染物 Primary: PM10", []),
        ("2016-12-19", "AQI 110–150", LIGHT, "首要污染物 Primary: PM10", []),
        ("2016-12-20", "AQI 230–270", HEAVY, "首要污染物 Primary: PM2.5", ["橙色 Orange"]),
        ("2016-12-21", "AQI 240–290", HEAVY, "首要污染物 Primary: NO₂", ["橙色 Orange"]),
        ("2016-12-22", "AQI 250–300", HEAVY, "首要污染物 Primary: PM2.5", ["橙色 Orange"]),
    ]
    reason = days.one("p", class_="reason")
    assert "黄色预警" in reason.text() and "→ yellow" in reason.one("span", lang="en").text()

    advice = section(root, "advice-title")
    assert advice.one("h2").text() == "健康防护提示 Health advice"
    assert [(p.attrs.get("lang"), p.text()) for p in advice.all("p", class_="advice")] == [
        (None, "减少户外活动；中小学停止户外课程；机动车单双号限行"),
        (
            "en",
            "Reduce outdoor activity; schools stop outdoor lessons; odd-even traffic restrictions",
        ),
    ]

    measures = section(root, "measures-title")
    assert measures.one("h2").text() == "涉及公众的措施 Measures that affect the public"
    topics = {
        h.text(): [(li.attrs.get("lang"), li.text()) for li in ul.all("li")]
        for h, ul in zip(measures.all("h3"), measures.all("ul", class_="measures"), strict=True)
    }
    assert topics == {
        "学校 Schools": [(None, "中小学停止户外课程"), ("en", "schools stop outdoor lessons")],
        "交通 Traffic": [(None, "机动车单双号限行"), ("en", "odd-even traffic restrictions")],
        "施工 Construction": [
            (None, "建筑工地：停止土石方作业"),
            ("en", "Construction sites: the city's yellow measure (stop-earthwork)"),
        ],
    }

    coming = section(root, "coming-title")
    assert coming.one("h2").text() == "未来可能的污染过程 Episodes to come"
    assert [li.text() for li in coming.all("li")] == [
        "橙色 Orange 2016-12-20 – 2016-12-22，AQI 峰值 peak 300"
    ]

    history = section(root, "history-title")
    assert history.one("h2").text() == "本采暖季预警 This winter's warnings 2016-11-15 – 2017-03-15"
    (item,) = history.all("li")
    assert item.text().startswith("黄色 Yellow 2016-12-16 12:00 – 2016-12-18 00:00 执行中 In force")
    assert item.one("a").attrs["href"] == f"/public/notice/{result.response_id}"
    assert root.one("p", class_="links").one("a").attrs["href"] == item.one("a").attrs["href"]


def test_the_public_page_follows_the_warning_to_its_release(
    client: TestClient, store: Store, clock: Clock
) -> None:
    """Orange, then red (schools close, every building site stops), then released: the page
    says what is in force now, and the winter's list keeps the warning with its hours."""
    before = page(client)
    assert root_level(before) == "当前无预警 No warning in force"
    assert section(before, "coming-title").one("p").text() == "预报中暂无 None forecast"
    assert section(before, "history-title").one("p").text() == (
        "本采暖季尚无预警 No warning this winter"
    )
    assert not before.all("section", **{"aria-labelledby": "advice-title"})

    assert consult(store, clock, ORANGE).action == "opened"
    orange = page(client)
    assert root_level(orange) == "橙色 Orange 预警 warning in force"
    assert orange.one("p", class_="period").text() == (
        "起 From 2016-12-16 00:00 至 Until 2016-12-20 00:00"
    )
    assert [d.one(class_="aqi").text() for d in orange.all("li", class_="day")][:4] == [
        "AQI 210–260",
        "AQI 240–290",
        "AQI 250–300",
        "AQI 190–240",
    ]
    assert section(orange, "advice-title").one("p", class_="advice").text() == "停止户外活动"
    assert "学校 Schools" not in [h.text() for h in orange.all("h3")]

    assert consult(store, clock, RED).action == "upgraded"
    red = page(client)
    assert root_level(red) == "红色 Red 预警 warning in force"
    assert red.one("p", class_="period").text() == (
        "起 From 2016-12-16 00:00 至 Until 2016-12-21 00:00"
    )
    assert section(red, "advice-title").one("p", class_="advice").text() == "中小学停课"
    measures = section(red, "measures-title")
    assert [h.text() for h in measures.all("h3")] == ["学校 Schools", "施工 Construction"]
    lines = [li.text() for li in measures.all("li")]
    assert lines == [
        "中小学停课",
        "建筑工地：全面停工",
        "Construction sites: the city's red measure (stop-all)",
    ]

    clean = forecast(dt.date(2016, 12, 18), [150, 120, 100], issued_at="2016-12-17T10:00:00+08:00")
    assert consult(store, clock, clean).action == "released"
    after = page(client)
    assert root_level(after) == "当前无预警 No warning in force"
    assert not after.all("section", **{"aria-labelledby": "measures-title"})
    (item,) = section(after, "history-title").all("li")
    # released on 17 Dec: the warning's last day is the day of its release
    assert item.text().startswith(
        "红色 Red 2016-12-16 00:00 – 2016-12-18 00:00 已解除 Lifted 2016-12-17 10:00"
    )


def root_level(root: Node) -> str:
    return root.one("section", id="level").one("h2").text()
