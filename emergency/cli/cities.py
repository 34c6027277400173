"""``emergency respond --cities DIR …``: a province's cities at once, one summary table.

The work is :mod:`emergency.province`; here the options are checked, the shared forecast
read once, and the results printed (a table in Chinese or English, or JSON) and written.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from emergency.cli.app import fail, stdout_is_terminal
from emergency.errors import InputError
from emergency.messages import PREFIX_EN, PREFIX_ZH
from emergency.names import DEFAULT_LANG, label
from emergency.province import (
    CityJob,
    CityResult,
    Output,
    ProvinceRun,
    city_folders,
    ray_address,
    solve_cities,
)

_SUFFIX: dict[Output, str] = {"csv": ".csv", "xlsx": ".xlsx", "report": "-report.xlsx"}
"""A city's file in the ``--csv`` / ``--xlsx`` / ``--report`` folder: ``<folder name><suffix>``."""

_EN = {
    "title": "Cities",
    "city": "folder / city",
    "level": "level",
    "status": "status",
    "sources": "sources",
    "yuan": "cost (yuan)",
    "gap": "gap",
    "seconds": "s",
    "error": "error",
    "none": "none",
    "input": "bad input",
    "crash": "failed",
    "summary": "{n} cities: {solved} solved, {failed} failed; total cost {yuan} yuan;"
    " {s} s {where}",
    "local": "on {n} local processes",
    "local1": "in this process",
    "ray": "on the Ray cluster at {address} (nodes: {nodes}, CPUs: {cpus})",
    "solving": "solving {n} cities",
    "solved": "solved {done}/{n} cities",
}
_ZH = {
    "title": "各城市",
    "city": "文件夹 / 城市",
    "level": "级别",
    "status": "求解状态",
    "sources": "污染源",
    "yuan": "成本（元）",
    "gap": "差距",
    "seconds": "秒",
    "error": "错误",
    "none": "无预警",
    "input": "输入有误",
    "crash": "求解失败",
    "summary": "{n} 个城市：{solved} 个已求解，{failed} 个失败；总成本 {yuan} 元；"
    "用时 {s} 秒（{where}）",
    "local": "本机 {n} 个进程",
    "local1": "本进程",
    "ray": "Ray 集群 {address}：{nodes} 个节点，{cpus} 个 CPU",
    "solving": "正在求解 {n} 个城市",
    "solved": "已求解 {done}/{n} 个城市",
}


def respond_cities(
    folders: list[Path],
    *,
    forecast: Path | None,
    rules: str | None,
    time_limit: float,
    gap_limit: float,
    lang: str | None,
    jobs: int | None,
    as_json: bool,
    output: Output | None,
    out_dir: Path | None,
) -> None:
    """Solve every city of ``folders`` and print the summary (or JSON); exit 2 when a
    city's input is bad, 1 when a city could not be solved otherwise, else 0."""
    from emergency.forecast import load_forecast

    if not folders:
        fail("--cities: give the city data folders after it (or a folder holding them)")
    cities = city_folders(folders)
    if output is not None and out_dir is not None:
        _check_out_dir(cities, output, out_dir)
    shared = load_forecast(forecast) if forecast is not None else None
    work = [
        CityJob(
            folder=folder,
            forecast=shared,
            forecast_name=str(forecast) if forecast is not None else None,
            rules=rules,
            time_limit_s=time_limit,
            gap_limit=gap_limit,
            lang=lang,
            output=output,
        )
        for folder in cities
    ]
    words = _ZH if (lang or DEFAULT_LANG) == "zh" else _EN
    err = Console(stderr=True, highlight=False, quiet=not stdout_is_terminal())
    with err.status(words["solving"].format(n=len(work)), spinner="dots") as status:
        run = solve_cities(
            work,
            workers=jobs,
            address=ray_address(),
            progress=lambda done, n: status.update(words["solved"].format(done=done, n=n)),
        )
    if output is not None and out_dir is not None:
        _write_files(run.results, output, out_dir)
    if as_json:
        typer.echo(json.dumps([r.as_json() for r in run.results], ensure_ascii=False, indent=2))
    else:
        render_cities(run, Console(highlight=False), lang or _common_language(run.results))
    for r in run.results:  # each failed city's error whole, as `respond --data FOLDER` has it
        if r.error is not None:
            typer.echo(f"{r.folder}: {r.error}", err=True)
    code = run.exit_code()
    if code:
        raise typer.Exit(code)


