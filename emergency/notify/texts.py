"""What people read of a notification: the SMS (one segment, the essentials first) and the
email (Chinese, then English), both made from the JSON payload the webhooks get.

An SMS segment holds 70 Chinese characters, the sender's signature (``【…】``) included;
the text leads with who, what level, from when and which measure, then the period's end
and the request, and is cut (``…``) before it would need a second segment.
"""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from emergency.names import label
from emergency.settings import CITY_OFFSET

SMS_SEGMENT = 70
"""Characters in one SMS segment of Chinese text (UCS-2)."""

EVENT_ZH = {
    "order.issued": "应急减排指令下达",
    "order.superseded": "应急减排指令已替代",
    "order.lifted": "应急减排指令解除",
    "order.ack_overdue": "应急减排指令签收超时",
    "warning.opened": "发布重污染天气预警",
    "warning.upgraded": "预警升级",
    "warning.downgraded": "预警降级",
    "warning.extended": "预警延长",
    "warning.shortened": "预警缩短",
    "warning.released": "预警解除",
}
EVENT_EN = {
    "order.issued": "emergency order issued",
    "order.superseded": "emergency order superseded",
    "order.lifted": "emergency order lifted",
    "order.ack_overdue": "emergency order not acknowledged in time",
    "warning.opened": "heavy-pollution warning issued",
    "warning.upgraded": "warning upgraded",
    "warning.downgraded": "warning downgraded",
    "warning.extended": "warning extended",
    "warning.shortened": "warning shortened",
    "warning.released": "warning released",
}


def _day_zh(value: str | None) -> str:
    if not value:
        return "另行通知"
    day = _city_day(value)
    return f"{day.month}月{day.day}日"


def _city_day(value: str) -> dt.date:
    """A date, or the city's date of a time (``…T…+00:00``)."""
    if len(value) <= 10:
        return dt.date.fromisoformat(value)
    return dt.datetime.fromisoformat(value).astimezone(CITY_OFFSET).date()


def _day_en(value: str | None) -> str:
    return _city_day(value).isoformat() if value else "further notice"


def _level_zh(level: str | None) -> str:
    return f"{label('level', level)}预警" if level else "错峰生产"


def _level_en(level: str | None) -> str:
    return f"{level} warning" if level else "staggered production"


