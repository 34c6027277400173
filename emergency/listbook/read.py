"""``emergency list import``: a list workbook → sources and one-plant-one-policy plans.

:func:`read_workbook` reads the list sheet (``清单``), the optional measures sheet
(``措施``) and supply sheet (``供应关系``), checks every cell and raises
:class:`~emergency.errors.ValidationErrors` with *every* problem, each naming the sheet and
cell. :func:`import_workbook` then writes a data folder (docs/LIST.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from pydantic import ValidationError

from emergency import POLLUTANTS
from emergency.cityplan import DEFAULT_DEEPER_LIMITS, CityPlan, load_city_plan
from emergency.dataset import CITY_FILE, INVENTORY_FILE, PLANS_DIR, load_dataset
from emergency.errors import InputError, ValidationErrors
from emergency.inventory import COLUMNS, ID_PATTERN, Source, csv_columns
from emergency.listbook.columns import (
    CHOICE_SHEETS,
    COLOUR_ZH,
    COLOURS,
    GRADE_ZH,
    GUARANTEE_ZH,
    INDUSTRY_ZH,
    INSTRUCTION_SHEETS,
    KIND_ZH,
    LIST_COLUMNS,
    LIST_REQUIRED,
    LIST_SHEETS,
    MEASURE_COLUMNS,
    MEASURE_REQUIRED,
    MEASURE_SHEETS,
    NO,
    NONE_MARKS,
    SUPPLY_COLUMNS,
    SUPPLY_REQUIRED,
    SUPPLY_SHEETS,
    VERIFICATION_ZH,
    YES,
    vocabulary,
)
from emergency.listbook.credit import credit_code_problem
from emergency.listbook.sheets import Problem, Sheet, number, plain, quote, read_sheet, text
from emergency.paths import REPO_ROOT
from emergency.plans import Plan, check_plan
from emergency.synth_write import to_yaml

EMISSION_STEP = Decimal("0.01")
"""kg/d converted from t/a are rounded to this (half to even)."""

DEEPER_CUTS: tuple[float, ...] = DEFAULT_DEEPER_LIMITS
"""Whole-plant limits (cut in %) added as deeper measures when the measures sheet has none
and the city plan names no ``deeper_limits`` (:meth:`CityPlan.deeper_for`)."""

ENTERPRISE_FIELDS = (
    "name",
    "credit_code",
    "kind",
    "industry",
    "district",
    "lon",
    "lat",
    "grade",
    "guarantee",
    "updated",
    "verification",
    "contact_person",
    "contact_phone",
)
STRICT_COLOURS = ("yellow", "orange", "red")
"""Once one of these is given, each stricter one must be given too."""


@dataclass
class LineRow:
    """One row of the list sheet, parsed (values are None where a cell was bad)."""

    row: int
    cells: dict[str, Any]
    line_id: str = ""
    line_name: str = ""
    emissions: dict[str, Decimal | None] = field(default_factory=dict)
    value_added: Decimal | None = None
    can_stop: bool = True
    min_load: Decimal | None = Decimal(0)
    restart_cost: Decimal | None = Decimal(0)
    min_stop_days: int | None = 1
    meters: list[str] = field(default_factory=list)
    """The line's electricity sub-meters (分表电表), comma-separated in the cell."""
    loads: dict[str, Decimal | None] = field(default_factory=dict)
    """Per colour: the load in % (None: empty or bad, see ``bad_loads``)."""
    bad_loads: set[str] = field(default_factory=set)


@dataclass
class Enterprise:
    """The rows of one enterprise and its enterprise-level values."""

    id: str
    first_row: int
    values: dict[str, Any] = field(default_factory=dict)
    value_rows: dict[str, int] = field(default_factory=dict)
    rows: list[LineRow] = field(default_factory=list)


@dataclass
class ListData:
    """What a workbook holds: inventory rows and plan dicts in the files' shapes."""

    rows: list[dict[str, Any]]
    plans: list[dict[str, Any]]


