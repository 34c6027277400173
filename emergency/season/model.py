"""The heating-season file ``plans/season.yaml`` (错峰生产 and 重点时段), validated.

Fields: ``id``, ``start``, ``end`` (dates, both included); ``exempt_grades`` (default the
city plan's ``protect_grades``); ``quotas`` (each selects lines by ``industry``, optionally
narrowed by ``lines:`` glob patterns on line ids or ``sources:`` ids, and requires either
``stop_days: N`` per selected line or ``output_cut: f`` over the selected lines, optionally
``per: firm``); ``min_running_share: {industry: s}``; ``risk`` (inline ``{date: value}`` or
a CSV path ``date,risk`` relative to the season file; default a flat 1); ``key_periods``
(``{name, start, end, level}``). Every problem names the file, the YAML line and the field.
"""

from __future__ import annotations

import csv
import datetime as dt
import fnmatch
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from emergency import LEVELS, ONE_DAY
from emergency.errors import ValidationErrors, where
from emergency.inventory import INDUSTRIES
from emergency.plans import (
    MODEL_CONFIG,
    Fraction,
    GradeKey,
    LevelKey,
    NonNegative,
    pydantic_problems,
    read_text,
)
from emergency.yamlfile import Problem, format_problems, read_yaml

if TYPE_CHECKING:
    from emergency.dataset import Dataset
    from emergency.inventory import Source

SEASON_FILE = "plans/season.yaml"
MAX_DAYS = 366


class Quota(BaseModel):
    """Lines of an industry that must stop N days, or cut output by a share."""

    model_config = MODEL_CONFIG

    id: str = ""
    industry: str
    lines: list[str] | None = None
    """Glob patterns on line ids (``kiln-*``)."""
    sources: list[str] | None = None
    stop_days: int | None = Field(default=None, ge=1)
    output_cut: float | None = Field(default=None, gt=0, le=1)
    per: Literal["firm"] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Quota:
        if (self.stop_days is None) == (self.output_cut is None):
            raise ValueError("give either stop_days or output_cut")
        if self.per is not None and self.output_cut is None:
            raise ValueError("per: firm applies to output_cut only (stop_days is per line)")
        return self

    @property
    def kind(self) -> str:
        return "stop_days" if self.stop_days is not None else "output_cut"


class KeyPeriod(BaseModel):
    """Days on which a level's duties apply as floors, whatever the forecast."""

    model_config = MODEL_CONFIG

    name: str = Field(min_length=1)
    start: dt.date
    end: dt.date
    level: LevelKey


class Season(BaseModel):
    """``plans/season.yaml``."""

    model_config = MODEL_CONFIG

    id: str = Field(min_length=1)
    start: dt.date
    end: dt.date
    exempt_grades: list[GradeKey] | None = None
    quotas: list[Quota] = Field(default_factory=list)
    min_running_share: dict[str, Fraction] = Field(default_factory=dict)
    risk: dict[dt.date, NonNegative] | str | None = None
    key_periods: list[KeyPeriod] = Field(default_factory=list)

    def days(self) -> list[dt.date]:
        """Every date of the season, ``start`` to ``end`` included."""
        n = (self.end - self.start).days + 1
        return [self.start + i * ONE_DAY for i in range(max(n, 0))]

    def quota_id(self, index: int) -> str:
        """A quota's id: its own, else ``<industry>-<n>``."""
        quota = self.quotas[index]
        return quota.id or f"{quota.industry}-{index + 1}"

    def levels(self) -> list[str | None]:
        """Per day the key period's level (the strictest where periods overlap), or None."""
        out: list[str | None] = []
        for day in self.days():
            found = [p.level for p in self.key_periods if p.start <= day <= p.end]
            out.append(max(found, key=LEVELS.index) if found else None)
        return out

    def key_period_names(self) -> list[str]:
        """Per day the names of the key periods in force, joined (empty if none)."""
        return [
            ", ".join(p.name for p in self.key_periods if p.start <= day <= p.end)
            for day in self.days()
        ]


