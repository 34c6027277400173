"""The curtailment list page: revalidated with an ETag (304 while nothing it shows changed,
never to someone who may not see it, never a page with a one-time message) and paged on
the server over the whole filtered list."""

from __future__ import annotations

import gc
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.pages import plan_list
from emergency.service.orders import approve
from emergency.service.overrides import add_override
from emergency.service.tokens import authenticate
from emergency.service.views import OverrideIn
from emergency.store.db import Store
from tests.pages.conftest import sign_in
from tests.pages.test_review import rows_of, text


def seen(client: TestClient, url: str, etag: str | None = None, **params: str) -> tuple[int, str]:
    sent = {"If-None-Match": etag} if etag else {}
    page = client.get(url, params=params, headers=sent, follow_redirects=False)
    if page.status_code == 304:
        assert page.content == b"" and page.headers["etag"] == etag
    if page.status_code in (200, 304) and "etag" in page.headers:
        assert page.headers["cache-control"] == "private, no-cache"
    return page.status_code, page.headers.get("etag", "")


def test_the_list_page_is_304_until_what_it_shows_changes(
    planner: TestClient, store: Store, tokens: dict[str, str], response_id: int
) -> None:
    url = f"/responses/{response_id}"
    first = planner.get(url)  # shows the sign-in message: not kept
    assert "已登录 Signed in" in first.text and "etag" not in first.headers
    assert first.headers["cache-control"] == "no-store"
    status, tag = seen(planner, url)
    assert status == 200 and tag
    assert seen(planner, url, tag) == (304, tag)
    assert seen(planner, url, tag, sort="source")[0] == 200  # another query, another page
    # an override: a new plan version
    with store.session() as session:
        actor = authenticate(session, tokens["planner"])
        body = OverrideIn(source="JY-Q001", exempt=True, reason="road repair")
        add_override(session, actor, response_id, body)
    status, after_override = seen(planner, url, tag)
    assert status == 200 and after_override != tag
    # version 1 still shows the response's state (now: version 2 is current)
    status, old = seen(planner, url, version="1")
    assert status == 200 and seen(planner, url, old, version="1") == (304, old)
    # the approval: the page says so
    with store.session() as session:
        approve(session, authenticate(session, tokens["planner"]), response_id)
    status, approved = seen(planner, url, after_override)
    assert status == 200 and approved != after_override
    assert "第 2 版已批准" in planner.get(url).text
    assert seen(planner, url, old, version="1")[0] == 200


def test_no_304_of_the_list_page_without_the_right_to_it(
    app: FastAPI, tokens: dict[str, str], response_id: int
) -> None:
    url = f"/responses/{response_id}"
    planner = sign_in(TestClient(app), tokens["planner"])
    planner.get(url)
    _, tag = seen(planner, url)
    # signed out: the sign-in form, not a 304
    planner.post("/logout", data={"csrf": csrf_of(planner.get(url).text)})
    for sent in (tag, "*"):
        status, _ = seen(planner, url, sent)
        assert status == 303
    # an enterprise's session: 403, whatever it sends
    firm = sign_in(TestClient(app), tokens["enterprise"])
    firm.get("/")
    for sent in (tag, "*"):
        assert seen(firm, url, sent)[0] == 403
    # another planner's session: its own page (its own form token), not the first one's
    other = sign_in(TestClient(app), tokens["planner"])
    other.get(url)
    status, theirs = seen(other, url, tag)
    assert status == 200 and theirs != tag
    # a version or a response that does not exist: 404, even for "*"
    assert seen(other, url, "*", version="9")[0] == 404
    assert seen(other, "/responses/99", "*")[0] == 404


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, html[:500]
    return found.group(1)


def test_the_list_is_paged_over_every_row_that_passes(
    planner: TestClient, response_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six sources in pages of two: three pages; a search, a filter or a sort covers the
    whole list, and the totals are those of every row that passes, not of the page."""
    monkeypatch.setattr(plan_list, "PAGE_ROWS", 2)
    url = f"/responses/{response_id}"
    pages = [planner.get(url, params={"sort": "source", "page": str(n)}).text for n in (1, 2, 3)]
    ids = [[r.split()[0] for r in rows_of(p)] for p in pages]
    assert ids == [
        ["JY-P001", "JY-P002"],
        ["JY-P003", "JY-Q001"],
        ["JY-S001", "JY-Y001"],
    ]
    assert "rows 3–4 of 6" in text(pages[1])
    assert 'href="?sort=source&amp;order=asc&amp;page=3" rel="next"' in pages[1]
    assert 'href="?sort=source&amp;order=asc" rel="prev"' in pages[1]  # page 1: no number
    assert 'aria-current="page">2<' in pages[1]
    # past the last page: the last page
    assert rows_of(planner.get(url, params={"sort": "source", "page": "9"}).text) == rows_of(
        pages[2]
    )
    # a search over the whole list: the yard on page 3 is found, alone, no pager
    found = planner.get(url, params={"q": "JY-Y001"}).text
    assert [r.split()[0] for r in rows_of(found)] == ["JY-Y001"]
    assert 'id="list-pages"' not in found
    # the totals: every row, on every page
    summary = [re.search(r'id="list-summary">(.*?)</p>', p, re.S) for p in pages]
    assert all(s is not None for s in summary)
    assert len({s.group(1).split("·", 1)[1] for s in summary if s}) == 1
    assert "<strong>6</strong> 个源 sources" in pages[0]
    # bad page numbers: 404 (out of range) or 400 (not a number)
    assert planner.get(url, params={"page": "0"}).status_code == 404
    assert planner.get(url, params={"page": "x"}).status_code == 400


def test_a_large_lists_material_is_kept_out_of_the_collectors_reach(
    planner: TestClient, response_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Made for a list of at least FREEZE_ROWS rows (here: the six of the small city), the
    material is frozen: full collections no longer rescan it (bench_load's list page p99)."""
    monkeypatch.setattr(plan_list, "FREEZE_ROWS", 6)
    gc.unfreeze()
    try:
        assert gc.get_freeze_count() == 0
        planner.get(f"/responses/{response_id}", params={"sort": "name"})
        assert gc.get_freeze_count() > 0
        frozen = gc.get_freeze_count()
        planner.get(f"/responses/{response_id}", params={"sort": "cost"})  # kept: no freeze
        assert gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()
