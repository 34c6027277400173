"""``emergency assess``: the warning level a consultation forecast calls for (docs/FORMATS.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from emergency.cli.app import DataOpt, LangOpt, app, city_language, guarded
from emergency.names import label
from emergency.solution import EpisodeView, WarningDecision

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


PRIMARY_LABEL = {
    "pm25": "PM2.5",
    "pm10": "PM10",
    "o3": "O3",
    "no2": "NO2",
    "so2": "SO2",
    "co": "CO",
}
"""Primary pollutants as symbols (the same in both languages)."""

HEADERS_ZH = {
    "date": "日期",
    "AQI": "AQI",
    "forecast range": "预报范围",
    "category": "空气质量级别",
    "primary": "首要污染物",
    "level": "预警级别",
}


def render(decision: WarningDecision, console: Console, lang: str = "en") -> None:
    """A short human summary: level, period, reason and the per-day AQI table (``lang``:
    en or zh)."""
    if lang == "zh":
        _render_zh(decision, console)
        return
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
    for episode in _coming(decision):
        what = episode.level or ("health advisory" if episode.advisory else "no level")
        console.print(
            f"Forecast to come 后续过程: {episode.start} .. {episode.end}: {what} "
            f"(peak AQI {episode.peak_aqi})",
            highlight=False,
        )
    _days(decision, console, "en")


def _coming(decision: WarningDecision) -> list[EpisodeView]:
    return [e for e in decision.episodes if decision.end is None or e.start > decision.end]


def _render_zh(decision: WarningDecision, console: Console) -> None:
    if decision.level is not None:
        head = f"[{LEVEL_STYLE[decision.level]}]{label('level', decision.level, 'zh')}预警[/]"
    elif decision.advisory:
        head = "[bold]不发布预警，仅健康提示[/]"
    else:
        head = "[bold green]不发布预警[/]"
    console.print(f"{head}  [dim]规则 {decision.rule_set}[/]")
    if decision.start is not None:
        console.print(f"预警时段：{decision.start} .. {decision.end}")
    if decision.regional_order:
        console.print(f"区域预警指令：{label('level', decision.regional_order, 'zh')}")
    console.print(f"原因：{decision.reason_zh or decision.reason}", highlight=False)
    if decision.late_reason:
        console.print(f"[yellow]{decision.late_reason.split(' / ')[-1]}[/]", highlight=False)
    console.print(f"已发布的预警可否解除：{'可' if decision.release_ok else '否'}", highlight=False)
    for episode in _coming(decision):
        what = (
            label("level", episode.level, "zh") + "预警"
            if episode.level
            else ("健康提示" if episode.advisory else "未达预警级别")
        )
        console.print(
            f"后续过程：{episode.start} .. {episode.end}：{what}（AQI 峰值 {episode.peak_aqi}）"
            f"：{episode.reason_zh or episode.reason}",
            highlight=False,
        )
    _days(decision, console, "zh")


def _days(decision: WarningDecision, console: Console, lang: str) -> None:
    if not decision.days:
        return
    zh = lang == "zh"
    table = Table(show_edge=False, pad_edge=False)
    for column in ("date", "AQI", "forecast range", "category", "primary", "level"):
        name = HEADERS_ZH[column] if zh else column
        table.add_column(name, justify="right" if column == "AQI" else "left")
    for day in decision.days:
        style = CATEGORY_STYLE.get(day.category, "")
        aqi = f"{day.aqi}{'+' if day.off_scale else ''}"
        level = label("level", day.level, "zh") if zh else (day.level or "")
        primary = [PRIMARY_LABEL.get(p, p) for p in day.primary] if zh else day.primary
        table.add_row(
            str(day.date),
            f"[{style}]{aqi}[/]" if style else aqi,
            f"{day.aqi_range[0]}–{day.aqi_range[1]}" if day.aqi_range else "",
            day.category_zh if zh else f"{day.category_zh} {day.category}",
            ", ".join(primary),
            f"[{LEVEL_STYLE[day.level]}]{level}[/]" if day.level in LEVEL_STYLE else "",
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
    lang: LangOpt = None,
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
    render(decision, Console(highlight=False), city_language(lang, data))
