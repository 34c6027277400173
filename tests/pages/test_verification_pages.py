"""预报检验 The verification page (TestClient): who may see it, the scores of the
hand-made set (tests/test_verify.py) as shown, the plots as SVG images, the filters."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient

from emergency.settings import CITY_OFFSET
from emergency.store.db import Store
from tests.pages.conftest import sign_in
from tests.verify_cases import FORECAST_A, FORECAST_B, OBSERVED

API = "/api/v1"
AFTER = dt.datetime(2016, 12, 22, 10, 0, tzinfo=CITY_OFFSET)


def consult_and_observe(client: TestClient, store: Store, tokens: dict[str, str]) -> None:
    """Forecasts A and B through the API at their issue times, then the observations."""
    headers = {"Authorization": f"Bearer {tokens['consultation']}"}
    for fc in (FORECAST_A, FORECAST_B):
        issued = dt.datetime.fromisoformat(fc["issued_at"])
        store.config.now = lambda issued=issued: issued
        answer = client.post(f"{API}/consultations", json=fc, headers=headers)
        assert answer.status_code == 200, answer.text
    store.config.now = lambda: AFTER
    body = {"observations": [{"date": d.isoformat(), "aqi": v} for d, v in OBSERVED.items()]}
    answer = client.post(f"{API}/observations", json=body, headers=headers)
    assert answer.status_code == 200, answer.text


def cells(html: str, row_class: str) -> list[str]:
    """The cells of the first row of ``row_class`` in the main contingency table."""
    table = html.split('id="verify-tables"', 1)[1].split("</table>", 1)[0]
    row = table.split(f'class="{row_class}"', 1)[1].split("</tr>", 1)[0]
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]


def svg_of(html: str, ident: str) -> str:
    match = re.search(rf'id="{ident}" src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert match, ident
    return base64.b64decode(match.group(1)).decode("utf-8")


@pytest.mark.parametrize("role", ["planner", "consultation", "inspector"])
def test_the_roles_that_read_verification_see_the_page(
    client: TestClient, tokens: dict[str, str], role: str
) -> None:
    sign_in(client, tokens[role])
    page = client.get("/verification")
    assert page.status_code == 200, page.text
    assert "预报检验 Forecast verification" in page.text
    assert 'id="verify-empty"' in page.text  # nothing observed yet


@pytest.mark.parametrize("role", ["admin", "enterprise"])
def test_other_roles_are_refused(client: TestClient, tokens: dict[str, str], role: str) -> None:
    sign_in(client, tokens[role])
    assert client.get("/verification").status_code == 403


def test_signed_out_goes_to_sign_in(client: TestClient) -> None:
    answer = client.get("/verification", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_the_hand_made_scores_on_the_page(
    client: TestClient, store: Store, tokens: dict[str, str]
) -> None:
    consult_and_observe(client, store, tokens)
    sign_in(client, tokens["planner"])
    page = client.get("/verification")
    assert page.status_code == 200, page.text
    html = page.text
    assert re.search(r'id="verify-pairs">9<', html)
    # heavy: hits 6, misses 1, false alarms 1; POD 6/7, FAR 1/7, TS 6/8
    assert cells(html, "row-heavy") == ["6", "1", "1", "0.857", "0.143", "0.750"]
    # orange or above: hits 3, misses 4, false alarms 1; red: POD undefined
    assert cells(html, "row-orange") == ["3", "4", "1", "0.429", "0.250", "0.375"]
    assert cells(html, "row-red") == ["0", "0", "4", "–", "1.000", "0.000"]
    leads = html.split('id="verify-leads"', 1)[1].split("</table>", 1)[0]
    assert '<td class="num">3</td><td class="num">2</td>' in leads
    assert "-30.00" in leads and "80.00" in leads
    # both plots are SVG drawn by matplotlib, with no script
    ranges = svg_of(html, "range-plot")
    assert ranges.lstrip().startswith("<?xml") and "<svg" in ranges and "<script" not in ranges
    assert "观测 observed" in ranges
    assert "Scores by lead day" in svg_of(html, "lead-plot")
    # per party
    assert 'data-party="environment"' in html and 'data-party="meteorology"' in html


def test_filters(client: TestClient, store: Store, tokens: dict[str, str]) -> None:
    consult_and_observe(client, store, tokens)
    sign_in(client, tokens["inspector"])
    window = client.get("/verification", params={"from": "2016-12-20", "to": "2016-12-21"})
    assert re.search(r'id="verify-pairs">2<', window.text)  # B on 20 and 21 Dec
    env = client.get("/verification", params={"party": "environment"})
    assert re.search(r'id="verify-pairs">4<', env.text)  # A's 4 days
    assert cells(env.text, "row-heavy")[:3] == ["3", "1", "0"]
    bad = client.get("/verification", params={"from": "soon"})
    assert bad.status_code == 400 and 'id="verify-error"' in bad.text
    backwards = client.get("/verification", params={"from": "2016-12-21", "to": "2016-12-20"})
    assert backwards.status_code == 400 and "is after to" in backwards.text
