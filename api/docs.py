"""The API's docs page at ``/docs``: Swagger UI from an installed package, no CDN.

FastAPI's own ``/docs`` and ``/redoc`` load Swagger UI and ReDoc from a public CDN and
start them with an inline script, on the same origin as the planner pages. Here the page is
served under the pages' Content-Security-Policy (:data:`api.pages.render.SECURITY_HEADERS`:
no inline script or style, nothing from another origin): the stylesheet and the bundle are
Swagger UI's files as shipped by the ``fastapi-offline`` package, the start-up script is
ours, all under ``/docs/assets/``. Nothing is fetched at run time. ReDoc is not served (it
injects inline styles, which that policy refuses); ``/redoc`` is 404.

``EMERGENCY_DOCS=false`` turns the page off (404); ``/openapi.json`` stays.
"""

from __future__ import annotations

import html
import importlib.util
import logging
from pathlib import Path

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.pages.render import SECURITY_HEADERS

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"
ASSET_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}
"""The package's files the page uses (no other file of the package is served)."""
ASSET_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "public, max-age=3600"}
START_SCRIPT = "docs.js"
START_JS = """\
// Starts Swagger UI on the schema named by the page (no inline script: the CSP forbids it).
(function () {
  var node = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: node.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
})();
"""
PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – API docs</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" type="image/png" href="{assets}/favicon.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/{start}"></script>
</body>
</html>
"""

log = logging.getLogger(__name__)


def assets_dir() -> Path | None:
    """Swagger UI's files of the installed ``fastapi-offline`` package (None without it)."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "static"
    return folder if all((folder / name).is_file() for name in ASSET_TYPES) else None


def install(app: FastAPI) -> bool:
    """Serve ``/docs`` and its assets from ``app``; False (and nothing served) without the
    package that ships Swagger UI."""
    folder = assets_dir()
    if folder is None:
        log.warning("/docs is off: the package fastapi-offline (Swagger UI's files) is missing")
        return False
    openapi_url = app.openapi_url or "/openapi.json"
    title = app.title
    router = APIRouter(include_in_schema=False)

    @router.get(DOCS_PATH, response_class=HTMLResponse)
    def docs_page(request: Request) -> HTMLResponse:
        """The Swagger UI page, under the pages' security headers."""
        root = request.scope.get("root_path", "")
        page = PAGE.format(
            title=html.escape(title),
            assets=html.escape(root + ASSETS_PATH),
            openapi_url=html.escape(root + openapi_url),
            start=START_SCRIPT,
        )
        return HTMLResponse(page, headers=SECURITY_HEADERS)

    @router.get(f"{ASSETS_PATH}/{START_SCRIPT}")
    def docs_start() -> Response:
        return Response(START_JS, media_type="text/javascript", headers=ASSET_HEADERS)

    @router.get(ASSETS_PATH + "/{name}")
    def docs_asset(name: str) -> Response:
        media_type = ASSET_TYPES.get(name)
        if media_type is None:
            raise HTTPException(status_code=404)
        return FileResponse(folder / name, media_type=media_type, headers=ASSET_HEADERS)

    app.include_router(router)
    return True
