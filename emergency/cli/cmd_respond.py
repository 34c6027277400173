"""``emergency respond`` (forecast → level → duties → least-cost list) and ``emergency curve``."""

from __future__ import annotations

import codecs
import io
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer
from pydantic import TypeAdapter
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from emergency import POLLUTANTS
from emergency.cli.app import (
    DataOpt,
    ErrorLangOpt,
    LangOpt,
    Language,
    app,
    fail,
    guarded,
    stdout_is_terminal,
)
from emergency.collector import gc_paused
from emergency.measures import measure_name
from emergency.names import label, note
from emergency.solution import Assignment, ResponsePlan

if TYPE_CHECKING:
    from emergency.dataset import Dataset
    from emergency.province import Output

_LABEL = {"so2": "SO2", "nox": "NOx", "pm": "PM", "vocs": "VOCs", "so2+nox": "SO2+NOx"}
MAX_ROWS = 40

TimeOpt = Annotated[
    float, typer.Option("--time-limit", help="Solver time limit per solve, seconds.", min=0.1)
]


def _load_dataset(data: Path | None, err: Console):
    from emergency.dataset import load_dataset
    from emergency.paths import default_data_dir

    with err.status("loading the data folder", spinner="dots"):
        return load_dataset(data or default_data_dir(), cache=True)


_STAGES_ZH = {
    "loading the data folder": "读取数据文件夹",
    "building the duties": "确定各源的义务",
    "building the model": "建立模型",
    "solving the LP relaxation": "求解线性松弛",
    "solving the sources in play first": "先求解关键源",
    "solving each day with the stops held": "保持停产安排不变，逐日求解",
    "improving the list by neighbourhoods": "在邻域上改进清单",
    "solving the integer model (CP-SAT)": "求解整数模型（CP-SAT）",
}
_SEARCH = re.compile(r"^searching: ([\d,]+) yuan, gap ([\d.]+%)$")


def stage_text(message: str, lang: str) -> str:
    """A progress message of the engine in ``lang`` (zh or en)."""
    if lang != "zh":
        return message
    found = _SEARCH.match(message)
    if found:
        return f"搜索中：{found.group(1)} 元，差距 {found.group(2)}"
    return _STAGES_ZH.get(message, message)


ROWS_PER_WRITE = 2000
"""List rows serialised in one call when a plan is written as JSON."""
_ROWS = TypeAdapter(list[Assignment])


def write_json(plan: ResponsePlan, out: TextIO) -> None:
    """The plan as JSON (indented like ``model_dump_json(indent=2)``), its list written
    :data:`ROWS_PER_WRITE` rows at a time: no string of the whole list (130 MB at 50,000
    sources) is ever made, and no call per row (1.2 s instead of 2.0 s for 194,000 rows)."""
    head = plan.model_dump_json(indent=2, exclude={"assignments"})
    rows = plan.assignments
    if not rows:
        out.write(plan.model_dump_json(indent=2) + "\n")
        return
    out.write(head[: head.rindex("}")].rstrip() + ',\n  "assignments": [\n')
    # To a UTF-8 file with plain newlines the rows go as the bytes the serializer makes,
    # not decoded and encoded again on the way; the text written so far goes first.
    raw = getattr(out, "buffer", None) if _utf8_lf(out) else None
    out.flush()
    for i in range(0, len(rows), ROWS_PER_WRITE):
        # "[\n  {...},\n  {...}\n]" → its rows two spaces further in, brackets dropped
        text = _ROWS.dump_json(rows[i : i + ROWS_PER_WRITE], indent=2)
        last = i + ROWS_PER_WRITE >= len(rows)
        part = b"  " + text[2:-2].replace(b"\n", b"\n  ") + (b"\n" if last else b",\n")
        if raw is not None:
            raw.write(part)
        else:
            out.write(part.decode())
    if raw is not None:
        raw.flush()
    out.write("  ]\n}\n")
    out.flush()


def _utf8_lf(out: TextIO) -> bool:
    """``out`` is a text file that writes UTF-8 on a system whose newline is ``\\n`` (as
    stdout does; a file opened with another ``newline=`` is not one to hand here)."""
    return (
        isinstance(out, io.TextIOWrapper)
        and codecs.lookup(out.encoding).name == "utf-8"
        and os.linesep == "\n"
    )


