"""``emergency observations import FILE.csv``: observed daily AQI into the service's
database, as ``POST /observations`` takes it (docs/VERIFY.md): all or nothing, a day sent
again unchanged is left as it is, another value needs ``corrects``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from emergency.cli.app import DataOpt, ErrorLangOpt, app, guarded
from emergency.cli.cmd_service import DbOpt, _actor, _open

observations_app = typer.Typer(
    help="Observed daily AQI for forecast verification: import a CSV.", no_args_is_help=True
)
app.add_typer(observations_app, name="observations")

_ITEM = re.compile(r"observations\[(\d+)\](\.)?")


def _located(message: str, name: str, lines: list[int]) -> str:
    """``observations[3].date: …`` → ``FILE:5: date: …`` (the item's CSV line)."""

    def line(match: re.Match[str]) -> str:
        i = int(match.group(1))
        place = f"{name}:{lines[i]}" if i < len(lines) else name
        return place + (": " if match.group(2) else "")

    return _ITEM.sub(line, message)


@observations_app.command("import")
@guarded
def import_observations(
    file: Annotated[Path, typer.Argument(help="CSV: date,aqi[,station,primary,corrects]")],
    data: DataOpt = None,
    db: DbOpt = None,
    lang: ErrorLangOpt = None,
) -> None:
    """Store the observed daily AQI of a CSV file (the `city` station unless named).

    Exit 2, naming the file, line and field, when a row is bad, dated after today, or
    gives a stored day another value without `corrects`; then nothing is stored.
    """
    from emergency.errors import InputError, ValidationErrors
    from emergency.service.errors import ServiceError
    from emergency.verification.observed import read_observations_csv
    from emergency.verification.service import record_observations

    rows = read_observations_csv(file)
    if not rows:
        raise InputError(f"{file}: no observation (only the header)")
    lines = [line for line, _obs in rows]
    store = _open(data, db)
    try:
        with store.session() as session:
            try:
                result = record_observations(session, _actor(), [obs for _line, obs in rows])
            except ValidationErrors as exc:
                raise ValidationErrors(
                    [_located(e, str(file), lines) for e in exc.errors], what=str(file)
                ) from None
            except ServiceError as exc:  # a conflict: the file's fault, not the server's
                raise InputError(_located(exc.message, str(file), lines)) from None
    finally:
        store.dispose()
    typer.echo(f"imported {file}: {result.stored} stored, {result.unchanged} unchanged")
