"""``GET /api/v1/names``: the codes' names from the one table, in the language asked for."""

from __future__ import annotations

from fastapi.testclient import TestClient

from emergency.inventory import INDUSTRIES
from emergency.names import NAMES


def test_names_follow_the_query_then_accept_language(client: TestClient) -> None:
    # the client fixture asks for English by default
    english = client.get("/api/v1/names")
    assert english.status_code == 200
    assert english.json()["lang"] == "en"
    assert english.json()["names"]["level"]["orange"] == "orange"
    chinese = client.get("/api/v1/names", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert chinese.json()["lang"] == "zh"
    names = chinese.json()["names"]
    assert names["industry"]["lead_zinc_smelting"] == "铅锌冶炼"
    assert names["order_status"]["acknowledged"] == "已签收"
    assert set(names["industry"]) == set(INDUSTRIES)
    assert {k: v for k, v in names.items() if k != "pollutant"} == NAMES["zh"]
    forced = client.get("/api/v1/names?lang=zh", headers={"Accept-Language": "en"})
    assert forced.json()["names"]["kind"]["site"] == "施工工地"
    assert client.get("/api/v1/names?lang=fr").status_code == 422
