"""``emergency gates import FILE.csv``: gate records (门禁) into the service's database, as
``POST /gates/records`` takes them (docs/VEHICLES.md): all or nothing, a record sent again
as it is stored is left alone, another value needs a correction."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emergency.cli.app import DataOpt, ErrorLangOpt, app, guarded
from emergency.cli.cmd_service import DbOpt, _actor, _open

gates_app = typer.Typer(help="Gate records of vehicles (门禁): import a CSV.", no_args_is_help=True)
app.add_typer(gates_app, name="gates")


@gates_app.command("import")
@guarded
def import_gates(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV: enterprise,gate,plate,time,direction,vehicle,standard,fuel[,corrects]"
        ),
    ],
    data: DataOpt = None,
    db: DbOpt = None,
    lang: ErrorLangOpt = None,
) -> None:
    """Store the gate records of a CSV file.

    Exit 2, naming the file, line and field, when a row is bad (plate, time ahead of now,
    unknown enterprise, standard not fitting the fuel), or gives a stored record other
    values without a correction; then nothing is stored.
    """
    from emergency.errors import InputError
    from emergency.service.errors import ServiceError
    from emergency.vehicles.csvfile import read_gate_csv
    from emergency.vehicles.records import add_records

    records, place = read_gate_csv(file)  # before the database is opened
    store = _open(data, db)
    try:
        with store.session() as session:
            try:
                result = add_records(session, _actor(), records, place)
            except ServiceError as exc:  # a conflict: the file's fault, not the server's
                raise InputError(str(exc)) from None
    finally:
        store.dispose()
    typer.echo(f"imported {file}: {result.stored} stored, {result.unchanged} unchanged")
