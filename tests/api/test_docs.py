"""``/docs``: Swagger UI from local files under the pages' CSP; ``EMERGENCY_DOCS`` off → 404."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.docs import ASSET_TYPES, assets_dir
from api.main import create_app
from api.pages.render import SECURITY_HEADERS
from emergency.service.enterprises import open_store
from emergency.settings import Settings
from emergency.store.db import Store
from tests.datafiles import write_small_dataset

CSP = SECURITY_HEADERS["Content-Security-Policy"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_small_dataset(tmp_path_factory.mktemp("docs") / "data")


@pytest.fixture(scope="module")
def store(data_dir: Path) -> Iterator[Store]:
    opened = open_store(data_dir, None)  # SQLite: the docs do not touch the database
    yield opened
    opened.dispose()


@pytest.fixture(scope="module")
def client(data_dir: Path, store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data=data_dir), store=store)) as test_client:
        yield test_client


def test_the_assets_come_from_an_installed_package() -> None:
    folder = assets_dir()
    assert folder is not None, "pip install fastapi-offline (Swagger UI's files)"
    for name in ASSET_TYPES:
        assert (folder / name).stat().st_size > 0


def test_docs_page_loads_nothing_from_another_site(client: TestClient) -> None:
    answer = client.get("/docs")
    assert answer.status_code == 200
    assert answer.headers["content-security-policy"] == CSP
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    page = answer.text
    assert "cdn" not in page.lower()
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", page, flags=re.IGNORECASE)
    assert "<script>" not in page and "<style" not in page  # nothing inline: the CSP refuses it
    assert 'data-openapi-url="/openapi.json"' in page
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("/docs/assets/") for s in sources)
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200, source
        assert asset.headers["x-content-type-options"] == "nosniff"
        assert len(asset.content) > 0
    start = client.get("/docs/assets/docs.js").text
    assert "SwaggerUIBundle(" in start and "validatorUrl: null" in start
    assert "http" not in start


def test_only_the_pages_assets_are_served(client: TestClient) -> None:
    for name in ("redoc.standalone.js", "../__init__.py", "core.py", "%2e%2e%2fcore.py"):
        assert client.get(f"/docs/assets/{name}").status_code == 404, name


def test_redoc_is_not_served(client: TestClient) -> None:
    assert client.get("/redoc").status_code == 404


def test_docs_off(data_dir: Path, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMERGENCY_DOCS", "false")
    settings = Settings(data=data_dir)
    assert settings.docs is False
    with TestClient(create_app(settings, store=store)) as client:
        assert client.get("/docs").status_code == 404
        assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 404
        assert client.get("/redoc").status_code == 404
        schema = client.get("/openapi.json")
        assert schema.status_code == 200 and schema.json()["openapi"].startswith("3.")
