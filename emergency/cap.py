"""CAP 1.2 (OASIS Common Alerting Protocol) messages and their Atom feed, built as XML trees
with the standard library's ElementTree (never by joining strings).

:func:`alert_element` turns one :class:`~emergency.service.public.CapMessage` into a CAP
``<alert>``: the header (identifier, sender, sent, status ``Actual``, msgType
``Alert``/``Update``/``Cancel``, scope ``Public``, references) and two ``<info>`` blocks,
``zh-CN`` and ``en-US``, each with the city's area as a polygon (the city plan's
``notice.area``, else the sources' bounding box) and its ``notice.geocode``.
:func:`atom_feed` lists the messages newest first, each entry carrying its alert inline.
docs/PUBLIC.md maps every field.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from emergency.cityplan import CityPlan
from emergency.names import label
from emergency.service.public import (
    KIND_EN,
    KIND_ZH,
    CapMessage,
    CityNames,
    PublicMeasures,
    cap_time,
    primary_label,
    public_measures,
)

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
CAP_MEDIA_TYPE = "application/cap+xml"
ATOM_MEDIA_TYPE = "application/atom+xml"

SEVERITY = {"red": "Extreme", "orange": "Severe", "yellow": "Moderate", "blue": "Minor"}
"""The warning level's CAP severity."""
EVENT_CODE = "AIR_POLLUTION"

ET.register_namespace("cap", CAP_NS)


@dataclass(frozen=True)
class CapContext:
    """What every message of a city shares: its names, plan and area."""

    city: CityNames
    plan: CityPlan
    polygon: list[tuple[float, float]]
    """closed ring of ``(lat, lon)``; [] for none (then only the area's description)"""
    web: str = ""
    """absolute URL of the public warning page ('' to leave ``<web>`` out)"""

    @property
    def geocode(self) -> tuple[str, str] | None:
        """``(valueName, value)`` of the city plan's ``notice.geocode``, if any."""
        notice = self.plan.notice
        if notice is None or notice.geocode is None:
            return None
        return notice.geocode.valueName, notice.geocode.value


def _sub(parent: ET.Element, tag: str, text: str | None = None, ns: str = CAP_NS) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ns}}}{tag}" if ns else tag)
    if text is not None:
        element.text = text
    return element


