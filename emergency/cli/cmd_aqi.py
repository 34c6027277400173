"""``emergency aqi``: AQI, category and primary pollutants of a set of concentrations."""

import datetime
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from emergency.aqi import (
    DAILY_KEYS,
    HOURLY_KEYS,
    HOURLY_ONLY,
    KEYS,
    STANDARDS,
    UNITS,
    DailyAqi,
    daily_aqi,
    hourly_aqi,
)
from emergency.cli.app import ErrorLangOpt, app, guarded
from emergency.errors import InputError

# Terminal colours for the band colours of the standard (rich has no "orange"/"maroon").
_RICH_COLOUR = {"orange": "dark_orange", "maroon": "dark_red"}


def parse_pairs(args: list[str]) -> dict[str, str]:
    """``["pm25=120", ...]`` as ``{"pm25": "120"}``; values stay text so they stay exact.

    Raises
    ------
    InputError
        An argument without ``=``, with an empty side, or a key given twice.
    """
    pairs: dict[str, str] = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise InputError(f"argument {arg!r}: expected KEY=VALUE, e.g. pm25=120")
        if key in pairs:
            raise InputError(f"argument {arg!r}: {key} is given twice")
        pairs[key] = value
    return pairs


def _parse_date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--date {text!r}: not a date (YYYY-MM-DD)") from None


def _print_summary(result: DailyAqi, given: dict[str, str], hourly: bool = False) -> None:
    console = Console()
    colour = _RICH_COLOUR.get(result.colour, result.colour)
    kind = "Hourly AQI" if hourly else "AQI"
    console.print(
        f"[bold]{kind} {result.aqi}[/bold]  [{colour}]{result.category_zh} {result.category}[/]"
        f"  ({result.standard})"
    )
    primary = ", ".join(result.primary) if result.primary else "none (AQI 50 or less)"
    console.print(f"Primary pollutant: {primary}")

    table = Table(show_edge=False)
    table.add_column("key")
    table.add_column("concentration", justify="right")
    table.add_column("unit")
    table.add_column("IAQI", justify="right")
    for key in KEYS:
        if key not in given:
            continue
        sub = result.iaqi.get(key)
        shown = "—" if sub is None else str(sub)
        if sub is not None and key in result.off_scale_keys:
            shown += " 爆表"
        style = "bold" if key in result.primary else None
        table.add_row(key, escape(given[key]), UNITS[key], shown, style=style)
    console.print(table)

    for key, used in result.substituted.items():
        console.print(f"{key}: above its table, not computed (HJ 633); {used} is used instead.")
    if result.off_scale:
        keys = ", ".join(result.off_scale_keys)
        console.print(
            f"[bold]Off the scale (爆表):[/bold] {keys} above the top breakpoint; "
            "sub-index reported as 500."
        )


@app.command("aqi")
@guarded
def aqi_command(
    values: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="KEY=VALUE...",
            help=f"Concentrations in µg/m³ (CO in mg/m³). Daily keys: {', '.join(DAILY_KEYS)}; "
            f"with --hourly: {', '.join(HOURLY_KEYS)}.",
            show_default=False,
        ),
    ] = None,
    standard: Annotated[
        str | None,
        typer.Option(
            "--standard",
            help=f"Breakpoint table: {' or '.join(STANDARDS)} (default: by --date, else "
            "HJ633-2012).",
        ),
    ] = None,
    date: Annotated[
        str | None,
        typer.Option(
            "--date",
            metavar="YYYY-MM-DD",
            help="Day assessed; chooses the table (HJ633-2026 from 2026-03-01).",
        ),
    ] = None,
    hourly: Annotated[
        bool,
        typer.Option(
            "--hourly",
            help="Hourly (real-time) AQI from 1-hour values: so2_1h, no2_1h, co_1h, o3_1h, "
            "pm25 and pm10 (1-hour, on the 24-hour breakpoints), o3_8h; so2 only stands in "
            "for so2_1h above 800.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    lang: ErrorLangOpt = None,
) -> None:
    """AQI after HJ 633: sub-indices, primary pollutants and category (daily, or --hourly)."""
    given = parse_pairs(values or [])
    if not given:
        raise InputError("no concentrations given; e.g. emergency aqi pm25=120 pm10=180")
    if not hourly:
        for key in HOURLY_ONLY:
            if key in given:
                raise InputError(
                    f"{key}={given[key]}: a 1-hour value counts only in the hourly (real-time) "
                    f"AQI; the daily AQI (HJ 633) uses the 24-hour mean "
                    f"{key.removesuffix('_1h')}. For the hourly AQI add --hourly: "
                    f"emergency aqi --hourly {' '.join(f'{k}={v}' for k, v in given.items())}"
                )
    day = _parse_date(date) if date is not None else None
    assess = hourly_aqi if hourly else daily_aqi
    result = assess(given, standard=standard, date=day)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        _print_summary(result, given, hourly)
