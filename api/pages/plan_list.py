"""The curtailment list page's material, made once per stored plan version and process.

A 5,000-source plan is 13 MB of JSON (about 1.5 s to read and validate) and ~4,900 rows;
rendering them all made a 4.7 MB page in ~0.5 s. A stored plan version never changes, so
what the page derives from it — the plan's figures without its assignments, the rows over
all days and per day, the filters' options, the totals and the charts — is made on its
first view and kept (per process, for the data folder it was made with). Each request then
filters the rows (the whole list: search and filters see every source) in the order asked
for (each order sorted once, then kept), adds up what passes (the totals of a whole day or
of every day are kept too), and renders one page of :data:`PAGE_ROWS` rows.
"""

from __future__ import annotations

import datetime as dt
import gc
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from api.pages import views
from api.pages.charts import Chart, target_charts
from emergency.service.access import Actor
from emergency.service.planning import loaded_data
from emergency.service.responses import get_plan
from emergency.service.stored_plans import PlanRef
from emergency.solution import ResponsePlan
from emergency.store.datafiles import loaded_for_key
from emergency.store.db import store_of

PAGE_ROWS = 200
"""Rows per page of the list (the totals are those of every row that passes the filters)."""
CACHE_SIZE = 4
"""Plan versions whose material each process keeps (~20 MB for a 5,000-source plan)."""
FREEZE_ROWS = 1000
"""Material of at least this many rows is moved out of the cyclic collector's reach."""


@dataclass
class Material:
    """What the list page shows of one stored plan version."""

    plan: ResponsePlan
    """The plan's figures, days and notes: its assignments left out (they are the rows)."""
    rows: list[views.ListRow]
    day_rows: dict[dt.date, list[views.ListRow]]
    options: views.Options
    all_totals: views.Totals
    charts: list[Chart]
    ordered: dict[tuple[dt.date | None, str, str], list[views.ListRow]] = field(
        default_factory=dict
    )
    """The rows of a day (None: all days) in an order (sort key, direction), once asked for."""
    day_totals: dict[dt.date | None, views.Totals] = field(default_factory=dict)

    def passing(self, day: dt.date | None, f: views.Filters) -> list[views.ListRow]:
        """The rows of ``day`` (None: every day) that pass ``f``, in its order."""
        key = (day, f.sort, f.order)
        with _lock:
            ordered = self.ordered.get(key)
        if ordered is None:
            ordered = views.sort_rows(self.day_rows[day] if day else self.rows, f)
            with _lock:
                self.ordered[key] = ordered
        return views.keep(ordered, f)

    def totals(
        self, day: dt.date | None, f: views.Filters, rows: list[views.ListRow]
    ) -> views.Totals:
        """:func:`views.totals` of ``rows``, those of ``day`` that pass ``f``."""
        if f.narrows:
            return views.totals(rows)
        with _lock:
            kept = self.day_totals.get(day)
        if kept is None:
            kept = views.totals(rows)
            with _lock:
                self.day_totals[day] = kept
        return kept


_cache: OrderedDict[tuple[str, int, str], Material] = OrderedDict()
_lock = threading.Lock()


def material(session: Session, actor: Actor, ref: PlanRef) -> Material:
    """The material of plan version ``ref`` (read and made on its first view)."""
    loaded = loaded_for_key(session, ref.data_key) if ref.data_key else loaded_data(session)
    key = (store_of(session).url, ref.row_id, loaded.key)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    plan = get_plan(session, actor, ref.response_id, version=ref.number)
    dataset = loaded.dataset
    rows = views.list_rows(plan, dataset)
    made = Material(
        plan=plan.model_copy(update={"assignments": []}),
        rows=rows,
        day_rows={d.date: views.list_rows(plan, dataset, d.date) for d in plan.days},
        options=views.options(rows, plan),
        all_totals=views.totals(rows),
        charts=target_charts(plan),
    )
    with _lock:
        _cache[key] = made
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    if len(rows) >= FREEZE_ROWS:
        _out_of_the_collectors_reach()
    return made


def _out_of_the_collectors_reach() -> None:
    """Collect, then freeze what lives now (the material just made, the dataset, the
    modules): the cyclic collector no longer rescans them. With a 5,000-source city
    loaded, each full collection took ~300 ms, once every ~75 page views: the p99 of the
    list page. Objects freed later by reference counting are freed as usual; only a cycle
    among the frozen ones would stay (none is made here)."""
    gc.collect()
    gc.freeze()


@dataclass
class Page:
    """One page of the rows that pass the filters."""

    rows: list[views.ListRow]
    number: int
    pages: int
    first: int
    """The position (from 1) of the page's first row among those that pass (0: none)."""
    last: int


def page_of(rows: list[views.ListRow], number: int) -> Page:
    """Page ``number`` (from 1; a number past the end gives the last page)."""
    pages = max(1, -(-len(rows) // PAGE_ROWS))
    number = min(max(1, number), pages)
    start = (number - 1) * PAGE_ROWS
    shown = rows[start : start + PAGE_ROWS]
    return Page(shown, number, pages, start + 1 if shown else 0, start + len(shown))