@contextmanager
def _progress_bar(err: Console, lang: str, time_limit: float) -> Iterator[Callable[[str], None]]:
    """Loading, duties, LP, the core and the search with its gap, on one line of stderr: the
    bar is the optimiser's time used against its limit."""
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(stage_text("loading the data folder", lang), total=time_limit)
        began = time.perf_counter()

        def say(message: str) -> None:
            bar.update(
                task,
                description=stage_text(message, lang),
                completed=min(time_limit, time.perf_counter() - began),
            )

        yield say


def _table(title: str) -> Table:
    """A table that fits 80 columns: no outer edge, no padding at its two sides."""
    return Table(title=title, show_edge=False, pad_edge=False)


def _date_column(table: Table, header: str = "date") -> None:
    """A date is never cut (``2016-12-…``) nor wrapped, nor are numbers: when the table is too
    wide, its text columns (level, measure, floor) fold onto a second line instead."""
    table.add_column(header, no_wrap=True, min_width=len("2016-12-16"))


_EN = {
    "totals": "Cuts against targets (kg/day)",
    "date": "date",
    "level": "level",
    "pollutant": "pollutant",
    "target": "target",
    "cut": "cut",
    "short": "short",
    "reachable": "reachable",
    "yuan/kg": "yuan/kg",
    "source": "source",
    "measure": "measure",
    "floor": "floor",
    "yuan": "yuan",
}
_ZH = {
    "totals": "各目标的减排量（kg/d）",
    "date": "日期",
    "level": "级别",
    "pollutant": "污染物",
    "target": "目标",
    "cut": "减排量",
    "short": "缺口",
    "reachable": "可达",
    "yuan/kg": "元/kg",
    "source": "企业编号",
    "measure": "措施",
    "floor": "预案",
    "yuan": "成本（元）",
}


def render(
    plan: ResponsePlan, console: Console, lang: str = "en", dataset: Dataset | None = None
) -> None:
    """Readable summary: warning, totals against targets, the list (``lang``: en or zh)."""
    if lang == "zh":
        _render_zh(plan, console, dataset)
        return
    w = plan.warning
    if w.level is None:
        console.print(f"[bold green]No warning[/] — {w.reason}", highlight=False)
        return
    console.print(
        f"[bold]{w.level.upper()} warning[/] {w.start} .. {w.end} ({w.rule_set}): {w.reason}",
        highlight=False,
    )
    gap = f", gap {plan.gap:.4%}" if plan.status != "optimal" else ""
    console.print(
        f"Status [bold]{plan.status}[/]{gap}; total cost {plan.total_cost_yuan:,.0f} yuan "
        f"(floors alone {plan.floor_cost_yuan:,.0f}; proven bound {plan.bound_yuan:,.0f}); "
        f"solved in {plan.solve_seconds:.2f} s",
        highlight=False,
    )
    for text in plan.notes:
        console.print(f"[yellow]note:[/] {text}", highlight=False)
    _tables(plan, console, "en")
    if len(plan.assignments) > MAX_ROWS:
        more = len(plan.assignments) - MAX_ROWS
        console.print(f"… {more} more rows: use --csv or --xlsx for all.")
    seen: set[str] = set()
    for a in _deep(plan):
        if a.deepened and a.source not in seen and len(seen) < 8:
            seen.add(a.source)
            console.print(f"[bold]{a.source}[/] {a.date}: {a.why}", highlight=False)


def _deep(plan: ResponsePlan) -> list[Assignment]:
    return sorted(plan.assignments, key=lambda a: (not a.deepened, -a.cost_yuan, a.source))


def _render_zh(plan: ResponsePlan, console: Console, dataset: Dataset | None) -> None:
    w = plan.warning
    if w.level is None:
        console.print(f"[bold green]无预警[/] — {w.reason_zh or w.reason}", highlight=False)
        return
    console.print(
        f"[bold]{label('level', w.level, 'zh')}预警[/] {w.start} .. {w.end}（{w.rule_set}）："
        f"{w.reason_zh or w.reason}",
        highlight=False,
    )
    gap = f"，差距 {plan.gap:.4%}" if plan.status != "optimal" else ""
    console.print(
        f"求解状态 [bold]{label('plan_status', plan.status, 'zh')}[/]{gap}；总成本 "
        f"{plan.total_cost_yuan:,.0f} 元（仅预案措施 {plan.floor_cost_yuan:,.0f} 元；"
        f"已证明下界 {plan.bound_yuan:,.0f} 元）；用时 {plan.solve_seconds:.2f} 秒",
        highlight=False,
    )
    for text in plan.notes:
        console.print(f"[yellow]说明：[/]{note(text, 'zh')}", highlight=False)
    _tables(plan, console, "zh")
    if len(plan.assignments) > MAX_ROWS:
        more = len(plan.assignments) - MAX_ROWS
        console.print(f"… 另有 {more} 行：完整清单用 --csv 或 --xlsx 导出。")
    seen: set[str] = set()
    for a in _deep(plan):
        if a.deepened and a.source not in seen and len(seen) < 8:
            seen.add(a.source)
            name = measure_name(dataset, a.source, a.measure) if dataset else a.measure_name
            shown = f"{name}（{a.measure}）" if name and name != a.measure else a.measure
            console.print(
                f"[bold]{a.source}[/] {a.date}：{shown} — {a.why_zh or a.why}", highlight=False
            )