@dataclass
class SeasonInput:
    """A validated season with its risk series resolved (one value per day)."""

    season: Season
    risk: list[float]
    name: str


def check_season(season: Season) -> list[Problem]:
    """Rules inside the season file."""
    problems: list[Problem] = []
    if season.end < season.start:
        problems.append(Problem(("end",), f"{season.end} is before start {season.start}"))
    elif (season.end - season.start).days + 1 > MAX_DAYS:
        problems.append(Problem(("end",), f"a season lasts at most {MAX_DAYS} days"))
    seen: dict[str, int] = {}
    for i, quota in enumerate(season.quotas):
        if quota.industry not in INDUSTRIES:
            problems.append(
                Problem(("quotas", i, "industry"), f"unknown industry {quota.industry!r}")
            )
        qid = season.quota_id(i)
        if qid in seen:
            problems.append(
                Problem(
                    ("quotas", i, "id"), f"duplicate quota id {qid!r} (also quotas[{seen[qid]}])"
                )
            )
        seen.setdefault(qid, i)
    for industry in season.min_running_share:
        if industry not in INDUSTRIES:
            problems.append(
                Problem(("min_running_share", industry), f"unknown industry {industry!r}")
            )
    for i, period in enumerate(season.key_periods):
        if period.end < period.start:
            problems.append(
                Problem(("key_periods", i, "end"), f"{period.end} is before start {period.start}")
            )
        for key in ("start", "end"):
            day = getattr(period, key)
            if not season.start <= day <= season.end:
                problems.append(
                    Problem(
                        ("key_periods", i, key),
                        f"{day} is outside the season {season.start} .. {season.end}",
                    )
                )
    if isinstance(season.risk, dict):
        for day in season.risk:
            if not season.start <= day <= season.end:
                problems.append(
                    Problem(
                        ("risk", str(day)),
                        f"{day} is outside the season {season.start} .. {season.end}",
                    )
                )
    return problems


def exempt_grades(season: Season, dataset: Dataset) -> list[str]:
    """The season's exempt grades (default: the city plan's ``protect_grades``)."""
    if season.exempt_grades is not None:
        return list(season.exempt_grades)
    return list(dataset.city.protect_grades)


def exempt_reason(source: Source, grades: list[str]) -> str | None:
    """Why a source carries no quota: guaranteed firm or exempt grade (None: it does)."""
    if source.guarantee:
        return f"guaranteed firm ({source.guarantee})"
    if source.grade and source.grade in grades:
        return f"grade {source.grade} (exempt_grades)"
    return None


def selected_lines(quota: Quota, dataset: Dataset) -> list[tuple[str, str]]:
    """(source, line) pairs a quota selects, exempt sources included, in data order."""
    out = []
    for source in dataset.sources:
        plan = dataset.plans.get(source.id)
        if plan is None or source.industry != quota.industry:
            continue
        if quota.sources is not None and source.id not in quota.sources:
            continue
        for line in plan.lines:
            if quota.lines is not None and not any(
                fnmatch.fnmatchcase(line.id, pattern) for pattern in quota.lines
            ):
                continue
            out.append((source.id, line.id))
    return out


