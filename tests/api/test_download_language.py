"""``Accept-Language`` on the list downloads: Chinese headers for ``zh…``, English as before
otherwise."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api.downloads import download_language
from emergency.export import COLUMNS, HEADERS_ZH
from tests.api.conftest import ORANGE

API = "/api/v1"
Auth = dict[str, dict[str, str]]


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "en"),
        ("", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("en;q=0.5, zh-TW", "zh"),
        ("fr", "en"),
        ("zh;q=bad, en;q=0.1", "en"),
    ],
)
def test_download_language(header: str | None, lang: str) -> None:
    assert download_language(header) == lang


def test_the_list_in_chinese_on_request(client: TestClient, auth: Auth) -> None:
    r = client.post(f"{API}/consultations", json=ORANGE, headers=auth["planner"])
    assert r.status_code == 200, r.text
    rid = int(r.json()["response_id"])
    url = f"{API}/responses/{rid}/plan"
    zh = {**auth["planner"], "Accept-Language": "zh-CN,zh;q=0.9"}
    answer = client.get(f"{url}.csv", headers=zh)
    assert answer.status_code == 200 and answer.content.startswith(b"\xef\xbb\xbf")
    assert answer.content[3:].decode("utf-8").splitlines()[0].split(",") == [
        HEADERS_ZH[c] for c in COLUMNS
    ]
    english = client.get(f"{url}.csv", headers=auth["planner"])
    assert english.content.decode("utf-8").splitlines()[0] == ",".join(COLUMNS)
    book = load_workbook(io.BytesIO(client.get(f"{url}.xlsx", headers=zh).content))
    assert book.sheetnames == ["清单", "逐日", "概要"]
    assert book["清单"]["A1"].value == "企业编号"
