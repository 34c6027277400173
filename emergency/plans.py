"""The one-plant-one-policy plans (一厂一策); the city plan is :mod:`emergency.cityplan`.

Models are pydantic with ``extra="forbid"``. Loaders parse YAML once
(:mod:`emergency.yamlfile`), keep the node tree while checking the file, and report every
problem with the file, the YAML line and the field, e.g.
``plans/enterprises/JY-P001.yaml:14: measures[1].loads.sinter-1: load 1.2 outside [0.3, 1]``.

Checks inside one file live here (:func:`check_plan`, :func:`check_city_plan`); checks
across files (inventory totals, supply edges, cycles) live in :mod:`emergency.dataset`.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from emergency import LEVELS, NORMAL, POLLUTANTS
from emergency.contacts import email_address, mobile_number
from emergency.errors import ValidationErrors, where
from emergency.inventory import GRADES
from emergency.vehicles.duties import TransportDuty, transport_problems
from emergency.yamlfile import Problem, format_problems, read_yaml

DEFAULT_KINDS: tuple[str, ...] = ("site", "yard", "quarry")
"""Kinds that may go without a plan file and then follow the city's default measures."""


def _one_of(allowed: Sequence[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"unknown {what} {value!r} (expected {', '.join(allowed)})")
        return value

    return AfterValidator(check)


PollutantKey = Annotated[str, _one_of(POLLUTANTS, "pollutant")]
LevelKey = Annotated[str, _one_of(LEVELS, "level")]
DefaultKindKey = Annotated[str, _one_of(DEFAULT_KINDS, "kind without plan files")]
GradeKey = Annotated[str, _one_of(GRADES, "grade")]
Fraction = Annotated[float, Field(ge=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]

MODEL_CONFIG = ConfigDict(extra="forbid", allow_inf_nan=False, coerce_numbers_to_str=True)
TOLERANCE = 1e-9


# --------------------------------------------------------------------------- plan models


class Line(BaseModel):
    """A production line or process step that emits (kg/day at normal load)."""

    model_config = MODEL_CONFIG

    id: str = Field(min_length=1)
    name: str = ""
    so2_kg_d: NonNegative = 0.0
    nox_kg_d: NonNegative = 0.0
    pm_kg_d: NonNegative = 0.0
    vocs_kg_d: NonNegative = 0.0
    value_added_yuan_d: NonNegative = 0.0
    can_stop: bool = True
    min_load: Fraction = 0.0
    restart_cost_yuan: NonNegative = 0.0
    min_stop_days: int = Field(default=1, ge=1)
    meters: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,100}$")]] = Field(
        default_factory=list
    )
    """Electricity sub-meters (分表计电) of the line; a meter belongs to one line of one
    plan in the whole data folder (docs/METERS.md)."""

    def emissions(self) -> dict[str, float]:
        """Normal-load emissions in kg/day keyed by pollutant."""
        return {p: float(getattr(self, f"{p}_kg_d")) for p in POLLUTANTS}


class Measure(BaseModel):
    """A named, pre-approved state: the load of each named line (1.0 = normal)."""

    model_config = MODEL_CONFIG

    id: str = Field(min_length=1)
    name: str = ""
    loads: dict[str, float] = Field(default_factory=dict)


class SupplyEdge(BaseModel):
    """Line ``line`` of this plan feeds ``to_line`` of ``to_enterprise``.

    Downstream load ``<= 1 - share * (1 - upstream load)``. In the file the target is
    written ``to: {enterprise, line}``; both shapes are accepted.
    """

    model_config = MODEL_CONFIG

    line: str = Field(min_length=1)
    to_enterprise: str = Field(min_length=1)
    to_line: str = Field(min_length=1)
    share: float = Field(default=1.0, gt=0, le=1)

    @model_validator(mode="before")
    @classmethod
    def _file_shape(cls, data: Any) -> Any:
        if isinstance(data, dict) and "to" in data:
            target = data["to"]
            if not isinstance(target, dict):
                raise ValueError("'to' must be a mapping {enterprise: ID, line: ID}")
            data = {k: v for k, v in data.items() if k != "to"}
            for key, value in target.items():
                data[f"to_{key}"] = value
        return data

    def to_file_dict(self) -> dict[str, Any]:
        """The file shape ``{line, to: {enterprise, line}, share}``."""
        target = {"enterprise": self.to_enterprise, "line": self.to_line}
        return {"line": self.line, "to": target, "share": self.share}