def cross_check(season: Season, dataset: Dataset) -> list[Problem]:
    """Rules against the data folder: industries present, levels in the city plan, quotas
    selecting at least one line, sources known."""
    problems: list[Problem] = []
    industries = {s.industry for s in dataset.sources if s.id in dataset.plans}
    for i, quota in enumerate(season.quotas):
        if quota.industry not in industries:
            problems.append(
                Problem(
                    ("quotas", i, "industry"),
                    f"no source with a plan in industry {quota.industry!r} in the data",
                )
            )
            continue
        for j, ident in enumerate(quota.sources or []):
            if ident not in dataset.plans:
                problems.append(
                    Problem(("quotas", i, "sources", j), f"no source with a plan {ident!r}")
                )
        if not selected_lines(quota, dataset):
            problems.append(Problem(("quotas", i), "selects no line"))
    for industry in season.min_running_share:
        if industry in INDUSTRIES and industry not in industries:
            problems.append(
                Problem(
                    ("min_running_share", industry),
                    f"no source with a plan in industry {industry!r} in the data",
                )
            )
    for i, period in enumerate(season.key_periods):
        if period.level not in dataset.city.levels:
            known = ", ".join(dataset.city.level_order)
            problems.append(
                Problem(("key_periods", i, "level"), f"not a level of the city plan ({known})")
            )
    return problems


def read_risk_csv(path: Path, name: str, season: Season) -> tuple[dict[dt.date, float], list[str]]:
    """A ``date,risk`` CSV: one row per date, risk ≥ 0."""
    text, errors = read_text(path, name)
    if text is None:
        return {}, errors
    out: dict[dt.date, float] = {}
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not {"date", "risk"} <= set(reader.fieldnames):
        return {}, [f"{where(name, 1)}: expected the header date,risk"]
    for row_no, row in enumerate(reader, start=2):
        try:
            day = dt.date.fromisoformat((row.get("date") or "").strip())
        except ValueError:
            errors.append(f"{where(name, row_no, 'date')}: not a date {row.get('date')!r}")
            continue
        try:
            value = float((row.get("risk") or "").strip())
        except ValueError:
            errors.append(f"{where(name, row_no, 'risk')}: not a number {row.get('risk')!r}")
            continue
        if not 0 <= value < float("inf"):
            errors.append(f"{where(name, row_no, 'risk')}: must be a finite number ≥ 0")
        elif not season.start <= day <= season.end:
            errors.append(f"{where(name, row_no, 'date')}: {day} is outside the season")
        elif day in out:
            errors.append(f"{where(name, row_no, 'date')}: duplicate date {day}")
        else:
            out[day] = value
    return out, errors


def parse_season_text(
    text: str, name: str, dataset: Dataset | None = None, folder: Path | None = None
) -> SeasonInput:
    """Parse and check a season file; raises :class:`ValidationErrors` with every problem."""
    data, node = read_yaml(text, name)
    if not isinstance(data, dict):
        raise ValidationErrors([f"{where(name, 1)}: expected a mapping of season fields"])
    try:
        season = Season.model_validate(data)
    except ValidationError as exc:
        raise ValidationErrors(format_problems(name, pydantic_problems(exc), node)) from None
    problems = check_season(season)
    if dataset is not None and not problems:
        problems += cross_check(season, dataset)
    errors = format_problems(name, problems, node)
    days = season.days()
    risk = [1.0] * len(days)
    if isinstance(season.risk, dict):
        risk = [float(season.risk.get(day, 0.0)) for day in days]
    elif isinstance(season.risk, str):
        base = folder if folder is not None else Path(".")
        csv_path = base / season.risk
        shown = str(Path(name).parent / season.risk)
        values, csv_errors = read_risk_csv(csv_path, shown, season)
        errors += csv_errors
        risk = [values.get(day, 0.0) for day in days]
    if errors:
        raise ValidationErrors(errors, what=name)
    return SeasonInput(season, risk, name)


def load_season(
    path: Path | str | None, dataset: Dataset, display: str | None = None
) -> SeasonInput:
    """Read a season file (default ``plans/season.yaml`` of the data folder), checked
    against ``dataset``; raises :class:`ValidationErrors` naming file, line and field."""
    if path is None:
        file = dataset.root / SEASON_FILE
        name = display or SEASON_FILE
    else:
        file = Path(path)
        name = display or str(path)
    text, errors = read_text(file, name)
    if text is None:
        raise ValidationErrors(errors)
    return parse_season_text(text, name, dataset, file.parent)
