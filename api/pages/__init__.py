"""The planner's web pages: server-rendered (Jinja2), served by the API's FastAPI app.

``install(app)`` adds the pages and their static files (CSS, one small script) to an app:

- ``/`` warning, timeline and advice; ``/login``, ``/logout``;
- ``/responses``; ``/responses/{id}`` the curtailment list (filters, sorting, charts of
  cuts against targets, costs), ``.../sources/{source}``, ``.../map``, ``.../orders``,
  ``.../compliance``; ``.../plan.csv``, ``.../plan.xlsx``, ``.../plan-report.xlsx``;
- ``POST .../overrides``, ``.../approve`` and ``.../release`` (each confirmed on a page);
- ``/plans`` the plan versions waiting for review, ``/plans/{id}/versions/{n}`` one of them;
- ``/season`` the heating season's plans (post a season file, re-plan the approved one),
  ``/season/{id}`` one plan: quotas, the calendar of measures per source and day, running
  shares; approve or reject;
- ``/responses/{id}/supervision`` the anomalies ranked and on a map, ``.../review`` the
  after-action review; ``/tasks`` the inspection tasks, ``/tasks/{id}`` one with its forms;
- ``/verification`` forecast verification (forecast against observed AQI, scores);
- ``/public`` the public warning page and ``/public/notice/{id}`` the formal notice (no
  sign-in, no JavaScript).

Pages sign in with the API's tokens, which open a server-side session (its random id in an
HttpOnly, SameSite=Strict cookie), and call the same service functions as the JSON API.
No CDN, no build step.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.pages import actions, plans, public, routes, season, supervision, verification
from api.pages.render import STATIC_DIR

STATIC_PATH = "/static"


def install(app: FastAPI) -> None:
    """Serve the pages and ``/static`` from ``app`` (once; a second call does nothing)."""
    if getattr(app.state, "pages_installed", False):
        return
    app.include_router(actions.router)
    app.include_router(plans.router)
    app.include_router(season.router)
    app.include_router(supervision.router)
    app.include_router(verification.router)
    app.include_router(public.router)
    app.include_router(routes.router)
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="static")
    app.state.pages_installed = True