def _atom(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    """An Atom element (unqualified: the feed declares Atom as its default namespace)."""
    return _sub(parent, tag, text, ns="")


def urgency(message: CapMessage) -> str:
    """``Past`` for a release; ``Immediate`` once in force when sent, else ``Expected``."""
    if message.msg_type == "Cancel":
        return "Past"
    return "Immediate" if message.onset <= message.sent else "Expected"


def _local(value: dt.datetime) -> str:
    return cap_time(value)[:16].replace("T", " ")


def _days_zh(message: CapMessage) -> str:
    rows = []
    for d in message.days:
        if d.date < message.start or d.date > message.end:
            continue
        low, high = d.aqi_range or (d.aqi, d.aqi)
        rows.append(f"{d.date.isoformat()} AQI {low}–{high}，首要污染物 {primary_label(d.primary)}")
    return "；".join(rows)


def _days_en(message: CapMessage) -> str:
    rows = []
    for d in message.days:
        if d.date < message.start or d.date > message.end:
            continue
        low, high = d.aqi_range or (d.aqi, d.aqi)
        primary = primary_label(d.primary)
        rows.append(f"{d.date.isoformat()} AQI {low}-{high}, primary pollutant {primary}")
    return "; ".join(rows)


def texts(message: CapMessage, context: CapContext) -> dict[str, dict[str, str]]:
    """Event, headline, description and instruction per language (``zh``, ``en``)."""
    city = context.city
    level = message.level
    level_zh = label("level", level, "zh")
    policy = context.plan.levels.get(level)
    measures: PublicMeasures = public_measures(context.plan, level)
    period_zh = f"{_local(message.onset)} 至 {_local(message.expires)}"
    period_en = f"{_local(message.onset)} to {_local(message.expires)} (UTC+8)"
    cancel = message.msg_type == "Cancel"
    if cancel:
        headline_zh = f"{city.zh}解除重污染天气{level_zh}预警"
        headline_en = f"{city.en}: heavy air pollution {level} warning lifted"
        description_zh = f"{city.zh}于 {_local(message.sent)} 解除重污染天气{level_zh}预警。"
        description_en = (
            f"{city.en} lifted the heavy air pollution {level} warning"
            f" at {_local(message.sent)} (UTC+8)."
        )
        instruction_zh = "各项应急减排措施解除，恢复正常生产生活。"
        instruction_en = "The emergency measures are lifted; normal activity may resume."
    else:
        verb_zh = KIND_ZH.get(message.kind, "发布")
        verb_en = KIND_EN.get(message.kind, "issued")
        headline_zh = f"{city.zh}{verb_zh}重污染天气{level_zh}预警"
        headline_en = f"{city.en}: heavy air pollution {level} warning {verb_en}"
        description_zh = (
            "。".join(
                p for p in (f"预警时段：{period_zh}", _days_zh(message), message.reason_zh) if p
            )
            + "。"
        )
        description_en = (
            ". ".join(
                p for p in (f"In force {period_en}", _days_en(message), message.reason_en) if p
            )
            + "."
        )
        advice_zh = [policy.advice] if policy and policy.advice else []
        advice_en = [policy.advice_en] if policy and policy.advice_en else []
        instruction_zh = "；".join([*advice_zh, *measures.construction_zh])
        instruction_en = "; ".join([*advice_en, *measures.construction_en])
    return {
        "zh": {
            "event": f"重污染天气{level_zh}预警",
            "headline": headline_zh,
            "description": description_zh,
            "instruction": instruction_zh,
            "sender_name": city.issuer_zh,
            "area": city.zh,
        },
        "en": {
            "event": f"Heavy air pollution {level} warning",
            "headline": headline_en,
            "description": description_en,
            "instruction": instruction_en,
            "sender_name": city.issuer_en,
            "area": city.en,
        },
    }


def alert_element(message: CapMessage, context: CapContext) -> ET.Element:
    """The CAP 1.2 ``<alert>`` of one message."""
    alert = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(alert, "identifier", message.identifier)
    _sub(alert, "sender", message.sender)
    _sub(alert, "sent", cap_time(message.sent))
    _sub(alert, "status", "Actual")
    _sub(alert, "msgType", message.msg_type)
    _sub(alert, "scope", "Public")
    if message.references:
        _sub(alert, "references", " ".join(m.reference for m in message.references))
    _sub(alert, "incidents", f"{context.city.urn}:response-{message.response_id}")
    words = texts(message, context)
    for lang, language in (("zh", "zh-CN"), ("en", "en-US")):
        text = words[lang]
        info = _sub(alert, "info")
        _sub(info, "language", language)
        _sub(info, "category", "Env")
        _sub(info, "event", text["event"])
        _sub(info, "responseType", "AllClear" if message.msg_type == "Cancel" else "Avoid")
        _sub(info, "urgency", urgency(message))
        _sub(info, "severity", SEVERITY.get(message.level, "Unknown"))
        _sub(info, "certainty", "Observed" if message.msg_type == "Cancel" else "Likely")
        code = _sub(info, "eventCode")
        _sub(code, "valueName", "emergency:event")
        _sub(code, "value", EVENT_CODE)
        _sub(info, "effective", cap_time(message.sent))
        _sub(info, "onset", cap_time(message.onset))
        _sub(info, "expires", cap_time(message.expires))
        _sub(info, "senderName", text["sender_name"])
        _sub(info, "headline", text["headline"])
        _sub(info, "description", text["description"])
        if text["instruction"]:
            _sub(info, "instruction", text["instruction"])
        if context.web:
            _sub(info, "web", context.web)
        parameter = _sub(info, "parameter")
        _sub(parameter, "valueName", "emergency:level")
        _sub(parameter, "value", message.level)
        area = _sub(info, "area")
        _sub(area, "areaDesc", text["area"])
        if len(context.polygon) >= 4:
            _sub(area, "polygon", " ".join(f"{lat:.4f},{lon:.4f}" for lat, lon in context.polygon))
        if context.geocode is not None:
            geocode = _sub(area, "geocode")
            _sub(geocode, "valueName", context.geocode[0])
            _sub(geocode, "value", context.geocode[1])
    return alert


def alert_xml(message: CapMessage, context: CapContext) -> bytes:
    """The message as a UTF-8 XML document."""
    alert = alert_element(message, context)
    ET.indent(alert)
    return ET.tostring(alert, encoding="utf-8", xml_declaration=True, default_namespace=CAP_NS)


def atom_feed(
    messages: list[CapMessage], context: CapContext, *, self_url: str, cap_url: str
) -> bytes:
    """An Atom feed of ``messages``, newest first; each entry links to its CAP message
    (``{cap_url}/{identifier}``) and carries it inline as ``application/cap+xml``."""
    # Atom's names are written unqualified under a literal default namespace declaration
    # (ElementTree's default_namespace cannot serialise the unqualified attributes);
    # the inline alerts keep their qualified CAP names (prefix cap:).
    feed = ET.Element("feed", {"xmlns": ATOM_NS})
    ordered = sorted(messages, key=lambda m: (m.sent, m.identifier), reverse=True)
    city = context.city
    _atom(feed, "id", f"{city.urn}:feed")
    _atom(feed, "title", f"{city.zh}重污染天气预警 {city.en} heavy air pollution warnings")
    updated = ordered[0].sent if ordered else dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    _atom(feed, "updated", cap_time(updated))
    author = _atom(feed, "author", None)
    _atom(author, "name", city.issuer_zh)
    link = _atom(feed, "link", None)
    link.set("rel", "self")
    link.set("href", self_url)
    for message in ordered:
        words = texts(message, context)
        entry = _atom(feed, "entry", None)
        _atom(entry, "id", message.identifier)
        _atom(entry, "title", f"{words['zh']['headline']} / {words['en']['headline']}")
        _atom(entry, "updated", cap_time(message.sent))
        _atom(entry, "published", cap_time(message.sent))
        _atom(entry, "summary", words["zh"]["description"])
        alt = _atom(entry, "link", None)
        alt.set("rel", "alternate")
        alt.set("type", CAP_MEDIA_TYPE)
        alt.set("href", f"{cap_url}/{message.identifier}")
        content = _atom(entry, "content", None)
        content.set("type", CAP_MEDIA_TYPE)
        content.append(alert_element(message, context))
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


__all__ = [
    "ATOM_MEDIA_TYPE",
    "ATOM_NS",
    "CAP_MEDIA_TYPE",
    "CAP_NS",
    "SEVERITY",
    "CapContext",
    "alert_element",
    "alert_xml",
    "atom_feed",
    "texts",
    "urgency",
]