def _common_language(results: list[CityResult]) -> str:
    """The cities' language when they share one, else Chinese."""
    langs = {r.lang for r in results}
    return langs.pop() if len(langs) == 1 else DEFAULT_LANG


def _check_out_dir(cities: list[Path], output: Output, out_dir: Path) -> None:
    """The folder for the cities' files: created, and no two cities on one file."""
    flag = f"--{output}"
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{flag}: {out_dir} exists and is not a folder")
    named: dict[str, Path] = {}
    for city in cities:
        name = city.resolve().name + _SUFFIX[output]
        if name in named:
            raise InputError(
                f"{flag} {out_dir}: {named[name]} and {city} would both be written to {name}"
            )
        named[name] = city
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot write {out_dir}: {exc.strerror or exc}") from None


def _write_files(results: list[CityResult], output: Output, out_dir: Path) -> None:
    for r in results:
        if r.output is None:
            continue
        path = out_dir / (Path(r.folder).resolve().name + _SUFFIX[output])
        try:
            path.write_bytes(r.output)
        except OSError as exc:
            raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None


def render_cities(run: ProvinceRun, console: Console, lang: str = "en") -> None:
    """The summary: one row per city (level, status, sources, cost, gap, seconds, error)
    and a line of totals, headers in ``lang``."""
    words = _ZH if lang == "zh" else _EN
    failed = any(r.plan is None for r in run.results)
    table = Table(title=words["title"], show_edge=False, pad_edge=False)
    table.add_column(words["city"], overflow="fold")  # the folder over the city's name
    for col in ("level", "status"):
        table.add_column(words[col], overflow="fold", min_width=cell_len(words[col]))
    for col in ("sources", "yuan", "gap", "seconds"):
        table.add_column(words[col], justify="right", no_wrap=True)
    if failed:  # the first line of each error; all of it follows on stderr
        table.add_column(words["error"], overflow="fold")
    for r in run.results:
        table.add_row(*_row(r, words, lang)[: None if failed else -1])
    console.print(table)
    solved = [r for r in run.results if r.plan is not None]
    if run.backend == "ray":
        where = words["ray"].format(address=run.address, nodes=run.nodes, cpus=run.workers)
    elif run.workers > 1:
        where = words["local"].format(n=run.workers)
    else:
        where = words["local1"]
    total = sum(r.plan.total_cost_yuan for r in solved if r.plan is not None)
    console.print(
        words["summary"].format(
            n=len(run.results),
            solved=len(solved),
            failed=len(run.results) - len(solved),
            yuan=f"{total:,.0f}",
            s=f"{run.seconds:.1f}",
            where=where,
        ),
        highlight=False,
        markup=False,
    )


def _row(r: CityResult, words: dict[str, str], lang: str) -> list[str]:
    name = escape(f"{r.folder}\n{r.city}")
    sources = f"{r.sources:,}" if r.sources is not None else ""
    seconds = f"{r.seconds:.1f}"
    if r.plan is None:
        lines = (r.error or "").splitlines() or [""]
        shown = lines[0].removeprefix(PREFIX_EN).removeprefix(PREFIX_ZH)
        status = f"[red]{words[r.failure or 'crash']}[/]"
        return [name, "", status, sources, "", "", seconds, escape(shown)]
    plan = r.plan
    level = plan.warning.level
    return [
        name,
        label("level", level, lang) if level is not None else words["none"],
        label("plan_status", plan.status, lang),
        sources,
        f"{plan.total_cost_yuan:,.0f}",
        f"{plan.gap:.2%}",
        seconds,
        "",
    ]