class Plan(BaseModel):
    """A one-plant-one-policy plan: lines, measures and the measure committed per level.

    The helper dictionaries are cached on first use: build a new plan rather than
    mutating ``lines`` or ``measures`` in place.
    """

    model_config = MODEL_CONFIG

    enterprise: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    updated: dt.date | None = None
    lines: list[Line] = Field(min_length=1)
    measures: list[Measure] = Field(default_factory=list)
    levels: dict[str, str] = Field(default_factory=dict)
    supplies: list[SupplyEdge] = Field(default_factory=list)
    verification: list[str] = Field(default_factory=list)
    transport: dict[LevelKey, TransportDuty] = Field(default_factory=dict)
    """Per level, the vehicles banned and the daily heavy-truck cap (docs/VEHICLES.md)."""
    contact: dict[str, Any] = Field(default_factory=dict)
    """Free keys (``person``, ``phone`` …); ``email`` and ``mobile``, when given, must be an
    email address and a mainland mobile number: orders go to them (docs/NOTIFY.md)."""

    @field_validator("contact")
    @classmethod
    def _reachable(cls, contact: dict[str, Any]) -> dict[str, Any]:
        if contact.get("email") is not None:
            address = email_address(str(contact["email"]))
            if address is None:
                raise ValueError(f"email: not an email address: {contact['email']!r}")
            contact = {**contact, "email": address}
        if contact.get("mobile") is not None:
            number = mobile_number(str(contact["mobile"]))
            if number is None:
                raise ValueError(
                    f"mobile: not a mobile number (11 digits, 13…–19…): {contact['mobile']!r}"
                )
            contact = {**contact, "mobile": number}
        return contact

    @cached_property
    def lines_by_id(self) -> dict[str, Line]:
        """Lines keyed by id (the first one wins if an id repeats)."""
        index: dict[str, Line] = {}
        for line in self.lines:
            index.setdefault(line.id, line)
        return index

    @cached_property
    def measures_by_id(self) -> dict[str, Measure]:
        """Measures keyed by id, ``normal`` included (the first one wins if an id repeats)."""
        index = {NORMAL: Measure(id=NORMAL, name="normal operation")}
        for measure in self.measures:
            index.setdefault(measure.id, measure)
        return index

    def line(self, line_id: str) -> Line:
        """The line with this id; ``KeyError`` if the plan has none."""
        try:
            return self.lines_by_id[line_id]
        except KeyError:
            raise KeyError(f"{self.enterprise}: no line {line_id!r}") from None

    def measure(self, measure_id: str) -> Measure:
        """The measure with this id (``normal`` is every line at 1.0); ``KeyError`` if none."""
        try:
            return self.measures_by_id[measure_id]
        except KeyError:
            raise KeyError(f"{self.enterprise}: no measure {measure_id!r}") from None

    def measure_ids(self) -> list[str]:
        """``normal`` followed by the plan's measures in file order."""
        return list(self.measures_by_id)

    def load(self, measure_id: str, line_id: str) -> float:
        """Load of a line under a measure, as a fraction of normal (unnamed lines: 1.0)."""
        return float(self.measure(measure_id).loads.get(line_id, 1.0))

    def floor(self, level: str | None) -> str:
        """The measure the plan commits to at a level (``normal`` if it names none)."""
        return self.levels.get(level, NORMAL) if level else NORMAL

    def at_least_as_strict(self, measure_id: str, than: str) -> bool:
        """True when ``measure_id`` runs no line above ``than``'s load."""
        return no_line_above(
            (self.load(measure_id, line.id) for line in self.lines),
            (self.load(than, line.id) for line in self.lines),
        )

    def cut_kg_d(self, measure_id: str) -> dict[str, float]:
        """Daily cut per pollutant: sum over lines of ``(1 - load) * emission``."""
        cut = dict.fromkeys(POLLUTANTS, 0.0)
        for line in self.lines:
            off = 1.0 - self.load(measure_id, line.id)
            for p, e in line.emissions().items():
                cut[p] += off * e
        return cut

    def cost_yuan_d(self, measure_id: str) -> float:
        """Daily lost value added: sum over lines of ``(1 - load) * value_added_yuan_d``."""
        return sum(
            (1.0 - self.load(measure_id, line.id)) * line.value_added_yuan_d for line in self.lines
        )

    def emissions(self) -> dict[str, float]:
        """Line totals per pollutant in kg/day (should match the inventory row)."""
        # Line.emissions() summed, written out (every plan of a city is checked on reading)
        so2 = nox = pm = vocs = 0.0
        for line in self.lines:
            so2 += float(line.so2_kg_d)
            nox += float(line.nox_kg_d)
            pm += float(line.pm_kg_d)
            vocs += float(line.vocs_kg_d)
        return dict(zip(POLLUTANTS, (so2, nox, pm, vocs), strict=True))

    def value_added_yuan_d(self) -> float:
        """Line total of daily value added."""
        return sum(line.value_added_yuan_d for line in self.lines)

    def to_file_dict(self) -> dict[str, Any]:
        """The plan in the file's shape (dates as ISO strings, supplies with ``to``)."""
        data = self.model_dump(mode="json")
        data["supplies"] = [edge.to_file_dict() for edge in self.supplies]
        return data


