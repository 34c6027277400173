"""``emergency assess``: the warning level a consultation forecast calls for (docs/FORMATS.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from emergency.cli.app import DataOpt, app, guarded
from emergency.solution import WarningDecision

LEVEL_STYLE = {
    "blue": "bold blue",
    "yellow": "bold yellow",
    "orange": "bold dark_orange",
    "red": "bold red",
}
LEVEL_LABEL = {
    "blue": "BLUE (IV, 蓝色预警)",
    "yellow": "YELLOW (III, 黄色预警)",
    "orange": "ORANGE (II, 橙色预警)",
    "red": "RED (I, 红色预警)",
}
CATEGORY_STYLE = {
    "excellent": "green",
    "good": "yellow",
    "light": "dark_orange",
    "moderate": "red",
    "heavy": "magenta",
    "severe": "bold dark_red",
}


def render(decision: WarningDecision, console: Console) -> None:
    """A short human summary: level, period, reason and the per-day AQI table."""
    if decision.level is not None:
        head = f"[{LEVEL_STYLE[decision.level]}]{LEVEL_LABEL[decision.level]} warning[/]"
    elif decision.advisory:
        head = "[bold]No warning — health advisory only[/]"
    else:
        head = "[bold green]No warning[/]"
    console.print(f"{head}  [dim]rule set {decision.rule_set}[/]")
    if decision.start is not None:
        console.print(f"Period: {decision.start} .. {decision.end}")
    if decision.regional_order:
        console.print(f"Regional order: {decision.regional_order}")
    console.print(f"Reason: {decision.reason}", highlight=False)
    release = "yes" if decision.release_ok else "no"
    console.print(f"A warning in force may be released: {release}", highlight=False)
    coming = [e for e in decision.episodes if decision.end is None or e.start > decision.end]
    for episode in coming:
        what = episode.level or ("health advisory" if episode.advisory else "no level")
        console.print(
            f"Forecast to come 后续过程: {episode.start} .. {episode.end}: {what} "
            f"(peak AQI {episode.peak_aqi})",
            highlight=False,
        )
    if not decision.days:
        return
    table = Table(show_edge=False, pad_edge=False)
    for column in ("date", "AQI", "forecast range", "category", "primary", "level"):
        table.add_column(column, justify="right" if column == "AQI" else "left")
    for day in decision.days:
        style = CATEGORY_STYLE.get(day.category, "")
        aqi = f"{day.aqi}{'+' if day.off_scale else ''}"
        table.add_row(
            str(day.date),
            f"[{style}]{aqi}[/]" if style else aqi,
            f"{day.aqi_range[0]}–{day.aqi_range[1]}" if day.aqi_range else "",
            f"{day.category_zh} {day.category}",
            ", ".join(day.primary),
            f"[{LEVEL_STYLE[day.level]}]{day.level}[/]" if day.level in LEVEL_STYLE else "",
        )
    console.print(table)


@app.command("assess")
@guarded
def assess_command(
    forecast: Annotated[
        Path, typer.Option("--forecast", "-f", help="Forecast JSON file (docs/FORMATS.md).")
    ],
    rules: Annotated[
        str | None,
        typer.Option(
            "--rules",
            "-r",
            help="Rule set id (e.g. henan-2019) or a rule-set YAML file. Default: the "
            "forecast's rule_set, else the city plan's, else henan-2019.",
        ),
    ] = None,
    data: DataOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the warning object as JSON.")
    ] = False,
) -> None:
    """Decide the warning level a forecast calls for under a rule set."""
    from emergency.forecast import load_forecast
    from emergency.rules import assess, choose_rule_set, city_standard

    loaded = load_forecast(forecast)
    rule_set = choose_rule_set(loaded, rules, data)
    decision = assess(loaded, rule_set, standard=city_standard(data))
    if as_json:
        typer.echo(json.dumps(decision.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    render(decision, Console(highlight=False))
