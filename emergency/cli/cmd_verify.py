"""``emergency verify``: the consultation's forecasts held against the observed AQI, offline
(docs/VERIFY.md) — bias and error per lead day, heavy-day and level tables, per party."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from emergency.cli.app import DataOpt, LangOpt, app, city_language, guarded
from emergency.names import label
from emergency.verification.views import ContingencyView, ScoresView, VerificationView


def _score(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _party(name: str, zh: bool) -> str:
    return name or ("（未署名）" if zh else "(unnamed)")


def render_scores(scores: ScoresView, console: Console, lang: str, title: str) -> None:
    """One set of scores: the lead table, then the heavy-day and level tables."""
    zh = lang == "zh"
    leads = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for zh_name, en_name in (("预报时效(天)", "lead days"), ("样本数", "n")):
        leads.add_column(zh_name if zh else en_name, justify="right")
    leads.add_column("偏差 bias" if zh else "bias", justify="right")
    leads.add_column("平均绝对误差 MAE" if zh else "MAE", justify="right")
    for lead in scores.by_lead:
        leads.add_row(str(lead.lead_days), str(lead.n), f"{lead.bias:+.2f}", f"{lead.mae:.2f}")
    console.print(leads)
    tables = Table(show_edge=False, pad_edge=False)
    heads = (
        ("事件", "event"),
        ("命中", "hits"),
        ("漏报", "misses"),
        ("空报", "false alarms"),
        ("命中率 POD", "POD"),
        ("空报率 FAR", "FAR"),
        ("TS 评分", "TS"),
    )
    for i, (zh_name, en_name) in enumerate(heads):
        tables.add_column(zh_name if zh else en_name, justify="left" if i == 0 else "right")

    def row(name: str, t: ContingencyView) -> None:
        tables.add_row(
            name,
            str(t.hits),
            str(t.misses),
            str(t.false_alarms),
            _score(t.pod),
            _score(t.far),
            _score(t.ts),
        )

    row("重污染日 AQI>200" if zh else "heavy day AQI>200", scores.heavy)
    for level, table in scores.levels.items():
        row(f"{label('level', level, 'zh')}及以上预警" if zh else f"{level} or above", table)
    console.print(tables)


def render(view: VerificationView, console: Console, lang: str) -> None:
    """The whole verification, Chinese first (``lang`` zh) or in English."""
    zh = lang == "zh"
    if zh:
        console.print(
            f"预报检验：{view.forecasts} 份预报，{view.n} 个（预报，日）样本"
            f"；重复预报 {view.duplicates}，发布日之前的预报日 {view.before_issue}"
            f"，尚无观测的预报日 {view.unobserved}"
        )
    else:
        console.print(
            f"Forecast verification: {view.forecasts} forecasts, {view.n} (forecast, day) "
            f"pairs; {view.duplicates} duplicates, {view.before_issue} days before their "
            f"issue date, {view.unobserved} days not observed"
        )
    render_scores(view, console, lang, "全部 All parties" if zh else "All parties")
    for party, scores in view.by_party.items():
        name = _party(party, zh)
        render_scores(scores, console, lang, f"会商方 {name}" if zh else f"Party {name}")


@app.command("verify")
@guarded
def verify_command(
    observations: Annotated[
        Path,
        typer.Option(
            "--observations",
            help="CSV of the observed daily AQI: header date,aqi (station, primary optional; "
            "the `city` station is verified against).",
        ),
    ],
    forecasts: Annotated[
        Path,
        typer.Option(
            "--forecasts",
            help="folder of forecast JSON files as the consultation sends them (*.json).",
        ),
    ],
    rules: Annotated[
        str | None,
        typer.Option(
            "--rules",
            "-r",
            help="Rule set id or YAML file for every forecast. Default: each forecast's "
            "rule_set, else the city plan's, else henan-2019.",
        ),
    ] = None,
    data: DataOpt = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print by_lead, heavy, levels and by_party as JSON (docs/VERIFY.md)."
        ),
    ] = False,
    lang: LangOpt = None,
) -> None:
    """Verify forecasts against observations: bias and MAE per lead day, heavy-day and
    warning-level hits, misses, false alarms, POD, FAR and TS, over all and per party."""
    from emergency.verification import verify
    from emergency.verification.files import read_forecast_dir
    from emergency.verification.observed import city_series, read_observations_csv

    rows = read_observations_csv(observations)
    observed = city_series(rows, str(observations))
    read = read_forecast_dir(forecasts, rules, data)
    result = verify(read, observed)
    if as_json:
        body = result.view.model_dump(mode="json", exclude={"first", "last"})
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    render(result.view, Console(highlight=False), city_language(lang, data))
