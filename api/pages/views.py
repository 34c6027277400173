"""The curtailment list as the pages show it: rows per source and period, filters, sorting.

Presentation only: the numbers are the plan's (``ResponsePlan`` from the service); these
functions group, filter and sort them, and never recompute a cut or a cost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from emergency import NORMAL, ONE_DAY, POLLUTANTS
from emergency.inventory import GRADES, KINDS
from emergency.measures import measure_name
from emergency.solution import Assignment, PollutantAmounts, ResponsePlan
from emergency.vocabulary import BY_PLANNER, HELD

if TYPE_CHECKING:
    from emergency.dataset import Dataset


SORT_KEYS: dict[str, str] = {
    "cost": "费用 cost",
    "source": "编号 id",
    "name": "名称 name",
    "district": "区域 district",
    "industry": "行业 industry",
    "grade": "绩效等级 grade",
    "kind": "类型 kind",
    "measure": "措施 measure",
    "start": "开始 start",
    **{f"cut_{p}": f"减排 cut {p.upper() if p != 'vocs' else 'VOCs'}" for p in POLLUTANTS},
}
DEFAULT_SORT = "cost"
DESCENDING_FIRST = {"cost", *(f"cut_{p}" for p in POLLUTANTS)}
"""Keys sorted largest first unless ``order=asc`` is asked for."""

CATEGORIES: dict[str, str] = {
    "deepened": "加严 deepened by the optimiser",
    "floor": "按预案 plan measure (floor)",
    "held": "保障/保护 held at floor",
    "override": "人工调整 override / exempt",
    "normal": "正常生产 normal operation",
}
"""Map colours: what a source does on a day, from the plan's assignment."""


@dataclass
class ListRow:
    """One source over consecutive days with the same measure."""

    source: str
    name: str
    kind: str
    industry: str
    district: str
    grade: str
    guarantee: str
    start: dt.date
    end: dt.date
    measure: str
    measure_name: str
    floor: str
    floor_name: str
    deepened: bool
    fixed: str
    why: str
    cut_kg: PollutantAmounts
    cost_yuan: float = 0.0
    restart_cost_yuan: float = 0.0
    days: int = 0
    why_zh: str = ""
    """the why in Chinese ('' in plans stored before it existed)"""

    @property
    def category(self) -> str:
        return category(self.measure, self.deepened, self.fixed)

    def sort_value(self, key: str) -> tuple[object, ...]:
        if key.startswith("cut_"):
            return (getattr(self.cut_kg, key[4:]), self.source, self.start)
        if key == "cost":
            return (self.cost_yuan, self.source, self.start)
        if key == "grade":
            rank = GRADES.index(self.grade) if self.grade in GRADES else len(GRADES)
            return (rank, self.source, self.start)
        return (str(getattr(self, key)), self.source, self.start)


@dataclass
class Filters:
    """What the list page was asked for (query parameters), normalised."""

    district: str = ""
    industry: str = ""
    grade: str = ""
    kind: str = ""
    day: str = ""
    q: str = ""
    deepened: bool = False
    sort: str = DEFAULT_SORT
    order: str = ""

    def __post_init__(self) -> None:
        if self.sort not in SORT_KEYS:
            self.sort = DEFAULT_SORT
        if self.order not in ("asc", "desc"):
            self.order = "desc" if self.sort in DESCENDING_FIRST else "asc"
        self.q = self.q.strip()

    @property
    def active(self) -> bool:
        return self.narrows or bool(self.day)

    @property
    def narrows(self) -> bool:
        """Whether some rows of the day (or of all days) may not pass."""
        return any((self.district, self.industry, self.grade, self.kind, self.q)) or (self.deepened)

    def query(self, **changes: str) -> str:
        """The query string of these filters with ``changes`` applied (for links)."""
        from urllib.parse import urlencode

        values: dict[str, str] = {
            "district": self.district,
            "industry": self.industry,
            "grade": self.grade,
            "kind": self.kind,
            "day": self.day,
            "q": self.q,
            "deepened": "1" if self.deepened else "",
            "sort": self.sort,
            "order": self.order,
        }
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v})

    def page_link(self, number: int) -> str:
        """The query string of page ``number`` of the list these filters give."""
        return self.query(page=str(number)) if number > 1 else self.query()

    def sort_link(self, key: str) -> str:
        """The link of a column header: sort by ``key``, or flip the order if it already is."""
        if key == self.sort:
            return self.query(order="asc" if self.order == "desc" else "desc")
        return self.query(sort=key, order="desc" if key in DESCENDING_FIRST else "asc")

    def aria_sort(self, key: str) -> str:
        if key != self.sort:
            return "none"
        return "descending" if self.order == "desc" else "ascending"


@dataclass
class Options:
    """The values each filter offers (from the whole list, not the filtered one)."""

    districts: list[str] = field(default_factory=list)
    industries: list[str] = field(default_factory=list)
    grades: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    days: list[dt.date] = field(default_factory=list)