def _tables(plan: ResponsePlan, console: Console, lang: str) -> None:
    """The totals against targets and the first rows of the list, headers in ``lang``."""
    words = _ZH if lang == "zh" else _EN
    totals = _table(words["totals"])
    _date_column(totals, words["date"])
    totals.add_column(words["level"], overflow="fold")
    totals.add_column(words["pollutant"], justify="right", overflow="fold")
    for col in ("target", "cut", "short", "reachable", "yuan/kg"):
        totals.add_column(words[col], justify="right", no_wrap=True)
    for day in plan.days:
        for r in day.rows:
            short = f"[red]{r.shortfall_kg:,.0f}[/]" if r.shortfall_kg > 0.5 else "0"
            totals.add_row(
                str(day.date),
                label("level", day.level, lang),
                _LABEL.get(r.row, r.row),
                f"{r.target_kg:,.0f}",
                f"{r.cut_kg:,.0f}",
                short,
                f"{r.reachable_kg:,.0f}",
                f"{r.marginal_cost_yuan_per_kg:,.2f}",
            )
    console.print(totals)
    deep = _deep(plan)
    deepened = sum(a.deepened for a in plan.assignments)
    if lang == "zh":
        title = f"减排清单：{len(plan.assignments)} 个源·日（其中 {deepened} 个比预案加严）"
    else:
        title = (
            f"Curtailment list: {len(plan.assignments)} source-days "
            f"({deepened} deepened beyond the plan)"
        )
    table = _table(title)
    table.add_column(words["source"], no_wrap=True)
    _date_column(table, words["date"])
    for col in ("measure", "floor"):
        table.add_column(words[col], overflow="fold")
    for col in POLLUTANTS:
        table.add_column(_LABEL[col] if lang == "zh" else col, justify="right", no_wrap=True)
    table.add_column(words["yuan"], justify="right", no_wrap=True)
    for a in deep[:MAX_ROWS]:
        table.add_row(
            a.source,
            str(a.date),
            ("[bold]" + a.measure + "[/]") if a.deepened else a.measure,
            a.floor,
            *(f"{getattr(a.cut_kg, p):,.0f}" for p in POLLUTANTS),
            f"{a.cost_yuan:,.0f}",
        )
    console.print(table)


@app.command("respond")
@guarded
def respond_command(
    forecast: Annotated[
        Path | None,
        typer.Option(
            "--forecast",
            "-f",
            help="Forecast JSON (docs/FORMATS.md). With --cities: the one for every city;"
            " without it, each city's own forecast.json.",
        ),
    ] = None,
    data: DataOpt = None,
    rules: Annotated[str | None, typer.Option("--rules", "-r", help="Rule set id or file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    csv_out: Annotated[
        Path | None,
        typer.Option("--csv", help="Write the list as CSV (with --cities: a folder for them)."),
    ] = None,
    xlsx_out: Annotated[
        Path | None,
        typer.Option("--xlsx", help="Write the list as XLSX (with --cities: a folder for them)."),
    ] = None,
    time_limit: TimeOpt = 20.0,
    gap: Annotated[
        float,
        typer.Option(
            "--gap",
            help="Stop once the list is proven within this many per cent of the least cost"
            " (0: search until proven optimal or the time limit).",
            min=0.0,
            max=100.0,
        ),
    ] = 0.0,
    lang: LangOpt = None,
    report_out: Annotated[
        Path | None,
        typer.Option(
            "--report", help="Write the report workbook (上报表, XLSX; with --cities: a folder)."
        ),
    ] = None,
    cities: Annotated[
        bool,
        typer.Option(
            "--cities",
            help="Solve the city data folders given as arguments (or every city folder in a"
            " folder given) in parallel: local processes, or the Ray cluster of"
            " EMERGENCY_RAY_ADDRESS.",
        ),
    ] = False,
    folders: Annotated[
        list[Path] | None,
        typer.Argument(help="With --cities: city data folders, or folders holding them."),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", "-j", min=1, help="With --cities: local processes (default: the CPUs)."
        ),
    ] = None,
) -> None:
    """Forecast → warning level → duties → the least-cost curtailment list.

    With --cities, every city's list at once, and a table of the cities (docs/FORMATS.md).
    """
    outputs = (as_json or None, csv_out, xlsx_out, report_out)
    if sum(x is not None and x is not False for x in outputs) > 1:
        fail("give at most one of --json, --csv, --xlsx, --report")
    if cities or folders:
        named: dict[Output, Path | None] = {"csv": csv_out, "xlsx": xlsx_out, "report": report_out}
        _respond_cities(
            cities,
            folders or [],
            data=data,
            forecast=forecast,
            rules=rules,
            time_limit=time_limit,
            gap=gap,
            lang=lang,
            jobs=jobs,
            as_json=as_json,
            files=named,
        )
        return
    if jobs is not None:
        fail("--jobs goes with --cities")
    if forecast is None:
        fail("--forecast: missing (the forecast JSON, docs/FORMATS.md)")
    # One city, then the process ends: the collector stays paused from the load to the
    # output, not only inside each (its oldest generation, swept as each pause ends,
    # rescanned the whole city twice: 1.5 s at 50,000 sources, emergency.collector).
    with gc_paused():
        _respond_one(
            forecast, data, rules, as_json, csv_out, xlsx_out, report_out, time_limit, gap, lang
        )