class _Reader:
    def __init__(self, city: CityPlan | None = None) -> None:
        self.city = city
        self.problems: list[Problem] = []
        self.industries = vocabulary(INDUSTRY_ZH)
        self.kinds = vocabulary(KIND_ZH)
        self.grades = vocabulary(GRADE_ZH)
        self.guarantees = vocabulary(GUARANTEE_ZH)
        self.verifications = vocabulary(VERIFICATION_ZH)
        self.enterprises: dict[str, Enterprise] = {}
        self.credit_owner: dict[str, tuple[str, int]] = {}
        self.credit_ids: dict[str, list[str]] = {}
        self.plans: dict[str, dict[str, Any]] = {}
        self.plan_lines: dict[str, dict[str, LineRow]] = {}
        self.line_names: dict[str, dict[str, str]] = {}

    # ----------------------------------------------------------------- cells

    def choice(
        self, sheet: Sheet, key: str, row: int, raw: Any, vocab: dict[str, str], shown: str
    ) -> str | None:
        value = text(raw)
        if not value:
            return ""
        code = vocab.get(value.lower())
        if code is None:
            sheet.report(key, row, f"{quote(value)} is not one of {shown}")
        return code

    def decimal(
        self,
        sheet: Sheet,
        key: str,
        row: int,
        raw: Any,
        low: Decimal | None = None,
        high: Decimal | None = None,
    ) -> Decimal | None:
        try:
            value = number(raw)
        except ValueError:
            sheet.report(key, row, f"{quote(text(raw))} is not a number")
            return None
        if value is None:
            return None
        if (low is not None and value < low) or (high is not None and value > high):
            lo = "" if low is None else f"{plain(low):g}"
            hi = "" if high is None else f"{plain(high):g}"
            where = f"at least {lo}" if high is None else f"within [{lo}, {hi}]"
            sheet.report(key, row, f"{plain(value):g} is not {where}")
            return None
        return value

    # ----------------------------------------------------------------- the list sheet

    def read_list(self, sheet: Sheet) -> None:
        previous: Enterprise | None = None
        for row, cells in sheet.rows:
            name, credit, ident = (text(cells.get(k)) for k in ("name", "credit_code", "id"))
            line_given = text(cells.get("line")) or text(cells.get("line_id"))
            if not (name or credit or ident) and previous is not None and line_given:
                enterprise = previous  # merged cells: the row continues the enterprise above
            else:
                found = self.enterprise_of(sheet, row, cells)
                if found is None:  # still check the row's cells, then leave it out
                    self.enterprise_values(sheet, row, cells, Enterprise("", row))
                    self.line_row(sheet, row, cells)
                    previous = None
                    continue
                enterprise = found
            previous = enterprise
            self.enterprise_values(sheet, row, cells, enterprise)
            enterprise.rows.append(self.line_row(sheet, row, cells))

    def enterprise_of(self, sheet: Sheet, row: int, cells: dict[str, Any]) -> Enterprise | None:
        credit = text(cells.get("credit_code")).upper()
        ident = text(cells.get("id"))
        credit_ok = False
        if credit:
            problem = credit_code_problem(credit)
            if problem:
                sheet.report("credit_code", row, f"{quote(credit)} {problem}")
            else:
                credit_ok = True
        if ident and not ID_PATTERN.fullmatch(ident):
            sheet.report("id", row, f"{quote(ident)} may hold only letters, digits, _ and -")
            return None
        if not ident:
            if not credit_ok:
                if not credit:
                    sheet.report("id", row, "is empty and so is 统一社会信用代码 / credit_code")
                return None
            ident = credit  # the id of an enterprise without one is its credit code
        if credit_ok:
            owner = self.credit_owner.get(credit)
            ids = self.credit_ids.setdefault(credit, [])
            first_name = (
                self.enterprises[owner[0]].values.get("name", "") if owner is not None else ""
            )
            if owner is not None and owner[0] != ident and text(cells.get("name")) == first_name:
                # one legal entity listed as several sources, each with its own id
                if ident not in ids:
                    ids.append(ident)
            elif owner is not None and owner[0] != ident:
                first = self.enterprises[owner[0]]
                sheet.report(
                    "credit_code",
                    row,
                    f"{quote(credit)} is already the code of "
                    f"{quote(first.values.get('name', ''))} (row {owner[1]}, id {owner[0]})",
                )
            else:
                self.credit_owner.setdefault(credit, (ident, row))
                if ident not in ids:
                    ids.append(ident)
        enterprise = self.enterprises.get(ident)
        name = text(cells.get("name"))
        if enterprise is not None and credit_ok and name:
            known = enterprise.values.get("name")
            if known and known != name:
                sheet.report(
                    "credit_code",
                    row,
                    f"{quote(credit)} is already the code of {quote(known)} (row "
                    f"{enterprise.first_row}), not of {quote(name)}",
                )
                return None
        if enterprise is None:
            enterprise = self.enterprises[ident] = Enterprise(ident, row)
        return enterprise

    def enterprise_values(
        self, sheet: Sheet, row: int, cells: dict[str, Any], enterprise: Enterprise
    ) -> None:
        values: dict[str, Any] = {}
        raw = {k: text(cells.get(k)) for k in ENTERPRISE_FIELDS}
        raw["credit_code"] = raw["credit_code"].upper()
        values["name"] = raw["name"]
        values["credit_code"] = raw["credit_code"]
        values["kind"] = self.choice(
            sheet, "kind", row, raw["kind"], self.kinds, _shown(KIND_ZH, chinese_only=False)
        )
        values["industry"] = self.choice(
            sheet,
            "industry",
            row,
            raw["industry"],
            self.industries,
            _shown(INDUSTRY_ZH),
        )
        values["grade"] = self.choice(
            sheet, "grade", row, raw["grade"], self.grades, _shown(GRADE_ZH) + " or empty"
        )
        values["guarantee"] = self.choice(
            sheet,
            "guarantee",
            row,
            raw["guarantee"],
            self.guarantees,
            _shown(GUARANTEE_ZH) + " or empty",
        )
        values["district"] = raw["district"]
        for key, low, high in (("lon", -180, 180), ("lat", -90, 90)):
            raw[key] = text(cells.get(key))
            values[key] = self.decimal(sheet, key, row, cells.get(key), Decimal(low), Decimal(high))
        values["updated"] = raw["updated"][:10]
        if raw["updated"]:
            try:
                dt.date.fromisoformat(raw["updated"][:10])
            except ValueError:
                sheet.report("updated", row, f"{quote(raw['updated'])} is not a date (YYYY-MM-DD)")
        checks: list[str] = []
        for part in _split(raw["verification"]):
            code = self.verifications.get(part.lower())
            if code is None:
                shown = _shown(VERIFICATION_ZH, chinese_only=False)
                sheet.report("verification", row, f"{quote(part)} is not one of {shown}")
            else:
                checks.append(code)
        values["verification"] = checks
        values["contact_person"] = raw["contact_person"]
        values["contact_phone"] = raw["contact_phone"]
        for key, value in values.items():
            if raw.get(key, "") == "":
                continue  # empty: as given above (merged cells) or not given
            if key not in enterprise.value_rows:
                enterprise.values[key] = value
                enterprise.value_rows[key] = row
            elif (
                enterprise.values[key] is not None
                and value is not None
                and (enterprise.values[key] != value)
            ):
                at = enterprise.value_rows[key]
                sheet.report(
                    key,
                    row,
                    f"{quote(raw[key])} differs from row {at} of the same enterprise "
                    f"({quote(_show(enterprise.values[key]))})",
                )

    def line_row(self, sheet: Sheet, row: int, cells: dict[str, Any]) -> LineRow:
        parsed = LineRow(row, cells, text(cells.get("line_id")), text(cells.get("line")))
        unit = text(cells.get("unit")).lower().replace(" ", "")
        unit = {"千克/天": "kg/d", "吨/年": "t/a", "": "kg/d"}.get(unit, unit)
        days: Decimal | None = None
        if unit not in ("kg/d", "t/a"):
            sheet.report("unit", row, f"{quote(text(cells.get('unit')))} is not one of kg/d, t/a")
        elif unit == "t/a":
            days = self.decimal(
                sheet, "operating_days", row, cells.get("operating_days"), Decimal(1), Decimal(366)
            )
            if days is None and text(cells.get("operating_days")) == "":
                where = "operating_days" if "operating_days" in sheet.columns else "unit"
                sheet.report(
                    where, row, "t/a needs 年运行天数 / operating_days (kg/d = t/a × 1000 / days)"
                )
        for p in POLLUTANTS:
            value = self.decimal(sheet, p, row, cells.get(p), Decimal(0))
            if value is not None and unit == "t/a":
                value = (
                    (value * 1000 / days).quantize(EMISSION_STEP, ROUND_HALF_EVEN)
                    if days is not None
                    else None
                )
            elif value is None and text(cells.get(p)) == "":
                value = Decimal(0)
            parsed.emissions[p] = value
        added = self.decimal(sheet, "value_added", row, cells.get("value_added"), Decimal(0))
        parsed.value_added = (
            Decimal(0) if added is None and not text(cells.get("value_added")) else added
        )
        stop = text(cells.get("can_stop")).lower()
        if stop in NO:
            parsed.can_stop = False
        elif stop not in (*YES, ""):
            sheet.report("can_stop", row, f"{quote(stop)} is not one of 是, 否 (yes, no)")
        parsed.min_load = _or(
            self.decimal(sheet, "min_load", row, cells.get("min_load"), Decimal(0), Decimal(100)),
            cells.get("min_load"),
            Decimal(0),
        )
        parsed.restart_cost = _or(
            self.decimal(sheet, "restart_cost", row, cells.get("restart_cost"), Decimal(0)),
            cells.get("restart_cost"),
            Decimal(0),
        )
        days_stop = self.decimal(
            sheet, "min_stop_days", row, cells.get("min_stop_days"), Decimal(1)
        )
        if days_stop is not None and days_stop != days_stop.to_integral_value():
            sheet.report(
                "min_stop_days", row, f"{plain(days_stop):g} is not a whole number of days"
            )
            days_stop = None
        parsed.min_stop_days = (
            int(days_stop)
            if days_stop is not None
            else (1 if not text(cells.get("min_stop_days")) else None)
        )
        parsed.meters = [m for m in re.split(r"[\s,，;；、]+", text(cells.get("meters"))) if m]
        for colour in COLOURS:
            key = f"{colour}_load"
            raw = cells.get(key)
            try:
                parsed.loads[colour] = number(raw)
            except ValueError:
                sheet.report(key, row, f"{quote(text(raw))} is not a number")
                parsed.bad_loads.add(colour)
                parsed.loads[colour] = None
        return parsed

    # ----------------------------------------------------------------- building

    def build(self, sheet: Sheet, measures: Sheet | None, supplies: Sheet | None) -> ListData:
        rows: list[dict[str, Any]] = []
        for enterprise in self.enterprises.values():
            row = self.build_enterprise(sheet, enterprise)
            if row is not None:
                rows.append(row)
        extra = self.read_measures(measures) if measures is not None else {}
        for ident, plan in self.plans.items():
            given = extra.get(ident)
            if given is None:
                plan["measures"] += self.deeper(ident, plan["measures"])
            else:
                taken = {m["id"]: m for m in plan["measures"]}
                for measure, at in given:
                    if measure["id"] in taken:
                        assert measures is not None
                        measures.report(
                            "measure_id", at, f"{quote(measure['id'])} is already a colour measure"
                        )
                    plan["measures"].append(measure)
        if supplies is not None:
            self.read_supplies(supplies)
        return ListData(rows, [self.plans[k] for k in self.plans])

    def build_enterprise(self, sheet: Sheet, enterprise: Enterprise) -> dict[str, Any] | None:
        values = enterprise.values
        kind = values.get("kind")
        for key in ("name", "kind", "industry", "district", "lon", "lat"):
            if key not in enterprise.value_rows:
                sheet.report(key, enterprise.first_row, "is empty")
        with_lines = [r for r in enterprise.rows if r.line_id or r.line_name]
        first = enterprise.rows[0].row
        if kind == "plant" or with_lines:
            for r in enterprise.rows:
                if not (r.line_id or r.line_name):
                    shown = KIND_ZH.get(kind or "", "")
                    sheet.report(
                        "line", r.row, f"is empty (each row of a {shown or 'plant'} is one line)"
                    )
            self.plans[enterprise.id] = self.build_plan(sheet, enterprise)
            totals = _totals(enterprise.rows)
        else:
            if len(enterprise.rows) > 1:
                sheet.report_row(
                    enterprise.rows[1].row,
                    f"{enterprise.id} is a {KIND_ZH.get(kind or '', kind)} without lines: "
                    f"give it one row (row {first}), or a 生产线 / line on every row",
                )
            only = enterprise.rows[0]
            for colour in COLOURS:
                for key in (f"{colour}_measure", f"{colour}_load", f"{colour}_measure_id"):
                    if text(only.cells.get(key)):
                        sheet.report(
                            key,
                            only.row,
                            "must be empty for a row without 生产线 / line (sites, yards and "
                            "quarries follow the city plan's default measures)",
                        )
            totals = {**only.emissions, "value_added": only.value_added}
        row: dict[str, Any] = {"id": enterprise.id, "credit_code": values.get("credit_code", "")}
        for key in ("name", "kind", "industry", "district", "lon", "lat", "grade", "guarantee"):
            value = values.get(key, "" if key in ("grade", "guarantee") else None)
            row[key] = _coordinate(value) if isinstance(value, Decimal) else value
        for p in POLLUTANTS:
            total = totals.get(p)
            row[f"{p}_kg_d"] = plain(total) if total is not None else None
        added = totals.get("value_added")
        row["value_added_yuan_d"] = plain(added) if added is not None else None
        if any(row[c] is None for c in COLUMNS):
            return None
        try:
            Source.model_validate(row)
        except ValidationError as exc:
            sheet.report_row(first, f"{enterprise.id}: {exc.errors()[0]['msg']}")
            return None
        return row

    def build_plan(self, sheet: Sheet, enterprise: Enterprise) -> dict[str, Any]:
        lines: list[dict[str, Any]] = []
        by_id: dict[str, LineRow] = {}
        for n, r in enumerate(enterprise.rows, start=1):
            line_id = r.line_id or f"line-{n}"
            if line_id in by_id:
                key = "line_id" if r.line_id else "line"
                sheet.report(
                    key, r.row, f"{quote(line_id)} repeats the line of row {by_id[line_id].row}"
                )
                continue
            r.line_id = line_id
            by_id[line_id] = r
            line: dict[str, Any] = {"id": line_id, "name": r.line_name}
            for p in POLLUTANTS:
                line[f"{p}_kg_d"] = plain(r.emissions[p] or Decimal(0))
            line["value_added_yuan_d"] = plain(r.value_added or Decimal(0))
            line["can_stop"] = r.can_stop
            line["min_load"] = float((r.min_load or Decimal(0)) / 100)
            line["restart_cost_yuan"] = plain(r.restart_cost or Decimal(0))
            line["min_stop_days"] = r.min_stop_days or 1
            if r.meters:
                line["meters"] = r.meters
            lines.append(line)
        self.plan_lines[enterprise.id] = by_id
        self.line_names[enterprise.id] = {r.line_name: i for i, r in by_id.items() if r.line_name}
        measures: list[dict[str, Any]] = []
        levels: dict[str, str] = {}
        given: dict[str, tuple[str, dict[str, Decimal]]] = {}
        for colour in COLOURS:
            built = self.colour_measure(sheet, enterprise, colour)
            if built is None:
                continue
            mid, name, loads, at = built
            levels[colour] = mid
            given[colour] = (mid, loads)
            same = next((m for m in measures if m["id"] == mid), None)
            if same is None:
                measures.append({"id": mid, "name": name, "loads": _fractions(loads)})
            elif same["name"] != name or same["loads"] != _fractions(loads):
                sheet.report(
                    f"{colour}_measure_id",
                    at,
                    f"{quote(mid)} names a measure given with other text or loads by another "
                    "colour",
                )
        self.check_colours(sheet, enterprise, given)
        plan: dict[str, Any] = {"enterprise": enterprise.id}
        if enterprise.values.get("updated"):
            plan["updated"] = enterprise.values["updated"]
        contact = {}
        if enterprise.values.get("contact_person"):
            contact["person"] = enterprise.values["contact_person"]
        if enterprise.values.get("contact_phone"):
            contact["phone"] = enterprise.values["contact_phone"]
        plan.update(
            lines=lines,
            measures=measures,
            levels=levels,
            supplies=[],
            verification=enterprise.values.get("verification", []),
            contact=contact,
        )
        return plan

    def colour_measure(
        self, sheet: Sheet, enterprise: Enterprise, colour: str
    ) -> tuple[str, str, dict[str, Decimal], int] | None:
        texts: list[str] = []
        loads: dict[str, Decimal] = {}
        mid, mid_row = "", 0
        present = False
        zh = COLOUR_ZH[colour]
        for r in enterprise.rows:
            words = text(r.cells.get(f"{colour}_measure"))
            ident = text(r.cells.get(f"{colour}_measure_id"))
            load = r.loads.get(colour)
            if words or ident or load is not None or colour in r.bad_loads:
                present = True
            if words and words not in texts:
                texts.append(words)
            if ident:
                if mid and ident != mid:
                    sheet.report(
                        f"{colour}_measure_id",
                        r.row,
                        f"{quote(ident)} differs from {quote(mid)} (row {mid_row})",
                    )
                elif not mid:
                    mid, mid_row = ident, r.row
            if load is None:
                continue
            key = f"{colour}_load"
            loads[r.line_id] = load
            if load < 0 or load > 100:
                sheet.report(key, r.row, f"{plain(load):g} is not within [0, 100]")
            elif load == 0 and not r.can_stop:
                sheet.report(
                    key,
                    r.row,
                    f"0 stops line {quote(r.line_name or r.line_id)}, which cannot stop "
                    "(可停产 否)",
                )
            elif load != 0 and r.min_load is not None and load < r.min_load:
                sheet.report(
                    key,
                    r.row,
                    f"{plain(load):g} is under the line's 最低负荷 / min_load "
                    f"{plain(r.min_load):g} (write 0 to stop it)",
                )
            else:
                continue
            del loads[r.line_id]
            r.bad_loads.add(colour)
        if not present:
            return None
        if not loads and not mid and not any(colour in r.bad_loads for r in enterprise.rows):
            at = enterprise.rows[0].row
            sheet.report(f"{colour}_load", at, f"is empty on every line although {zh}措施 is given")
        return mid or f"{colour}-plan", "；".join(texts), loads, mid_row or enterprise.rows[0].row

    def check_colours(
        self, sheet: Sheet, enterprise: Enterprise, given: dict[str, tuple[str, dict[str, Decimal]]]
    ) -> None:
        present = [c for c in COLOURS if c in given]
        for lower, higher in itertools.pairwise(present):
            for r in enterprise.rows:
                if lower in r.bad_loads or higher in r.bad_loads:
                    continue
                low = given[lower][1].get(r.line_id, Decimal(100))
                high = given[higher][1].get(r.line_id, Decimal(100))
                if high > low:
                    sheet.report(
                        f"{higher}_load",
                        r.row,
                        f"{plain(high):g} is milder than {COLOUR_ZH[lower]}负荷 {plain(low):g} "
                        f"on line {quote(r.line_name or r.line_id)} ({higher} must be at least "
                        f"as strict as {lower})",
                    )
        strict = [c for c in STRICT_COLOURS if c in given]
        if strict:
            for colour in STRICT_COLOURS[STRICT_COLOURS.index(strict[0]) :]:
                if colour not in given:
                    sheet.report(
                        f"{colour}_measure",
                        enterprise.rows[0].row,
                        f"is empty for {enterprise.id} although a milder colour has a measure "
                        "(repeat the milder measure if nothing more is done)",
                    )

    def deeper_of(self, ident: str) -> tuple[tuple[float, ...], bool]:
        """The whole-plant limits (cut in %) and the stop offered to an enterprise: the city
        plan's for its industry, else 30 and 50 % and a stop."""
        if self.city is None:
            return DEEPER_CUTS, True
        return self.city.deeper_for(str(self.enterprises[ident].values.get("industry") or ""))

    def deeper(self, ident: str, measures: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The default deeper measures: whole-plant limits and a stop (docs/LIST.md)."""
        lines = list(self.plan_lines[ident].values())
        cuts, stop = self.deeper_of(ident)
        seen = {_vector(m["loads"], lines) for m in measures}
        taken = {m["id"] for m in measures}
        added: list[dict[str, Any]] = []

        def add(mid: str, vec: tuple[Decimal, ...], name: str) -> None:
            if vec in seen:
                return
            base, k = mid, 2
            while mid in taken:
                mid, k = f"{base}-{k}", k + 1
            loads = {r.line_id: x for r, x in zip(lines, vec, strict=True) if x < 100}
            added.append({"id": mid, "name": name, "loads": _fractions(loads)})
            seen.add(vec)
            taken.add(mid)

        for cut in cuts:
            exact = Decimal(repr(float(cut)))
            shown = f"{plain(exact):g}"
            vec = tuple(max(100 - exact, r.min_load or Decimal(0)) for r in lines)
            uniform = len(set(vec)) == 1
            add(
                f"limit-{shown}",
                vec,
                f"全厂限产{shown}%" + ("" if uniform else "（不低于最低负荷）"),
            )
        if stop and any(r.can_stop for r in lines):
            vec = tuple(Decimal(0) if r.can_stop else (r.min_load or Decimal(0)) for r in lines)
            if all(r.can_stop for r in lines):
                add("stop-all", vec, "全厂停产")
            else:
                add("stop-stoppable", vec, "可停工序全部停产，不可中断工序最低负荷运行")
        return added

    # ----------------------------------------------------------------- references

    def enterprise_ref(self, sheet: Sheet, key: str, row: int, raw: Any) -> str | None:
        value = text(raw)
        if not value:
            sheet.report(key, row, "is empty")
            return None
        if value in self.enterprises:
            found = value
        elif value.upper() in self.credit_owner:
            owners = self.credit_ids.get(value.upper(), [])
            if len(owners) > 1:
                sheet.report(
                    key, row, f"{quote(value)} is the code of several enterprises: use the id"
                )
                return None
            found = self.credit_owner[value.upper()][0]
        else:
            named = [e.id for e in self.enterprises.values() if e.values.get("name") == value]
            if len(named) > 1:
                sheet.report(key, row, f"{quote(value)} names several enterprises: use the id")
                return None
            found = named[0] if named else ""
        if not found:
            sheet.report(key, row, f"{quote(value)} is no enterprise of the list sheet")
            return None
        if found not in self.plans:
            sheet.report(key, row, f"{quote(value)} has no lines (no 生产线 in the list sheet)")
            return None
        return found

    def line_ref(self, sheet: Sheet, key: str, row: int, raw: Any, enterprise: str) -> str | None:
        value = text(raw)
        lines = self.plan_lines.get(enterprise, {})
        if value in lines:
            return value
        named = self.line_names.get(enterprise, {}).get(value)
        if named is None:
            known = ", ".join(r.line_name or i for i, r in lines.items())
            sheet.report(key, row, f"{quote(value)} is no line of {enterprise} (lines: {known})")
        return named

    def read_measures(self, sheet: Sheet) -> dict[str, list[tuple[dict[str, Any], int]]]:
        found: dict[str, list[tuple[dict[str, Any], int]]] = {}
        index: dict[tuple[str, str], dict[str, Any]] = {}
        for row, cells in sheet.rows:
            ident = self.enterprise_ref(sheet, "enterprise", row, cells.get("enterprise"))
            if ident is None:
                continue
            mid = text(cells.get("measure_id"))
            listed = found.setdefault(ident, [])
            if mid.lower() in NONE_MARKS:
                continue
            if not mid:
                sheet.report("measure_id", row, "is empty")
                continue
            name = text(cells.get("measure_name"))
            measure = index.get((ident, mid))
            if measure is None:
                measure = index[(ident, mid)] = {"id": mid, "name": name, "loads": {}}
                listed.append((measure, row))
            elif name and name != measure["name"]:
                sheet.report(
                    "measure_name",
                    row,
                    f"{quote(name)} differs from {quote(measure['name'])} of the same measure",
                )
            if not text(cells.get("line")) and not text(cells.get("load")):
                continue  # a measure that names no line
            line = self.line_ref(sheet, "line", row, cells.get("line"), ident)
            load = self.decimal(sheet, "load", row, cells.get("load"), Decimal(0), Decimal(100))
            if line is None or load is None:
                if load is None and not text(cells.get("load")):
                    sheet.report("load", row, "is empty")
                continue
            r = self.plan_lines[ident][line]
            if load == 0 and not r.can_stop:
                sheet.report(
                    "load",
                    row,
                    f"0 stops line {quote(r.line_name or line)}, which cannot stop (可停产 否)",
                )
            elif load != 0 and r.min_load is not None and load < r.min_load:
                sheet.report(
                    "load",
                    row,
                    f"{plain(load):g} is under the line's 最低负荷 / min_load "
                    f"{plain(r.min_load):g} (write 0 to stop it)",
                )
            elif line in measure["loads"]:
                sheet.report("line", row, f"{quote(line)} appears twice in measure {quote(mid)}")
            else:
                measure["loads"][line] = float(load / 100)
        return found

    def read_supplies(self, sheet: Sheet) -> None:
        seen: dict[tuple[str, str, str, str], int] = {}
        for row, cells in sheet.rows:
            upstream = self.enterprise_ref(
                sheet, "from_enterprise", row, cells.get("from_enterprise")
            )
            downstream = self.enterprise_ref(
                sheet, "to_enterprise", row, cells.get("to_enterprise")
            )
            up_line = down_line = None
            if upstream is not None:
                up_line = self.line_ref(sheet, "from_line", row, cells.get("from_line"), upstream)
            if downstream is not None:
                down_line = self.line_ref(sheet, "to_line", row, cells.get("to_line"), downstream)
            share = self.decimal(sheet, "share", row, cells.get("share"), Decimal(0), Decimal(100))
            if share == 0:
                sheet.report("share", row, "0 is not within (0, 100]")
                continue
            if None in (upstream, downstream, up_line, down_line) or (
                share is None and text(cells.get("share"))
            ):
                continue
            assert upstream and downstream and up_line and down_line
            key = (upstream, up_line, downstream, down_line)
            if key in seen:
                sheet.report_row(row, f"repeats the supply edge of row {seen[key]}")
                continue
            if upstream == downstream and up_line == down_line:
                sheet.report("to_line", row, "a line cannot supply itself")
                continue
            seen[key] = row
            fraction = float((share if share is not None else Decimal(100)) / 100)
            self.plans[upstream]["supplies"].append(
                {
                    "line": up_line,
                    "to": {"enterprise": downstream, "line": down_line},
                    "share": fraction,
                }
            )


def _coordinate(value: Decimal) -> str:
    """lon/lat as the CSV writes them: five decimals (about 1 m), more only when given."""
    exponent = value.normalize().as_tuple().exponent
    places = max(5, -exponent) if isinstance(exponent, int) else 5
    return f"{value:.{places}f}"


def _or(value: Decimal | None, raw: Any, default: Decimal) -> Decimal | None:
    """``default`` for an empty cell, None for a bad one."""
    if value is None and not text(raw):
        return default
    return value


def _split(value: str) -> list[str]:
    for sep in ("，", "、", "；", ";"):
        value = value.replace(sep, ",")
    return [p.strip() for p in value.split(",") if p.strip()]


def _show(value: Any) -> str:
    return f"{plain(value):g}" if isinstance(value, Decimal) else str(value)


def _shown(zh: dict[str, str], chinese_only: bool = True) -> str:
    if chinese_only:
        return ", ".join(zh.values())
    return ", ".join(f"{name} ({code})" for code, name in zh.items())


def _fractions(loads: dict[str, Decimal]) -> dict[str, float]:
    return {k: float(v / 100) for k, v in loads.items()}


def _vector(loads: dict[str, float], lines: list[LineRow]) -> tuple[Decimal, ...]:
    return tuple(Decimal(repr(loads.get(r.line_id, 1.0))) * 100 for r in lines)


def _totals(rows: list[LineRow]) -> dict[str, Decimal | None]:
    totals: dict[str, Decimal | None] = {}
    for key in (*POLLUTANTS, "value_added"):
        values = [r.value_added if key == "value_added" else r.emissions.get(key) for r in rows]
        known = [v for v in values if v is not None]
        totals[key] = sum(known, Decimal(0)) if len(known) == len(values) else None
    return totals


# --------------------------------------------------------------------------- workbook → data


def _pick(names: list[str], wanted: tuple[str, ...]) -> str | None:
    lowered = {n.strip().lower(): n for n in names}
    return next((lowered[w] for w in wanted if w in lowered), None)


def read_workbook(path: Path, city: CityPlan | None = None) -> ListData:
    """Read and check a list workbook.

    ``city`` gives the deeper measures per industry (``deeper_limits``, ``deeper_stop``);
    without it, or where it names none, whole-plant limits of 30 and 50 % and a stop.

    Raises
    ------
    InputError
        The file is not a workbook.
    ValidationErrors
        With every problem found, each naming the sheet and cell.
    """
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except Exception as exc:  # openpyxl raises many kinds for a file that is no workbook
        raise InputError(f"{path}: not an .xlsx workbook ({type(exc).__name__}: {exc})") from None
    try:
        names = list(book.sheetnames)
        others = (*MEASURE_SHEETS, *SUPPLY_SHEETS, *INSTRUCTION_SHEETS, *CHOICE_SHEETS)
        main = _pick(names, LIST_SHEETS) or next(
            (n for n in names if n.strip().lower() not in others), None
        )
        if main is None:
            raise ValidationErrors([f"{path}: no list sheet (清单)"])
        reader = _Reader(city)
        sheet = read_sheet(book[main], 0, LIST_COLUMNS, LIST_REQUIRED)
        if "id" not in sheet.columns and "credit_code" not in sheet.columns:
            sheet.report_row(
                sheet.header_row, "missing column 统一社会信用代码 / credit_code (or 企业编号 / id)"
            )
        measure_name = _pick(names, MEASURE_SHEETS)
        supply_name = _pick(names, SUPPLY_SHEETS)
        measures = (
            read_sheet(book[measure_name], 1, MEASURE_COLUMNS, MEASURE_REQUIRED)
            if measure_name
            else None
        )
        supplies = (
            read_sheet(book[supply_name], 2, SUPPLY_COLUMNS, SUPPLY_REQUIRED)
            if supply_name
            else None
        )
    finally:
        book.close()
    sheets = [s for s in (sheet, measures, supplies) if s is not None]
    if any(p.row == 0 or "missing column" in p.message for s in sheets for p in s.problems):
        raise ValidationErrors(_messages(sheets), what=path.name)
    reader.read_list(sheet)
    data = reader.build(sheet, measures, supplies)
    problems = _messages(sheets)
    if not problems:
        for plan in data.plans:
            try:
                model = Plan.model_validate(plan)
            except ValidationError as exc:
                problems += [
                    f"{sheet.title}: {plan['enterprise']}: {e['msg']}" for e in exc.errors()
                ]
                continue
            problems += [
                f"{sheet.title}: {plan['enterprise']}: {'.'.join(map(str, p.path))}: {p.message}"
                for p in check_plan(model)
            ]
    if problems:
        raise ValidationErrors(problems, what=path.name)
    if not data.rows:
        raise ValidationErrors(
            [f"{sheet.title}: no rows below the header row {sheet.header_row}"], what=path.name
        )
    return data


def _messages(sheets: list[Sheet]) -> list[str]:
    return [p.message for p in sorted(p for s in sheets for p in s.problems)]


# --------------------------------------------------------------------------- data → folder


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _plan_header(row: dict[str, Any], source: str) -> list[str]:
    grade = GRADE_ZH.get(row["grade"] or "", "未分级 not graded")
    return [
        "一厂一策 one-plant-one-policy plan, imported from the list workbook by",
        f"`emergency list import {source}` (docs/LIST.md).",
        f"{row['name']} · {INDUSTRY_ZH.get(row['industry'], row['industry'])} · {grade}"
        f" · {row['district']}",
    ]


def write_folder(data: ListData, out: Path, city_text: str, source: str) -> None:
    """Write ``enterprises.csv``, ``plans/city.yaml``, the plans and the bundled rule sets."""
    plans_dir = out / PLANS_DIR
    plans_dir.mkdir(parents=True, exist_ok=True)
    columns = csv_columns(any(row.get("credit_code") for row in data.rows))
    with (out / INVENTORY_FILE).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_csv_text(row.get(c, "")) for c in columns] for row in data.rows)
    (out / CITY_FILE).write_text(city_text, encoding="utf-8")
    rows = {row["id"]: row for row in data.rows}
    for plan in data.plans:
        text_ = to_yaml(plan, _plan_header(rows[plan["enterprise"]], source))
        (plans_dir / f"{plan['enterprise']}.yaml").write_text(text_, encoding="utf-8")
    rules = out / "plans" / "rules"
    rules.mkdir(parents=True, exist_ok=True)
    for rule in sorted((REPO_ROOT / "plans" / "rules").glob("*.yaml")):
        shutil.copyfile(rule, rules / rule.name)


def import_workbook(
    path: Path,
    out: Path,
    city: Path | None = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ListData:
    """Read ``path`` and write the data folder ``out``; nothing is written on any problem.

    The folder is written next to ``out`` first and checked with
    :func:`emergency.dataset.load_dataset`; only a folder that passes is moved into place.
    """
    city_path = city if city is not None else REPO_ROOT / CITY_FILE
    city_plan, city_errors = load_city_plan(city_path, str(city_path))
    if city_errors or city_plan is None:
        raise ValidationErrors(city_errors, what=str(city_path))
    if out.exists() and not out.is_dir():
        raise InputError(f"--out: {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputError(f"--out: {out} is not empty (use --force to replace the data in it)")
    data = read_workbook(path, city_plan)
    if progress:
        progress(f"read {len(data.rows)} sources and {len(data.plans)} plans")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".list-import-", dir=out.parent))
    try:
        write_folder(data, staging, city_path.read_text(encoding="utf-8-sig"), path.name)
        try:
            load_dataset(staging)
        except ValidationErrors as exc:
            raise ValidationErrors(
                exc.errors, what=f"the data folder written from {path.name}"
            ) from None
        if not out.exists():
            staging.rename(out)
            return data
        for stale in (out / PLANS_DIR).glob("*.yaml"):
            stale.unlink()
        shutil.copytree(staging, out, dirs_exist_ok=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return data