def pydantic_problems(exc: ValidationError) -> list[Problem]:
    """Turn pydantic's errors into problems whose paths follow the file's keys."""
    problems: list[Problem] = []
    for error in exc.errors(include_url=False):
        path: list[str | int] = []
        for part in error["loc"]:
            if part == "[key]":
                continue
            if part in ("to_enterprise", "to_line"):
                path += ["to", str(part)[3:]]
            else:
                path.append(part)
        kind = error["type"]
        if kind == "missing":
            message = "missing field"
        elif kind == "extra_forbidden":
            message = "unknown field"
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            if kind not in ("value_error", "assertion_error"):
                message += f" (got {_short(error.get('input'))})"
        problems.append(Problem(tuple(path), message))
    return problems


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def number_text(value: float) -> str:
    return f"{value:g}"


# --------------------------------------------------------------------------- checks in one file


def check_plan(plan: Plan) -> list[Problem]:
    """Rules inside one plan: unique ids, known lines, loads, levels, monotone levels."""
    problems: list[Problem] = []
    problems += _unique(plan.lines, "lines", "line")
    problems += _unique(plan.measures, "measures", "measure")
    lines = plan.lines_by_id
    for i, measure in enumerate(plan.measures):
        if measure.id == NORMAL:
            problems.append(Problem(("measures", i, "id"), "'normal' is reserved (all loads 1.0)"))
        for line_id, load in measure.loads.items():
            where_ = ("measures", i, "loads", line_id)
            line = lines.get(line_id)
            if line is None:
                known = ", ".join(lines)
                problems.append(Problem(where_, f"unknown line {line_id!r} (lines: {known})"))
            elif load == 0 and not line.can_stop:
                problems.append(Problem(where_, f"line {line_id!r} cannot stop (can_stop: false)"))
            elif load == 0:
                continue  # a stop: min_load bounds a running line, not a stopped one
            elif not line.min_load - TOLERANCE <= load <= 1 + TOLERANCE:
                bounds = f"[{number_text(line.min_load)}, 1]"
                problems.append(Problem(where_, f"load {number_text(load)} outside {bounds}"))
    for level, measure_id in plan.levels.items():
        if level not in LEVELS:
            expected = ", ".join(LEVELS)
            problems.append(Problem(("levels", level), f"unknown level (expected {expected})"))
        elif measure_id not in plan.measures_by_id:
            known = ", ".join(m.id for m in plan.measures) or "none"
            problems.append(
                Problem(("levels", level), f"names no measure: {measure_id!r} (measures: {known})")
            )
    named = [lv for lv in LEVELS if plan.levels.get(lv) in plan.measures_by_id]
    problems += monotone_problems(plan, named)
    problems += transport_problems(plan.transport)
    seen_edges: set[tuple[str, str, str]] = set()
    for i, edge in enumerate(plan.supplies):
        if edge.line not in lines:
            known = ", ".join(lines)
            problems.append(
                Problem(("supplies", i, "line"), f"unknown line {edge.line!r} (lines: {known})")
            )
        if edge.to_enterprise == plan.enterprise and edge.to_line == edge.line:
            problems.append(Problem(("supplies", i, "to"), "a line cannot supply itself"))
        key = (edge.line, edge.to_enterprise, edge.to_line)
        if key in seen_edges:
            problems.append(Problem(("supplies", i), "duplicate supply edge"))
        seen_edges.add(key)
    return problems


