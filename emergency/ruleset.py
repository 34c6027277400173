"""Warning rule sets as data (docs/RULES.md): models, loading and choosing one.

A rule set is a YAML file ``plans/rules/<id>.yaml`` written in the small trigger language
described in ``docs/RULES.md``: levels from mild to severe, each with a trigger built from
``run`` / ``count`` / ``day`` conditions combined with ``any_of`` / ``all_of``. A new rule
set is a new file, never code. :mod:`emergency.rules` holds a forecast against one.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from emergency import LEVELS
from emergency.aqi import STANDARDS
from emergency.errors import InputError
from emergency.forecast import Forecast, Level, describe_error, field_path
from emergency.paths import DEFAULT_RULE_SET, default_data_dir, rules_dir
from emergency.yamlfile import line_of

RangeEnd = Literal["upper", "lower", "mid"]

LEVEL_RANK: dict[str, int] = {level: rank for rank, level in enumerate(LEVELS)}
"""Severity of each level: blue 0 < yellow 1 < orange 2 < red 3."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Threshold(_Strict):
    """An AQI bound: ``above: 200`` (AQI > 200) or ``at_least: 500`` (AQI ≥ 500)."""

    above: int | None = Field(default=None, ge=0)
    at_least: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _exactly_one(self) -> Threshold:
        if (self.above is None) == (self.at_least is None):
            raise ValueError("give exactly one of `above` and `at_least`")
        return self

    @property
    def lowest(self) -> int:
        """The lowest (integer) AQI that meets the bound."""
        return self.at_least if self.at_least is not None else int(self.above or 0) + 1

    def met_by(self, aqi: int) -> bool:
        """Whether a daily AQI meets the bound."""
        return aqi >= self.lowest

    def text(self) -> str:
        """``AQI > 200`` or ``AQI ≥ 500``."""
        return f"AQI > {self.above}" if self.above is not None else f"AQI ≥ {self.at_least}"


class RunCondition(Threshold):
    """At least ``days`` consecutive days meeting the bound within the episode."""

    days: int = Field(ge=1)


class CountCondition(Threshold):
    """At least ``days`` days (not necessarily consecutive) meeting the bound in the episode."""

    days: int = Field(ge=1)


TRIGGER_KINDS = ("run", "count", "day", "any_of", "all_of")


class Trigger(_Strict):
    """Exactly one of ``run``, ``count``, ``day`` (any single day), ``any_of``, ``all_of``."""

    run: RunCondition | None = None
    count: CountCondition | None = None
    day: Threshold | None = None
    any_of: list[Trigger] | None = Field(default=None, min_length=1)
    all_of: list[Trigger] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> Trigger:
        given = [kind for kind in TRIGGER_KINDS if getattr(self, kind) is not None]
        if len(given) != 1:
            got = f" (got {', '.join(given)})" if given else ""
            raise ValueError(f"give exactly one of {', '.join(TRIGGER_KINDS)}{got}")
        return self

    def thresholds(self, path: str) -> Iterator[tuple[str, Threshold]]:
        """Every bound in this trigger with its field path."""
        for kind in ("run", "count", "day"):
            bound = getattr(self, kind)
            if bound is not None:
                yield f"{path}.{kind}", bound
        for kind in ("any_of", "all_of"):
            for i, sub in enumerate(getattr(self, kind) or []):
                yield from sub.thresholds(f"{path}.{kind}[{i}]")


