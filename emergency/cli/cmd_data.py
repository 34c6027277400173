"""``emergency validate``: check a data folder and summarise it (docs/FORMATS.md)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from emergency import POLLUTANTS
from emergency.cli.app import DataOpt, LangOpt, app, guarded, stdout_is_terminal
from emergency.dataset import Dataset, load_dataset
from emergency.paths import default_data_dir
from emergency.supply import graph_from_plans


@app.command("validate")
@guarded
def validate(data: DataOpt = None, lang: LangOpt = None) -> None:
    """Check the inventory, the city plan and every enterprise plan; print a summary.

    Exit 0 when the folder is valid, 2 with the full list of errors otherwise (in
    ``--lang``; default: the city plan's language, Chinese when it does not load).
    """
    del lang  # the language of the problems, which @guarded prints
    root = data if data is not None else default_data_dir()
    with _progress() as report:
        dataset = load_dataset(root, progress=report)
    render_summary(dataset, Console(highlight=False))


@contextmanager
def _progress() -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar over plan files on a terminal; nothing when piped."""
    if not stdout_is_terminal():
        yield None
        return
    columns = (TextColumn("reading plans"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("plans", total=None)

        def report(done: int, total: int) -> None:
            if done == total or done % 200 == 0:
                bar.update(task, completed=done, total=total)

        yield report


def _count_table(title: str, counts: Counter[str], total: int, limit: int = 0) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    table.add_column(title.split(" ")[-1])
    table.add_column("sources", justify="right")
    table.add_column("share", justify="right")
    items = counts.most_common()
    rest = items[limit:] if limit else []
    for key, n in items[:limit] if limit else items:
        table.add_row(key, str(n), f"{n / total:.0%}" if total else "-")
    if rest:
        n = sum(v for _, v in rest)
        table.add_row(f"({len(rest)} more)", str(n), f"{n / total:.0%}" if total else "-")
    return table


def render_summary(dataset: Dataset, console: Console) -> None:
    """What a planner checks after editing the data: counts, guarantees, baseline coverage."""
    sources = dataset.sources
    total = len(sources)
    city = dataset.city
    graph = graph_from_plans(dataset.plans)
    console.print(f"[bold green]valid[/]: {dataset.root}", soft_wrap=True)
    console.print(
        f"{total} sources, {len(dataset.plans)} plans, {graph.number_of_edges()} supply edges",
        soft_wrap=True,
    )
    console.print(
        f"city plan {city.name!r}, rule set {city.rule_set}, "
        f"levels {', '.join(city.level_order)}, AQI standard {city.aqi_standard}",
        soft_wrap=True,
    )
    console.print(_count_table("by kind", Counter(s.kind for s in sources), total))
    console.print(_count_table("by industry", Counter(s.industry for s in sources), total, 15))
    console.print(_count_table("by district", Counter(s.district for s in sources), total, 20))
    grades = Counter(s.grade or "(not graded)" for s in sources)
    console.print(_count_table("by grade", grades, total))
    guaranteed = Counter(s.guarantee for s in sources if s.guarantee)
    protected = sum(1 for s in sources if s.grade in city.protect_grades and not s.guarantee)
    console.print(
        f"guaranteed (保障类): {sum(guaranteed.values())} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(guaranteed.items())) or 'none'}); "
        f"protected grades {', '.join(city.protect_grades) or 'none'}: {protected} more"
    )
    without = sum(1 for s in sources if s.id not in dataset.plans)
    console.print(f"sources following the city defaults (no plan file): {without}")

    table = Table(
        title="listed sources against the whole-society baseline (kg/day)",
        title_justify="left",
        show_edge=False,
        pad_edge=False,
    )
    for column in ("pollutant", "listed", "baseline", "share", *city.level_order):
        table.add_column(column, justify="left" if column == "pollutant" else "right")
    for p in POLLUTANTS:
        listed = sum(s.emissions()[p] for s in sources)
        baseline = city.baseline_kg_d.get(p, 0.0)
        share = f"{listed / baseline:.1%}" if baseline else "-"
        targets = [f"{city.target_kg_d(level)[p]:,.0f}" for level in city.level_order]
        table.add_row(p, f"{listed:,.0f}", f"{baseline:,.0f}", share, *targets)
    console.print(table)
    console.print("[dim]level columns: the daily cut the listed sources must reach[/]")
