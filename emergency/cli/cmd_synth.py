"""``emergency synth``: write a deterministic synthetic Jiyuan-like data folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from emergency.cli.app import ErrorLangOpt, app, guarded, stdout_is_terminal
from emergency.errors import InputError
from emergency.synth import synthesize, write_city


@app.command("synth")
@guarded
def synth(
    sources: Annotated[int, typer.Option("--sources", help="Number of listed sources (≥ 1).")],
    out: Annotated[Path, typer.Option("--out", help="Data folder to write.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 2016,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Write into a non-empty folder: replaces enterprises.csv, plans/city.yaml, "
            "plans/season.yaml, plans/season-risk.csv and every plans/enterprises/*.yaml there.",
        ),
    ] = False,
    lang: ErrorLangOpt = None,
) -> None:
    """Generate a SYNTHETIC Jiyuan-like city: inventory, plans, city plan, rule sets, and the
    heating season (plans/season.yaml) with its risk climatology (plans/season-risk.csv).

    The same --sources and --seed always give byte-identical files. The bundled data is
    ``emergency synth --sources 400 --seed 2016 --out . --force`` run in the repository.
    """
    if sources < 1:
        raise InputError(f"--sources: must be at least 1, got {sources}")
    if out.exists() and not out.is_dir():
        raise InputError(f"--out: {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputError(f"--out: {out} is not empty (use --force to overwrite the data in it)")
    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not stdout_is_terminal(),
    ) as bar:
        task = bar.add_task("generating", total=None)
        city = synthesize(sources, seed)
        bar.update(task, description="writing plans")

        def report(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            write_city(city, out, progress=report)
        except OSError as exc:
            raise InputError(f"--out: cannot write {out}: {exc.strerror or exc}") from None
    kinds: dict[str, int] = {}
    for row in city.rows:
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
    plural = {"plant": "plants", "site": "sites", "yard": "yards", "quarry": "quarries"}
    summary = ", ".join(f"{n} {plural[kind]}" for kind, n in kinds.items())
    typer.echo(f"wrote {len(city.rows)} sources ({summary}) and {len(city.plans)} plans to {out}")