class RuleSet(_Strict):
    """A warning rule set (see ``docs/RULES.md``).

    Attributes
    ----------
    id : the file's stem, e.g. ``henan-2019``.
    levels : trigger per level, mild to severe; a subset of blue, yellow, orange, red.
    episode : the bound a day must meet to belong to an episode (heavy pollution).
    range_end : which end of an AQI range forecast decides.
    advisory : when no level is reached, the condition for a health advisory only.
    release_hours : the warning may be released when the forecast stays at or below the
        episode bound for at least this many hours.
    merge_gap_days : episodes separated by at most this many clean days are one episode.
    lead_hours : a warning should be issued at least this long before its start; a later
        one is marked ``late`` (publish at once). None: no lead time.
    """

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    title: str
    source: str = ""
    levels: dict[Level, Trigger] = Field(min_length=1)
    episode: Threshold
    range_end: RangeEnd
    advisory: Trigger | None = None
    release_hours: int = Field(ge=1)
    merge_gap_days: int = Field(ge=0)
    lead_hours: int | None = Field(default=None, ge=0, le=24 * 7)

    @property
    def level_names(self) -> list[str]:
        """The rule set's levels, mild to severe."""
        return list(self.levels)

    @property
    def release_days(self) -> int:
        """``release_hours`` in whole forecast days (36 h → 2 days)."""
        return -(-self.release_hours // 24)

    def problems(self) -> Iterator[tuple[str, str]]:
        """Checks beyond field types, as ``(field path, message)``."""
        names = self.level_names
        for before, level in pairwise(names):
            if LEVEL_RANK[level] <= LEVEL_RANK[before]:
                yield (
                    f"levels.{level}",
                    f"listed after {before}; list levels mild to severe ({', '.join(LEVELS)})",
                )
        triggers = [(f"levels.{k}", t) for k, t in self.levels.items()]
        if self.advisory is not None:
            triggers.append(("advisory", self.advisory))
        for path, trigger in triggers:
            for where, bound in trigger.thresholds(path):
                if bound.lowest < self.episode.lowest:
                    yield (
                        where,
                        f"{bound.text()} reaches below the episode bound ({self.episode.text()});"
                        " only episode days are assessed",
                    )


def list_rule_sets(data_dir: Path | None = None) -> list[str]:
    """Ids of the rule sets available in a data folder (``plans/rules/*.yaml``)."""
    return sorted(p.stem for p in rules_dir(data_dir).glob("*.yaml"))


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _rule_file(name_or_path: str | Path, data_dir: Path | None) -> Path:
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or "/" in text or text.endswith((".yaml", ".yml")):
        path = Path(name_or_path)
        if not path.is_file():
            raise InputError(f"{text}: rule set file not found")
        return path
    path = rules_dir(data_dir) / f"{text}.yaml"
    if not path.is_file():
        known = ", ".join(list_rule_sets(data_dir)) or "none"
        raise InputError(f"rule set {text!r}: unknown (known: {known})")
    return path


def _path_parts(path: str) -> list[str | int]:
    """``levels.red.any_of[0].run`` → ``['levels', 'red', 'any_of', 0, 'run']``."""
    parts: list[str | int] = []
    for piece in path.replace("[", ".[").split("."):
        if piece.startswith("["):
            parts.append(int(piece.strip("[]")))
        elif piece:
            parts.append(piece)
    return parts


def parse_rule_set(text: str, source: str, stem: str | None = None) -> RuleSet:
    """Validate the YAML text of a rule set.

    Parameters
    ----------
    text : the YAML document.
    source : file name used in error messages.
    stem : the file's stem; when given, ``id`` must equal it.

    Raises
    ------
    InputError
        ``file:line: field: message`` for the first problem found.
    """

    def fail(path: str, message: str) -> InputError:
        line = line_of(text, _path_parts(path))
        place = f"{source}:{line}" if line else source
        return InputError(f"{place}: {path}: {message}" if path else f"{place}: {message}")

    try:
        raw: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{place}: malformed YAML: {problem}") from None
    if not isinstance(raw, dict):
        raise InputError(f"{source}: expected a mapping of rule-set fields")
    try:
        rule_set = RuleSet.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        # an unknown field says more than the required one it was probably meant as
        # (`run: {hours: 48}` → "run.hours: unknown field", not "run.days: missing")
        error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        path, message = describe_error(error)
        if error.get("type") == "literal_error" and "levels" in error.get("loc", ())[:1]:
            path = field_path([p for p in error["loc"] if p != "[key]"])
        raise fail(path, message) from None
    if stem is not None and rule_set.id != stem:
        raise fail("id", f"{rule_set.id!r} differs from the file name {stem!r}")
    for path, message in rule_set.problems():
        raise fail(path, message)
    return rule_set


def load_rule_set(name_or_path: str | Path, data_dir: Path | None = None) -> RuleSet:
    """Load a rule set by id (``plans/rules/<id>.yaml`` of ``data_dir``) or by file path.

    Raises
    ------
    InputError
        Unknown id (listing the known ones), missing file, or an invalid file (naming the
        file, the line and the field).
    """
    path = _rule_file(name_or_path, data_dir)
    source = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{source}: cannot read: {exc}") from None
    return parse_rule_set(text, source, stem=path.stem)


def city_setting(key: str, data_dir: Path | None = None) -> str | None:
    """One top-level string of ``<data>/plans/city.yaml`` (``rule_set``, ``aqi_standard``).

    Only that key is read here; the city plan as a whole is validated elsewhere.
    """
    path = (data_dir if data_dir is not None else default_data_dir()) / "plans" / "city.yaml"
    if not path.is_file():
        return None
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{_display(path)}: cannot read: {first}") from None
    value = raw.get(key) if isinstance(raw, dict) else None
    if value is not None and not isinstance(value, str):
        raise InputError(f"{_display(path)}: {key}: must be a string, got {value!r}")
    return value


def city_standard(data_dir: Path | None = None) -> str | None:
    """The city plan's ``aqi_standard`` (``HJ633-2012``, ``HJ633-2026``); None for
    ``by-date`` or no city plan."""
    value = city_setting("aqi_standard", data_dir)
    if value is None or value == "by-date":
        return None
    if value not in STANDARDS:
        base = data_dir if data_dir is not None else default_data_dir()
        known = ", ".join(("by-date", *STANDARDS))
        raise InputError(
            f"{_display(base / 'plans' / 'city.yaml')}: aqi_standard: unknown standard"
            f" {value!r} (known: {known})"
        )
    return value


def choose_rule_set(
    forecast: Forecast | None = None,
    rules: str | Path | None = None,
    data_dir: Path | None = None,
) -> RuleSet:
    """The rule set in force: ``rules`` > the forecast's ``rule_set`` > the city plan's
    ``rule_set`` > ``henan-2019``."""
    name: str | Path = (
        rules
        or (forecast.rule_set if forecast is not None else None)
        or city_setting("rule_set", data_dir)
        or DEFAULT_RULE_SET
    )
    return load_rule_set(name, data_dir)
