"""``emergency list template|import|export``: the city's list workbook (应急减排清单)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emergency.cli.app import ErrorLangOpt, app, guarded
from emergency.dataset import load_dataset
from emergency.errors import InputError

list_app = typer.Typer(
    help="The list workbook (应急减排清单): template, import into a data folder, export "
    "(docs/LIST.md).",
    no_args_is_help=True,
)
app.add_typer(list_app, name="list")


def _writable(out: Path) -> None:
    if out.suffix.lower() != ".xlsx":
        raise InputError(f"{out}: the workbook must end in .xlsx")
    if out.exists() and out.is_dir():
        raise InputError(f"{out}: is a folder")


@list_app.command("template")
@guarded
def template(
    out: Annotated[Path, typer.Argument(help="The workbook to write (.xlsx).")],
    lang: ErrorLangOpt = None,
) -> None:
    """Write an empty list workbook with dropdowns and examples (写出空白清单模板).

    Sheets: instructions, the list with its header rows and one example row per kind, the
    measures and supply sheets, and the hidden choices behind the dropdowns.
    """
    from emergency.listbook.write import write_template

    _writable(out)
    try:
        write_template(out)
    except OSError as exc:
        raise InputError(f"{out}: cannot write ({exc.strerror or exc})") from None
    typer.echo(f"wrote the list template to {out}")


@list_app.command("import")
@guarded
def import_(
    workbook: Annotated[Path, typer.Argument(help="The list workbook (.xlsx).")],
    out: Annotated[Path, typer.Option("--out", help="The data folder to write.")],
    city: Annotated[
        Path | None,
        typer.Option("--city", help="City plan to put in the folder (default: the bundled one)."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Write into a non-empty folder: replaces enterprises.csv, plans/city.yaml, "
            "plans/rules and every plans/enterprises/*.yaml there.",
        ),
    ] = False,
    lang: ErrorLangOpt = None,
) -> None:
    """Turn a list workbook into a data folder that `emergency validate` accepts (导入清单).

    Every problem is reported by sheet and cell in one run; nothing is written then.
    """
    from emergency.listbook.read import import_workbook

    data = import_workbook(workbook, out, city=city, force=force)
    typer.echo(f"wrote {len(data.rows)} sources and {len(data.plans)} plans to {out}")


@list_app.command("export")
@guarded
def export(
    out: Annotated[Path, typer.Argument(help="The workbook to write (.xlsx).")],
    data: Annotated[Path | None, typer.Option("--data", help="The data folder.")] = None,
    lang: ErrorLangOpt = None,
) -> None:
    """Write a data folder as a list workbook; importing it gives the same folder (导出清单)."""
    from emergency.listbook.write import export_workbook

    _writable(out)
    dataset = load_dataset(data)
    try:
        export_workbook(dataset, out)
    except OSError as exc:
        raise InputError(f"{out}: cannot write ({exc.strerror or exc})") from None
    typer.echo(f"wrote {len(dataset.sources)} sources to {out}")
