"""What the public is told: the warning page, the CAP message sequence, the formal notice.

Read-only views over the stored responses and their plan versions (no credentials):

- :func:`public_page` — the warning in force with its forecast days, the city plan's health
  advice and the measures that touch the public (schools, traffic, construction), the
  episodes to come and this winter's warnings;
- :func:`cap_messages` — every warning change as one CAP message (open → ``Alert``;
  upgrade, downgrade, extension, shortening → ``Update``; release → ``Cancel``), each
  referencing the earlier messages of the same warning, with deterministic identifiers
  (derived from the response id and the plan version number);
- :func:`warning_notice` — the formal warning notice (预警发布通知) of one response.

Times are the stored ones (when the plan version was written, when the response was
released), never the wall clock; "today" is the store's clock.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from emergency import NORMAL
from emergency.cityplan import CityPlan
from emergency.names import label
from emergency.service.errors import NotFound
from emergency.service.periods import ends_at, starts_at
from emergency.service.planning import loaded_data
from emergency.service.responses import public_warning
from emergency.service.views import PublicWarning
from emergency.settings import CITY_OFFSET
from emergency.solution import WarningDay
from emergency.store.db import store_of
from emergency.store.models import Response, ResponsePlanRow

CHANGE_REASONS = frozenset(
    {"opened", "key period", "upgraded", "downgraded", "extended", "shortened"}
)
"""Plan versions that change the warning (an override changes the list, not the warning)."""

KIND_ZH = {
    "opened": "发布",
    "upgraded": "升级",
    "downgraded": "降级",
    "extended": "延长",
    "shortened": "缩短",
    "released": "解除",
}
KIND_EN = {
    "opened": "issued",
    "upgraded": "upgraded",
    "downgraded": "downgraded",
    "extended": "extended",
    "shortened": "shortened",
    "released": "lifted",
}

PRIMARY_LABELS = {
    "pm25": "PM2.5",
    "pm10": "PM10",
    "so2": "SO₂",
    "no2": "NO₂",
    "co": "CO",
    "o3": "O₃",
    "o3_8h": "O₃",
    "o3_1h": "O₃",
}

SCHOOL_WORDS = re.compile(r"中小学|幼儿园|学校|停课|school|kindergarten", re.IGNORECASE)
TRAFFIC_WORDS = re.compile(
    r"机动车|限行|交通|出行|traffic|transport|vehicle|driving", re.IGNORECASE
)
CONSTRUCTION_WORDS = re.compile(r"施工|工地|土石方|construction|building site", re.IGNORECASE)


# ----------------------------------------------------------------------------- the city


@dataclass(frozen=True)
class CityNames:
    """The city's names as the public documents use them: from the city plan's ``name``,
    and from its ``notice`` where the city states them (issuer, number pattern, sender)."""

    full: str
    """the city plan's name as written (``济源市 Jiyuan``)"""
    zh: str
    en: str
    slug: str
    """ASCII key for identifiers (``jiyuan``)"""
    issuer: str | None = None
    """``notice.issuer`` of the city plan (None: the default from the name)"""
    issuer_english: str | None = None
    """``notice.issuer_en``"""
    number_pattern_given: str | None = None
    """``notice.number``: ``济重污应急〔{year}〕{seq}号``"""
    cap_sender: str | None = None
    """``notice.sender``"""

    @property
    def issuer_zh(self) -> str:
        return self.issuer or f"{self.zh}重污染天气应急指挥部办公室"

    @property
    def issuer_en(self) -> str:
        return self.issuer_english or f"{self.en} Heavy Air Pollution Emergency Command Office"

    @property
    def urn(self) -> str:
        """``urn:emergency:{slug}``: the base of the CAP identifiers and of the feed's id
        (whatever the sender, so an identifier never changes when a sender is stated)."""
        return f"urn:emergency:{self.slug}"

    @property
    def sender(self) -> str:
        """CAP ``sender``: ``notice.sender``, else the URN (no spaces, commas or reserved
        characters)."""
        return self.cap_sender or self.urn

    @property
    def number_prefix(self) -> str:
        """``济环应急``: the first character of the city's name, 环 (environment), 应急."""
        return f"{self.zh[:1]}环应急"

    @property
    def number_pattern(self) -> str:
        """The notice number pattern: ``notice.number``, else ``济环应急〔{year}〕{seq}号``."""
        return self.number_pattern_given or f"{self.number_prefix}〔{{year}}〕{{seq}}号"

    def number(self, year: int, seq: int) -> str:
        """The notice number of the ``seq``-th notice of ``year``."""
        return self.number_pattern.format(year=year, seq=seq)


