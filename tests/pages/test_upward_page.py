"""The list page links the report workbook (上报表) beside CSV and XLSX, and it downloads."""

from __future__ import annotations

import io
import re

from fastapi.testclient import TestClient
from openpyxl import load_workbook


def test_plan_page_links_the_report(planner: TestClient, response_id: int) -> None:
    page = planner.get(f"/responses/{response_id}")
    assert page.status_code == 200
    link = re.search(r'<a[^>]*id="plan-report"[^>]*href="([^"]+)"[^>]*>([^<]*)</a>', page.text)
    assert link is not None, "no report link on the list page"
    assert link.group(2) == "上报表 Report (xlsx)"
    assert link.group(1) == f"/responses/{response_id}/plan-report.xlsx?version=1"
    got = planner.get(link.group(1))
    assert got.status_code == 200
    assert load_workbook(io.BytesIO(got.content)).sheetnames == ["减排清单", "汇总", "说明"]