def _respond_one(
    forecast: Path,
    data: Path | None,
    rules: str | None,
    as_json: bool,
    csv_out: Path | None,
    xlsx_out: Path | None,
    report_out: Path | None,
    time_limit: float,
    gap: float,
    lang: Language | None,
) -> None:
    """``respond`` for one city (the command's options, checked)."""
    from emergency import export
    from emergency.forecast import load_forecast
    from emergency.paths import default_data_dir
    from emergency.respond import plan_response
    from emergency.rules import assess, choose_rule_set, city_standard

    err = Console(stderr=True, highlight=False, quiet=not stdout_is_terminal())
    base = data or default_data_dir()
    loaded = load_forecast(forecast)
    rule_set = choose_rule_set(loaded, rules, base)
    warning = assess(loaded, rule_set, standard=city_standard(base))
    dataset = _load_dataset(base, err)
    shown = lang.value if lang else dataset.city.language
    if as_json:
        # The JSON needs nothing of the data folder but the instance: let plan_response
        # free it (half the memory of a large city), and write the list as it goes.
        with _progress_bar(err, shown, time_limit) as say:
            kept = [dataset]
            del dataset
            plan = plan_response(
                kept.pop(), warning, time_limit_s=time_limit, progress=say, gap_limit=gap / 100
            )
        write_json(plan, sys.stdout)
        return
    with _progress_bar(err, shown, time_limit) as say:
        plan = plan_response(
            dataset, warning, time_limit_s=time_limit, progress=say, gap_limit=gap / 100
        )
    if report_out:
        from emergency.settings import utc_now
        from emergency.upward import ReportInfo, to_report_xlsx

        report_out.write_bytes(to_report_xlsx(plan, dataset, ReportInfo(generated_at=utc_now())))
        typer.echo(f"{plan.status}: total {plan.total_cost_yuan:,.0f} yuan → {report_out}")
    elif csv_out or xlsx_out:
        out = csv_out or xlsx_out
        assert out is not None
        export.write(plan, out, dataset, shown)
        if shown == "zh":
            said = label("plan_status", plan.status, "zh")
            total = f"{plan.total_cost_yuan:,.0f}"
            typer.echo(f"{said}：{len(plan.assignments)} 行，总成本 {total} 元 → {out}")
        else:
            typer.echo(
                f"{plan.status}: {len(plan.assignments)} rows, total {plan.total_cost_yuan:,.0f} "
                f"yuan → {out}"
            )
    else:
        render(plan, Console(highlight=False), shown, dataset)


def _respond_cities(
    cities: bool,
    folders: list[Path],
    *,
    data: Path | None,
    forecast: Path | None,
    rules: str | None,
    time_limit: float,
    gap: float,
    lang: Language | None,
    jobs: int | None,
    as_json: bool,
    files: dict[Output, Path | None],
) -> None:
    """``respond --cities``: :func:`emergency.cli.cities.respond_cities` with the options."""
    from emergency.cli.cities import respond_cities

    if not cities:
        fail(f"{folders[0]}: unexpected argument (city folders go with --cities)")
    if data is not None:
        fail("give at most one of --data, --cities")
    output = next((kind for kind, path in files.items() if path is not None), None)
    respond_cities(
        folders,
        forecast=forecast,
        rules=rules,
        time_limit=time_limit,
        gap_limit=gap / 100,
        lang=lang.value if lang is not None else None,
        jobs=jobs,
        as_json=as_json,
        output=output,
        out_dir=files[output] if output is not None else None,
    )


