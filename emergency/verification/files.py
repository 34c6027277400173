"""The offline inputs of ``emergency verify``: a folder of forecast JSON files, as the
consultation sends them (docs/FORMATS.md), read and checked all at once."""

from __future__ import annotations

from pathlib import Path

from emergency.errors import InputError, ValidationErrors
from emergency.forecast import load_forecast
from emergency.rules import choose_rule_set, city_standard
from emergency.verification.pairs import ForecastRead, read_forecast


def read_forecast_dir(
    folder: Path, rules: str | None = None, data: Path | None = None
) -> list[ForecastRead]:
    """Every ``*.json`` file of ``folder`` (by name), read for verification.

    The rule set of each: ``rules`` > the forecast's ``rule_set`` > the city plan's >
    henan-2019 (as ``emergency assess``).

    Raises
    ------
    ValidationErrors
        Every problem of every file (``file:line: field: what``), a forecast without
        ``issued_at`` included; a folder that is missing or holds no JSON file.
    """
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder of forecast JSON files")
    files = sorted(folder.glob("*.json"))
    if not files:
        raise InputError(f"{folder}: no forecast JSON file (*.json)")
    standard = city_standard(data)
    errors: list[str] = []
    out: list[ForecastRead] = []
    for path in files:
        try:
            forecast = load_forecast(path)
            if forecast.issued_at is None:
                raise InputError(
                    f"{path}: issued_at: required to verify a forecast (leads count from it)"
                )
            rule_set = choose_rule_set(forecast, rules, data)
            out.append(read_forecast(forecast, rule_set, name=path.name, standard=standard))
        except ValidationErrors as exc:
            errors += exc.errors
        except InputError as exc:
            errors.append(exc.message)
    if errors:
        raise ValidationErrors(errors, what=str(folder))
    return out