def city_names(city: CityPlan, key: str = "city") -> CityNames:
    """Split ``济源市 Jiyuan`` into its Chinese and English parts; take the issuer, the
    number pattern and the CAP sender from the plan's ``notice`` where it gives them."""
    name = city.name.strip()
    zh = "".join(ch for ch in name if ord(ch) > 0x2E7F).strip() or name
    en = " ".join(w for w in re.split(r"\s+", name) if w.isascii()).strip() or name
    slug = re.sub(r"[^a-z0-9]+", "-", en.lower()).strip("-") or re.sub(
        r"[^a-z0-9]+", "-", key.lower()
    ).strip("-")
    notice = city.notice
    return CityNames(
        full=name,
        zh=zh,
        en=en,
        slug=slug or "city",
        issuer=notice.issuer if notice else None,
        issuer_english=notice.issuer_en if notice else None,
        number_pattern_given=notice.number if notice else None,
        cap_sender=notice.sender if notice else None,
    )


def city_area(city: CityPlan, sources: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The CAP polygon, a closed ring of ``(lat, lon)``: the plan's ``notice.area``, else the
    bounding box of the ``(lon, lat)`` of the sources (:func:`bounding_polygon`)."""
    if city.notice is not None and city.notice.area:
        return city.notice.ring()
    return bounding_polygon(sources)


def bounding_polygon(
    points: list[tuple[float, float]], margin: float = 0.02
) -> list[tuple[float, float]]:
    """A closed rectangle ``[(lat, lon), ...]`` around ``(lon, lat)`` points, with a margin
    in degrees so that no source lies on its edge; [] without points."""
    if not points:
        return []
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    south = max(-90.0, min(lats) - margin)
    north = min(90.0, max(lats) + margin)
    west = max(-180.0, min(lons) - margin)
    east = min(180.0, max(lons) + margin)
    return [(south, west), (north, west), (north, east), (south, east), (south, west)]


# ----------------------------------------------------------------------------- public measures


@dataclass
class PublicMeasures:
    """The parts of the city plan's level policy that touch the public, per topic."""

    schools_zh: list[str] = field(default_factory=list)
    schools_en: list[str] = field(default_factory=list)
    traffic_zh: list[str] = field(default_factory=list)
    traffic_en: list[str] = field(default_factory=list)
    construction_zh: list[str] = field(default_factory=list)
    construction_en: list[str] = field(default_factory=list)

    def topics(self) -> list[tuple[str, list[str], list[str]]]:
        """``(title, zh clauses, en clauses)`` of the topics that have anything."""
        rows = [
            ("学校 Schools", self.schools_zh, self.schools_en),
            ("交通 Traffic", self.traffic_zh, self.traffic_en),
            ("施工 Construction", self.construction_zh, self.construction_en),
        ]
        return [row for row in rows if row[1] or row[2]]


def clauses(text: str | None) -> list[str]:
    """A piece of advice cut into its clauses (at ；; 。 and sentence ends)."""
    if not text:
        return []
    parts = re.split(r"[；;。]|\.\s+|\.$", text)
    return [p.strip(" ，,") for p in parts if p.strip(" ，,")]


def public_measures(city: CityPlan, level: str | None) -> PublicMeasures:
    """Schools and traffic from the level's advice (the clauses naming them), construction
    from the advice and the city's default measure for building sites at the level."""
    out = PublicMeasures()
    if not level or level not in city.levels:
        return out
    policy = city.levels[level]
    for text, zh in ((policy.advice, True), (policy.advice_en, False)):
        for clause in clauses(text):
            for words, topic in (
                (SCHOOL_WORDS, "schools"),
                (TRAFFIC_WORDS, "traffic"),
                (CONSTRUCTION_WORDS, "construction"),
            ):
                if words.search(clause):
                    getattr(out, f"{topic}_{'zh' if zh else 'en'}").append(clause)
    site = city.defaults.get("site")
    if site is not None:
        measure_id = site.levels.get(level)
        measure = next((m for m in site.measures if m.id == measure_id), None)
        if measure is not None:
            out.construction_zh.append(f"建筑工地：{measure.name or measure.id}")
            out.construction_en.append(
                f"Construction sites: the city's {level} measure ({measure.id})"
            )
    return out


# ----------------------------------------------------------------------------- winter


def winter(today: dt.date) -> tuple[dt.date, dt.date]:
    """The heating season (15 Nov – 15 Mar) that ``today`` is in, or the last one before."""
    year = today.year if today >= dt.date(today.year, 11, 15) else today.year - 1
    return dt.date(year, 11, 15), dt.date(year + 1, 3, 15)


# ----------------------------------------------------------------------------- history


@dataclass
class WarningItem:
    """One warning (response) of the winter, as the public sees it."""

    id: int
    level: str
    start: dt.date
    end: dt.date
    start_at: dt.datetime
    end_at: dt.datetime | None
    status: str
    opened_at: dt.datetime
    released_at: dt.datetime | None
    key_period: bool
    number: str
    """the notice's number, ``济环应急〔2016〕1号`` (or the city plan's ``notice.number``)"""


def _responses(session: Session) -> list[Response]:
    city = store_of(session).config.city
    return list(
        session.scalars(select(Response).where(Response.city == city).order_by(Response.id))
    )


def _numbers(responses: list[Response], names: CityNames) -> dict[int, str]:
    """Each response's notice number from the city's pattern (:attr:`CityNames.number`):
    ``year`` the year in which it was opened (city time), ``seq`` 1 + the responses of the
    city opened that year before it (in the order of their ids, the order of opening). A
    later response never renumbers an earlier one."""
    out: dict[int, str] = {}
    count: dict[int, int] = {}
    for r in sorted(responses, key=lambda r: r.id):
        year = r.opened_at.astimezone(CITY_OFFSET).year
        count[year] = count.get(year, 0) + 1
        out[r.id] = names.number(year, count[year])
    return out


def _item(r: Response, number: str) -> WarningItem:
    return WarningItem(
        id=r.id,
        level=r.level,
        start=r.start,
        end=r.end,
        start_at=starts_at(r.start, r.warning),
        end_at=ends_at(r.end),
        status=r.status,
        opened_at=r.opened_at,
        released_at=r.released_at,
        key_period=r.key_period is not None,
        number=number,
    )


# ----------------------------------------------------------------------------- the page


@dataclass
class PublicPage:
    city: CityNames
    warning: PublicWarning
    today: dt.date
    response_id: int | None
    end_at: dt.datetime | None
    days: list[WarningDay]
    measures: PublicMeasures
    history: list[WarningItem]
    winter_start: dt.date
    winter_end: dt.date
    reason_zh: str = ""
    reason_en: str = ""


def public_page(session: Session) -> PublicPage:
    """Everything the public warning page shows (read-only)."""
    warning = public_warning(session)
    dataset = loaded_data(session).dataset
    config = store_of(session).config
    names = city_names(dataset.city, config.city)
    today = config.today()
    first, last = winter(today)
    responses = _responses(session)
    numbers = _numbers(responses, names)
    history = [
        _item(r, numbers[r.id]) for r in reversed(responses) if r.end >= first and r.start <= last
    ]
    current = next((r for r in responses if r.status == "open"), None)
    days: list[WarningDay] = []
    reason_zh = reason_en = ""
    if current is not None:
        stored = current.warning
        days = [WarningDay.model_validate(d) for d in stored.get("days", [])]
        reason_en = str(stored.get("reason") or "")
        reason_zh = str(stored.get("reason_zh") or "")
    return PublicPage(
        city=names,
        warning=warning,
        today=today,
        response_id=current.id if current is not None else None,
        end_at=ends_at(current.end) if current is not None else None,
        days=days,
        measures=public_measures(dataset.city, warning.level),
        history=history,
        winter_start=first,
        winter_end=last,
        reason_zh=reason_zh,
        reason_en=reason_en,
    )


# ----------------------------------------------------------------------------- CAP


@dataclass
class CapMessage:
    """One CAP message of the sequence: a warning opened, changed or released."""

    identifier: str
    sender: str
    sent: dt.datetime
    msg_type: str
    """``Alert``, ``Update`` or ``Cancel``"""
    kind: str
    """``opened``, ``upgraded``, ``downgraded``, ``extended``, ``shortened``, ``released``"""
    response_id: int
    level: str
    start: dt.date
    end: dt.date
    onset: dt.datetime
    expires: dt.datetime
    days: list[WarningDay]
    reason_zh: str
    reason_en: str
    references: list[CapMessage] = field(default_factory=list)

    @property
    def reference(self) -> str:
        """``sender,identifier,sent`` as another message's ``references`` names this one."""
        return f"{self.sender},{self.identifier},{cap_time(self.sent)}"


def cap_time(value: dt.datetime) -> str:
    """CAP's dateTime: city time, whole seconds, explicit offset (``2016-12-15T10:00:00+08:00``)."""
    return value.astimezone(CITY_OFFSET).replace(microsecond=0).isoformat()


def _signature(w: Mapping[str, Any], response: Response) -> tuple[str, str, str]:
    return (
        str(w.get("level") or response.level),
        str(w.get("start") or response.start.isoformat()),
        str(w.get("end") or response.end.isoformat()),
    )


def cap_messages(session: Session) -> list[CapMessage]:
    """Every warning change of the city as a CAP message, oldest first."""
    dataset = loaded_data(session).dataset
    names = city_names(dataset.city, store_of(session).config.city)
    sender = names.sender
    base = names.urn  # identifiers keep the URN whatever the sender
    messages: list[CapMessage] = []
    for response in _responses(session):
        rows = session.scalars(
            select(ResponsePlanRow)
            .where(ResponsePlanRow.response_id == response.id)
            .order_by(ResponsePlanRow.number)
        )
        chain: list[CapMessage] = []
        last_sig: tuple[str, str, str] | None = None
        last_warning: Mapping[str, Any] = response.warning
        for row in rows:
            if row.reason not in CHANGE_REASONS:
                continue
            w: Mapping[str, Any] = row.plan.get("warning") or response.warning
            sig = _signature(w, response)
            if sig == last_sig:
                continue
            level, start_s, end_s = sig
            start = dt.date.fromisoformat(start_s)
            if not chain:
                start = max(start, response.start)  # the days already behind were not planned
            end = dt.date.fromisoformat(end_s)
            kind = "opened" if not chain else row.reason
            if kind == "key period":
                kind = "upgraded"  # a key period raising the level of a warning in force
            chain.append(
                CapMessage(
                    identifier=f"{base}:response-{response.id}:v{row.number}",
                    sender=sender,
                    sent=row.created_at,
                    msg_type="Alert" if not chain else "Update",
                    kind=kind,
                    response_id=response.id,
                    level=level,
                    start=start,
                    end=end,
                    onset=starts_at(start, w),
                    expires=ends_at(end) or starts_at(start, w),
                    days=[WarningDay.model_validate(d) for d in w.get("days", [])],
                    reason_zh=str(w.get("reason_zh") or ""),
                    reason_en=str(w.get("reason") or ""),
                    references=list(chain),
                )
            )
            last_sig, last_warning = sig, w
        if response.released_at is not None and chain:
            previous = chain[-1]
            chain.append(
                CapMessage(
                    identifier=f"{base}:response-{response.id}:released",
                    sender=sender,
                    sent=response.released_at,
                    msg_type="Cancel",
                    kind="released",
                    response_id=response.id,
                    level=previous.level,
                    start=previous.start,
                    end=previous.end,
                    onset=response.released_at,
                    expires=max(response.released_at, previous.expires),
                    days=previous.days,
                    reason_zh=str(last_warning.get("reason_zh") or ""),
                    reason_en=str(last_warning.get("reason") or ""),
                    references=list(chain),
                )
            )
        messages.extend(chain)
    return messages


def current_cap(session: Session) -> CapMessage:
    """The current alert: the latest message (of the open warning, else the last Cancel)."""
    messages = cap_messages(session)
    if not messages:
        raise NotFound("no warning has been issued yet / 尚未发布预警")
    return max(messages, key=lambda m: (m.sent, m.response_id, m.msg_type == "Cancel"))


def cap_message(session: Session, identifier: str) -> CapMessage:
    """One message of the sequence by its identifier (404 if there is none)."""
    for message in cap_messages(session):
        if message.identifier == identifier:
            return message
    raise NotFound(f"no CAP message {identifier}")


# ----------------------------------------------------------------------------- the notice


@dataclass
class WarningNotice:
    """The formal warning notice (预警发布通知) of one response."""

    city: CityNames
    item: WarningItem
    title_zh: str
    title_en: str
    issued_at: dt.datetime
    days: list[WarningDay]
    reason_zh: str
    reason_en: str
    advice_zh: str
    advice_en: str
    measures: PublicMeasures
    sources: int
    """sources on the emergency list with a measure beyond normal operation"""


def warning_notice(session: Session, response_id: int) -> WarningNotice:
    """The notice of response ``response_id`` (404 if there is none)."""
    dataset = loaded_data(session).dataset
    config = store_of(session).config
    names = city_names(dataset.city, config.city)
    responses = _responses(session)
    response = next((r for r in responses if r.id == response_id), None)
    if response is None:
        raise NotFound(f"no warning {response_id}")
    numbers = _numbers(responses, names)
    first_row = session.scalar(
        select(ResponsePlanRow)
        .where(ResponsePlanRow.response_id == response.id)
        .order_by(ResponsePlanRow.number)
        .limit(1)
    )
    w = response.warning
    level_zh = label("level", response.level, "zh")
    policy = dataset.city.levels.get(response.level)
    sources = 0
    latest = session.scalar(
        select(ResponsePlanRow.plan)
        .where(ResponsePlanRow.response_id == response.id)
        .order_by(ResponsePlanRow.number.desc())
        .limit(1)
    )
    if latest:
        sources = len(
            {
                str(a.get("source"))
                for a in latest.get("assignments", [])
                if isinstance(a, dict) and a.get("measure") not in (None, "", NORMAL)
            }
        )
    return WarningNotice(
        city=names,
        item=_item(response, numbers[response.id]),
        title_zh=f"关于发布重污染天气{level_zh}预警的通知",
        title_en=f"Notice on issuing the heavy air pollution {response.level} warning",
        issued_at=first_row.created_at if first_row is not None else response.opened_at,
        days=[WarningDay.model_validate(d) for d in w.get("days", [])],
        reason_zh=str(w.get("reason_zh") or ""),
        reason_en=str(w.get("reason") or ""),
        advice_zh=policy.advice if policy else "",
        advice_en=(policy.advice_en or "") if policy else "",
        measures=public_measures(dataset.city, response.level),
        sources=sources,
    )


def primary_label(keys: list[str]) -> str:
    """``PM2.5`` (several joined with ``、``); ``–`` for none."""
    return "、".join(PRIMARY_LABELS.get(k, k.upper()) for k in keys) or "–"


__all__ = [
    "CapMessage",
    "CityNames",
    "PublicMeasures",
    "PublicPage",
    "WarningItem",
    "WarningNotice",
    "bounding_polygon",
    "cap_message",
    "cap_messages",
    "cap_time",
    "city_area",
    "city_names",
    "current_cap",
    "primary_label",
    "public_measures",
    "public_page",
    "warning_notice",
    "winter",
]