@app.command("curve")
@guarded
def curve_command(
    level: Annotated[str, typer.Option("--level", help="Level whose floors apply.")] = "orange",
    start: Annotated[float, typer.Option("--from", min=0.0, max=1.0)] = 0.10,
    stop: Annotated[float, typer.Option("--to", min=0.0, max=1.0)] = 0.40,
    step: Annotated[float, typer.Option("--step", min=0.001, max=1.0)] = 0.05,
    data: DataOpt = None,
    plot_out: Annotated[
        Path | None, typer.Option("--plot", help="Write the curve as PNG or SVG.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    time_limit: TimeOpt = 20.0,
    lang: ErrorLangOpt = None,
) -> None:
    """The least-cost curve: cost of cutting a fraction of all four pollutants at once."""
    from emergency.curve import fractions, least_cost_curve, plot

    if start > stop:
        fail(f"--from {start} is above --to {stop}")
    if plot_out is not None and plot_out.suffix.lower() not in (".png", ".svg"):
        fail(f"--plot: {plot_out}: use a .png or .svg file")
    err = Console(stderr=True, highlight=False, quiet=not stdout_is_terminal())
    dataset = _load_dataset(data, err)
    if level not in dataset.city.levels:
        fail(f"--level: the city plan has no level {level!r} ({', '.join(dataset.city.levels)})")
    pts = fractions(start, stop, step)
    with err.status("solving", spinner="dots") as status:
        points = least_cost_curve(
            dataset,
            level,
            pts,
            time_limit_s=time_limit,
            progress=lambda k, n: status.update(f"solved {k}/{n} points"),
        )
    if plot_out is not None:
        plot(points, str(plot_out), f"{dataset.city.name}: least-cost curve at {level} floors")
    if as_json:
        typer.echo(json.dumps([p.__dict__ for p in points], indent=2))
        return
    table = Table(title=f"Least-cost curve ({level} floors)", show_edge=False)
    for col in (
        "cut",
        "status",
        "cost (yuan/day)",
        "gap",
        *(f"{_LABEL[p]} yuan/kg" for p in POLLUTANTS),
    ):
        table.add_column(col, justify="right")
    for p in points:
        marg = p.marginal_yuan_per_kg
        table.add_row(
            f"{p.fraction:.0%}",
            p.status,
            f"{p.cost_yuan:,.0f}",
            f"{p.gap:.3%}",
            *(
                f"{marg.get(k, marg.get('so2+nox', 0.0) if k in ('so2', 'nox') else 0.0):,.2f}"
                for k in POLLUTANTS
            ),
        )
    Console(highlight=False).print(table)
    if plot_out is not None:
        typer.echo(f"plot written to {plot_out}")


@app.command("check")
@guarded
def check_command(
    plan_file: Annotated[
        Path, typer.Option("--plan", "-p", help="A list as printed by `respond --json`.")
    ],
    data: DataOpt = None,
) -> None:
    """Re-check a saved list against the data with the independent checker.

    Recomputes every cut, cost, restart, floor and supply coupling; exit 0 when the list is
    valid and its reported total equals the recomputed one, 1 when it is not.
    """
    from pydantic import ValidationError

    from emergency.errors import InputError
    from emergency.respond import check_plan

    try:
        plan = ResponsePlan.model_validate_json(plan_file.read_bytes())
    except OSError as exc:
        raise InputError(f"{plan_file}: cannot read ({exc.strerror})") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise InputError(f"{plan_file}: {loc}: {first['msg']}") from None
    err = Console(stderr=True, highlight=False, quiet=not stdout_is_terminal())
    dataset = _load_dataset(data, err)
    rep = check_plan(dataset, plan)
    if rep.ok:
        typer.echo(
            f"valid: {len(plan.assignments)} assignments, cost {float(rep.cost_yuan):,.2f} yuan "
            f"(restarts {float(rep.restart_cost_yuan):,.2f}) equals the reported total"
        )
        return
    for v in rep.violations:
        typer.echo(v)
    typer.echo(f"{len(rep.violations)} violation(s)")
    raise typer.Exit(1)