def category(measure: str, deepened: bool, fixed: str) -> str:
    if fixed in BY_PLANNER:
        return "override"
    if measure == NORMAL:
        return "normal"
    if fixed in HELD:
        return "held"
    return "deepened" if deepened else "floor"


def _same_run(row: ListRow, a: Assignment) -> bool:
    return (
        row.end + ONE_DAY == a.date
        and row.measure == a.measure
        and row.floor == a.floor
        and row.deepened == a.deepened
        and row.fixed == a.fixed
    )


def list_rows(plan: ResponsePlan, dataset: Dataset, day: dt.date | None = None) -> list[ListRow]:
    """Rows per source and run of days with one measure (only ``day`` when given)."""
    by_source: dict[str, list[Assignment]] = {}
    for a in plan.assignments:
        if day is None or a.date == day:
            by_source.setdefault(a.source, []).append(a)
    rows: list[ListRow] = []
    for source in sorted(by_source):
        src = dataset.by_id.get(source)
        current: ListRow | None = None
        for a in sorted(by_source[source], key=lambda x: x.date):
            if current is None or not _same_run(current, a):
                current = ListRow(
                    source=source,
                    name=src.name if src else source,
                    kind=src.kind if src else "",
                    industry=src.industry if src else "",
                    district=src.district if src else "",
                    grade=(src.grade or "") if src else "",
                    guarantee=(src.guarantee or "") if src else "",
                    start=a.date,
                    end=a.date,
                    measure=a.measure,
                    measure_name=a.measure_name or measure_name(dataset, source, a.measure),
                    floor=a.floor,
                    floor_name=measure_name(dataset, source, a.floor),
                    deepened=a.deepened,
                    fixed=a.fixed,
                    why=a.why,
                    why_zh=a.why_zh,
                    cut_kg=a.cut_kg,
                )
                rows.append(current)
            current.end = a.date
            current.days += 1
            current.cost_yuan += a.cost_yuan
            current.restart_cost_yuan += a.restart_cost_yuan
    return rows


def options(rows: Iterable[ListRow], plan: ResponsePlan) -> Options:
    rows = list(rows)
    grades = {r.grade for r in rows if r.grade}
    return Options(
        districts=sorted({r.district for r in rows if r.district}),
        industries=sorted({r.industry for r in rows if r.industry}),
        grades=[g for g in GRADES if g in grades],
        kinds=[k for k in KINDS if any(r.kind == k for r in rows)],
        days=[d.date for d in plan.days],
    )


def parse_day(value: str, plan: ResponsePlan) -> dt.date | None:
    """The day asked for, if it is one of the plan's days."""
    try:
        wanted = dt.date.fromisoformat(value)
    except ValueError:
        return None
    return wanted if any(d.date == wanted for d in plan.days) else None


def apply(rows: Iterable[ListRow], f: Filters) -> list[ListRow]:
    """Filter and sort rows as the query asks."""
    return sort_rows(keep(rows, f), f)


def keep(rows: Iterable[ListRow], f: Filters) -> list[ListRow]:
    """The rows that pass the filters (their order kept)."""
    if not f.narrows:
        return list(rows)
    q = f.q.casefold()
    return [
        r
        for r in rows
        if (not f.district or r.district == f.district)
        and (not f.industry or r.industry == f.industry)
        and (not f.grade or r.grade == f.grade)
        and (not f.kind or r.kind == f.kind)
        and (not f.deepened or r.deepened)
        and (not q or q in r.source.casefold() or q in r.name.casefold())
    ]


def sort_rows(rows: list[ListRow], f: Filters) -> list[ListRow]:
    """The rows in the order the query asks for (a new list)."""
    return sorted(rows, key=lambda r: r.sort_value(f.sort), reverse=f.order == "desc")


@dataclass
class Totals:
    rows: int
    sources: int
    deepened: int
    cost_yuan: float
    cut_kg_d: dict[str, float]


def totals(rows: list[ListRow]) -> Totals:
    """What the shown rows add up to (cost over their days; cut per day of each row)."""
    cost = 0.0
    deepened = 0
    cut = dict.fromkeys(POLLUTANTS, 0.0)
    for r in rows:  # one pass: this runs over every row that passes, per request
        cost += r.cost_yuan
        deepened += r.deepened
        amounts = r.cut_kg
        for p in POLLUTANTS:
            cut[p] += getattr(amounts, p)
    return Totals(
        rows=len(rows),
        sources=len({r.source for r in rows}),
        deepened=deepened,
        cost_yuan=cost,
        cut_kg_d=cut,
    )


def day_categories(plan: ResponsePlan, day: dt.date) -> Mapping[str, tuple[str, Assignment | None]]:
    """Per source with an assignment on ``day``: its map category and assignment."""
    out: dict[str, tuple[str, Assignment | None]] = {}
    for a in plan.assignments:
        if a.date == day:
            out[a.source] = (category(a.measure, a.deepened, a.fixed), a)
    return out
