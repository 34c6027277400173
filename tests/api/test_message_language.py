"""The language of validation messages over HTTP (Chinese unless ``Accept-Language``
prefers English, the other language beside it) and the Chinese of every anomaly."""

from __future__ import annotations

import copy
import datetime as dt
import re
from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import ORANGE, Clock, at_issue

API = "/api/v1"
CJK = re.compile(r"[\u4e00-\u9fff]")


def bad_forecast(clock: Clock) -> dict[str, Any]:
    """A forecast with four problems: a negative AQI, an unknown field, a day out of order."""
    fc = copy.deepcopy(at_issue(clock, ORANGE))
    fc["days"][0]["aqi"] = -5
    fc["days"][1]["colour"] = "red"
    fc["days"][2]["date"] = "2016-12-25"
    return fc


def post(client: TestClient, auth: dict[str, dict[str, str]], body: Any, **headers: str) -> Any:
    # the fixture's client sends Accept-Language: en; "" stands for no preference
    sent = {**auth["consultation"], "Accept-Language": headers.get("lang", "")}
    return client.post(f"{API}/consultations", json=body, headers=sent)


def test_problems_are_chinese_without_a_preference_and_english_on_request(
    client: TestClient, auth: dict[str, dict[str, str]], clock: Clock
) -> None:
    zh = post(client, auth, bad_forecast(clock))
    assert zh.status_code == 400, zh.text
    body = zh.json()
    assert len(body["errors"]) == 4 and len(body["errors_en"]) == 4
    assert "须 ≥ 0，实为 -5" in body["detail"] and "未知字段" in body["detail"]
    assert "must be ≥ 0, got -5" in body["detail_en"] and "unknown field" in body["detail_en"]
    assert all(CJK.search(e) for e in body["errors"])
    assert any("days[1].colour: 未知字段" in e for e in body["errors"])  # the place as it was
    assert "detail_zh" not in body

    en = post(client, auth, bad_forecast(clock), lang="en-GB,en;q=0.9,zh;q=0.5")
    assert en.status_code == 400
    body = en.json()
    assert "must be ≥ 0, got -5" in body["detail"] and not CJK.search(body["detail"])
    assert body["errors"] == zh.json()["errors_en"]
    assert body["errors_zh"] == zh.json()["errors"]
    assert "须 ≥ 0" in body["detail_zh"]

    preferred = post(client, auth, bad_forecast(clock), lang="en;q=0.4, zh-CN;q=0.8")
    assert preferred.json()["detail"] == zh.json()["detail"]


def test_a_body_refused_by_its_model_says_why_in_both_languages(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    body = {"source": "JY-P001", "exempt": True, "reason": "x", "extra": 1}
    url = f"{API}/responses/1/overrides"
    headers = {**auth["planner"], "Accept-Language": ""}
    zh = client.post(url, json=body, headers=headers)
    assert zh.status_code == 422, zh.text
    error = next(e for e in zh.json()["detail"] if e["loc"][-1] == "extra")
    assert error["msg"] == "不允许的多余字段"
    assert error["msg_en"] == "Extra inputs are not permitted"
    en = client.post(url, json=body, headers={**auth["planner"], "Accept-Language": "en"})
    error = next(e for e in en.json()["detail"] if e["loc"][-1] == "extra")
    assert (
        error["msg"] == "Extra inputs are not permitted" and error["msg_zh"] == "不允许的多余字段"
    )


def test_every_anomaly_kind_has_its_chinese(
    client: TestClient, auth: dict[str, dict[str, str]], clock: Clock
) -> None:
    planner, company = auth["planner"], auth["enterprise"]
    opened = client.post(
        f"{API}/consultations", json=at_issue(clock, ORANGE), headers=auth["consultation"]
    )
    assert opened.status_code == 200, opened.text
    rid = opened.json()["response_id"]
    assert client.post(f"{API}/responses/{rid}/approve", headers=planner).status_code == 200
    order = client.get(f"{API}/orders", headers=company).json()[0]
    clock.advance(hours=3)  # past the city's deadline (2 h): late
    assert client.post(f"{API}/orders/{order['id']}/ack", headers=company).status_code == 200
    clock.now = dt.datetime(2016, 12, 16, 9, 30, tzinfo=dt.UTC)
    report = {
        "at": "2016-12-16T17:00:00+08:00",
        "load": 0.95,
        "electricity_kwh": 120000,
        "baseline_electricity_kwh": 130000,
    }
    r = client.post(f"{API}/orders/{order['id']}/reports", json=report, headers=company)
    assert r.status_code == 201, r.text
    view = client.get(f"{API}/compliance", params={"response": rid}, headers=auth["inspector"])
    anomalies = view.json()["anomalies"]
    # the report came at 17:30, after the city's report_by (17:00): late; the plant's
    # meters sent nothing (no baseline)
    kinds = {"load", "electricity", "ack_late", "ack_overdue", "report_missed", "meter_missing"}
    assert {a["kind"] for a in anomalies} == kinds
    words = {
        "load": "报告负荷",
        "electricity": "用电量",
        "ack_late": "签收晚于时限",
        "ack_overdue": "未签收",
        "report_missed": "日报",
        "meter_missing": "电表",
    }
    for a in anomalies:
        assert words[a["kind"]] in a["message_zh"], a
        assert not re.search(r"\b(acknowledged|above|reported|within|baseline)\b", a["message_zh"])
        assert a["message"] and not CJK.search(a["message"])


def test_a_404_says_what_is_missing_in_the_language_asked_with_the_other_beside(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    url = f"{API}/responses/99"
    zh = client.get(url, headers={**auth["planner"], "Accept-Language": ""})
    assert zh.status_code == 404, zh.text
    assert zh.json() == {"detail": "未找到应急响应 99", "detail_en": "response 99 not found"}
    en = client.get(url, headers={**auth["planner"], "Accept-Language": "en-US,en;q=0.9"})
    assert en.status_code == 404
    assert en.json() == {"detail": "response 99 not found", "detail_zh": "未找到应急响应 99"}
    # a path no route serves: FastAPI's own 404, in the same shape
    nowhere = client.get(f"{API}/nowhere", headers={"Accept-Language": ""})
    assert nowhere.status_code == 404
    assert nowhere.json() == {"detail": "未找到", "detail_en": "Not Found"}
    nowhere = client.get(f"{API}/nowhere")  # the fixture's client asks for English
    assert nowhere.json() == {"detail": "Not Found", "detail_zh": "未找到"}


def test_401_and_403_in_chinese_by_default_and_english_on_request(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    zh = client.get(f"{API}/orders", headers={"Accept-Language": ""})
    assert zh.status_code == 401 and zh.headers["www-authenticate"] == "Bearer"
    assert zh.json() == {"detail": "缺少 Bearer 令牌", "detail_en": "missing bearer token"}
    en = client.get(f"{API}/orders", headers={"Authorization": "Bearer nope"})
    assert en.status_code == 401
    assert en.json() == {"detail": "invalid or revoked token", "detail_zh": "令牌无效或已撤销"}

    refused = client.get(f"{API}/audit", headers={**auth["enterprise"], "Accept-Language": ""})
    assert refused.status_code == 403, refused.text
    body = refused.json()
    assert body["detail"].startswith("角色 'enterprise' 无权执行 "), body
    assert body["detail_en"].startswith("role 'enterprise' may not do "), body
    assert CJK.search(body["detail"]) and not CJK.search(body["detail_en"])
    refused = client.get(f"{API}/audit", headers=auth["enterprise"])
    assert refused.json()["detail"] == body["detail_en"]
    assert refused.json()["detail_zh"] == body["detail"]