def fit(text: str, limit: int = SMS_SEGMENT) -> str:
    """``text`` cut to ``limit`` characters, the last one ``…`` when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sms_text(payload: dict[str, Any], sign: str = "") -> str:
    """The SMS of a notification: at most one segment, the essentials first."""
    event = str(payload.get("event", ""))
    if "order" in payload:
        o = payload["order"]
        who = o.get("source_name") or o.get("source") or ""
        head = f"{sign}{who}：第{o.get('id')}号指令"
        level = _level_zh(o.get("level"))
        start, end = _day_zh(o.get("start")), _day_zh(o.get("end"))
        measure = (o.get("measure") or {}).get("name") or ""
        if event == "order.issued":
            text = f"{head}，{level}，{start}起执行：{measure}，至{end}。请登录平台签收。"
            return (
                fit(text) if len(f"{head}，{level}，{start}起执行：") < SMS_SEGMENT else fit(head)
            )
        if event == "order.superseded":
            return fit(f"{head}已由第{o.get('superseded_by')}号指令替代，请查看并签收新指令。")
        if event == "order.lifted":
            return fit(f"{head}（{level}）已解除，可恢复正常生产。")
        if event == "order.ack_overdue":
            return fit(f"{head}（{level}，{start}起）超过签收时限仍未签收，请立即签收并执行。")
        return fit(f"{head}：{EVENT_ZH.get(event, event)}。")
    w = payload.get("warning") or {}
    city = payload.get("city_name") or ""
    what = EVENT_ZH.get(event, event)
    if event == "warning.released":
        return fit(
            f"{sign}{city}{what}（原{_level_zh(w.get('level'))}），{_day_zh(w.get('released_at'))}起。"
        )
    period = f"{_day_zh(w.get('start'))}至{_day_zh(w.get('end'))}"
    return fit(f"{sign}{city}{what}：{_level_zh(w.get('level'))}，{period}。请减少户外活动。")


def _lines(payload: dict[str, Any]) -> tuple[str, str, list[str], list[str]]:
    """Subject in Chinese and English, and the body's lines in each."""
    event = str(payload.get("event", ""))
    zh_what, en_what = EVENT_ZH.get(event, event), EVENT_EN.get(event, event)
    if "order" in payload:
        o = payload["order"]
        who = o.get("source_name") or o.get("source") or ""
        measure = (o.get("measure") or {}).get("name") or ""
        zh = [
            f"{who}（{o.get('source')}）：{zh_what}。",
            f"指令编号：{o.get('id')}",
            f"预警级别：{_level_zh(o.get('level'))}",
            f"执行期间：{_day_zh(o.get('start'))} 至 {_day_zh(o.get('end'))}",
            f"措施：{measure}",
            f"状态：{label('order_status', o.get('status'))}",
        ]
        if o.get("superseded_by"):
            zh.append(f"替代指令：{o['superseded_by']}")
        zh.append("请登录平台或通过接口签收指令，并按时报告执行情况。")
        en = [
            f"{o.get('source')}: {en_what}.",
            f"Order: {o.get('id')}",
            f"Level: {_level_en(o.get('level'))}",
            f"Period: {_day_en(o.get('start'))} to {_day_en(o.get('end'))}",
            f"Measure: {o.get('measure', {}).get('id')}",
            f"Status: {o.get('status')}",
        ]
        if o.get("superseded_by"):
            en.append(f"Superseded by order {o['superseded_by']}")
        en.append("Acknowledge the order on the platform or through the API and report on time.")
        subject_zh = f"{zh_what}：{who} 第{o.get('id')}号 {_level_zh(o.get('level'))}"
        subject_en = f"{en_what}: {o.get('source')} order {o.get('id')}"
        return subject_zh, subject_en, zh, en
    w = payload.get("warning") or {}
    city = payload.get("city_name") or ""
    zh = [
        f"{city}{zh_what}。",
        f"预警级别：{_level_zh(w.get('level'))}",
        f"预警期间：{_day_zh(w.get('start'))} 至 {_day_zh(w.get('end'))}",
    ]
    if w.get("reason_zh"):
        zh.append(f"原因：{w['reason_zh']}")
    en = [
        f"{city}: {en_what}.",
        f"Level: {_level_en(w.get('level'))}",
        f"Period: {_day_en(w.get('start'))} to {_day_en(w.get('end'))}",
    ]
    if w.get("reason"):
        en.append(f"Reason: {w['reason']}")
    subject_zh = f"{city}{zh_what}：{_level_zh(w.get('level'))}"
    return subject_zh, f"{city}: {en_what} ({_level_en(w.get('level'))})", zh, en


def email_message(
    payload: dict[str, Any], *, message_id: str, sender: str, to: str, at: dt.datetime
) -> EmailMessage:
    """The email of a notification: Chinese first, then English, then the payload's id.

    ``Message-ID`` is made from the notification's id, so a retry carries the same one
    (a mail client or a receiving script deduplicates on it)."""
    subject_zh, subject_en, zh, en = _lines(payload)
    message = EmailMessage()
    message["Subject"] = f"{subject_zh} / {subject_en}"
    message["From"] = sender
    message["To"] = to
    message["Date"] = formatdate(at.timestamp(), localtime=False)
    domain = sender.rpartition("@")[2].strip("> ") or "emergency.local"
    message["Message-ID"] = f"<{message_id}@{domain}>"
    message["X-Emergency-Delivery"] = message_id
    message["X-Emergency-Event"] = str(payload.get("event", ""))
    body = "\n".join([*zh, "", "——", "", *en, "", f"id: {message_id}"])
    message.set_content(body, charset="utf-8")
    return message


__all__ = ["SMS_SEGMENT", "email_message", "fit", "sms_text"]