def monotone_problems(plan: Plan, levels: Sequence[str]) -> list[Problem]:
    """A higher level's floor must be at least as strict as a lower one's on every line."""
    problems: list[Problem] = []
    for lower, higher in itertools.pairwise(levels):
        low_id, high_id = plan.floor(lower), plan.floor(higher)
        if low_id not in plan.measures_by_id or high_id not in plan.measures_by_id:
            continue
        milder = [
            f"{line.id} {number_text(plan.load(high_id, line.id))} > "
            f"{number_text(plan.load(low_id, line.id))}"
            for line in plan.lines
            if plan.load(high_id, line.id) > plan.load(low_id, line.id) + TOLERANCE
        ]
        if milder:
            problems.append(
                Problem(
                    ("levels", higher) if higher in plan.levels else ("levels",),
                    f"{higher} ({high_id!r}) is milder than {lower} ({low_id!r}) on "
                    + ", ".join(milder),
                )
            )
    return problems


def _unique(items: Sequence[Line | Measure], field: str, what: str) -> list[Problem]:
    first: dict[str, int] = {}
    problems: list[Problem] = []
    for i, item in enumerate(items):
        if item.id in first:
            problems.append(
                Problem(
                    (field, i, "id"),
                    f"duplicate {what} id {item.id!r} (also {field}[{first[item.id]}])",
                )
            )
        first.setdefault(item.id, i)
    return problems


def no_line_above(loads: Iterable[float], than: Iterable[float]) -> bool:
    """Loads (one per line, in the plan's order) that run no line above ``than``'s: what
    "at least as strict" means between two measures of a plan (read only up to the first
    line above)."""
    return all(x <= y + TOLERANCE for x, y in zip(loads, than, strict=True))


# --------------------------------------------------------------------------- loaders


def parse_plan(text: str, name: str) -> tuple[Plan | None, list[str], yaml.Node | None]:
    """Parse and check plan text; return the plan (None if it cannot be built), messages, nodes."""
    try:
        data, node = read_yaml(text, name)
    except ValidationErrors as exc:
        return None, exc.errors, None
    if not isinstance(data, dict):
        return None, [f"{where(name, 1)}: expected a mapping of plan fields"], node
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        return None, format_problems(name, pydantic_problems(exc), node), node
    return plan, format_problems(name, check_plan(plan), node), node


def parse_plan_text(text: str, source_name: str) -> Plan:
    """Parse a plan from YAML text (e.g. the body of ``PUT /enterprises/{id}/plan``).

    Raises
    ------
    ValidationErrors
        With every problem found in the text, each naming ``source_name``, line and field.
    """
    plan, errors, _node = parse_plan(text, source_name)
    if errors or plan is None:
        raise ValidationErrors(errors)
    return plan


def read_text(path: Path, name: str) -> tuple[str | None, list[str]]:
    """A text file's content (UTF-8, a byte-order mark dropped, any line ending read as
    ``\\n``), or None and why it cannot be read, naming ``name``."""
    data, errors = read_bytes(path, name)
    return decode_text(data, name) if data is not None else (None, errors)


def read_bytes(path: Path, name: str) -> tuple[bytes | None, list[str]]:
    """A file's bytes, or None and why it cannot be read, naming ``name``."""
    try:
        return path.read_bytes(), []
    except OSError as exc:
        return None, [f"{where(name)}: cannot read the file ({exc.strerror or exc})"]


def decode_text(data: bytes, name: str) -> tuple[str | None, list[str]]:
    """:func:`read_text` on a file's bytes already read."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, [f"{where(name)}: not UTF-8 (byte {exc.start})"]
    if "\r" in text:  # as a file opened as text reads them
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, []


def load_plan(path: Path | str, display: str | None = None) -> tuple[Plan | None, list[str]]:
    """Read ``plans/enterprises/<id>.yaml``.

    Returns
    -------
    plan, errors
        The plan (None when it cannot be built; it may be returned *with* errors found by
        the checks) and every message, naming ``display`` (default: ``path``), line, field.
    """
    name = display if display is not None else str(path)
    data, errors = read_bytes(Path(path), name)
    return plan_from_bytes(data, name) if data is not None else (None, errors)


def plan_from_bytes(data: bytes, name: str) -> tuple[Plan | None, list[str]]:
    """:func:`load_plan` on a plan file's bytes already read (``name`` its file)."""
    text, errors = decode_text(data, name)
    if text is None:
        return None, errors
    plan, errors, _node = parse_plan(text, name)
    return plan, errors


def dump_plan(plan: Plan) -> str:
    """The plan as YAML text in the file's shape (round-trips through :func:`parse_plan_text`)."""
    return yaml.safe_dump(plan.to_file_dict(), sort_keys=False, allow_unicode=True)
