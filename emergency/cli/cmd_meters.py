"""``emergency meters import FILE.csv`` and ``emergency meters synth``: sub-meter readings
into the service's database, as ``POST /meters/readings`` takes them, and synthetic
readings of an episode in which a few firms cheat (docs/METERS.md)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from emergency.cli.app import DataOpt, ErrorLangOpt, app, guarded
from emergency.cli.cmd_service import DbOpt, _actor, _open
from emergency.errors import InputError, ValidationErrors

if TYPE_CHECKING:
    from emergency.meters.ingest import ReadingIn

meters_app = typer.Typer(
    help="Electricity sub-meters (分表计电): import readings, write synthetic ones.",
    no_args_is_help=True,
)
app.add_typer(meters_app, name="meters")

HEADER = ("meter", "time", "kwh")
OPTIONAL = ("corrects",)
MAX_PROBLEMS = 50


def _corrects(text: str) -> int | bool | None:
    text = text.strip()
    if not text:
        return None
    if text.lower() == "true":
        return True
    if text.isdigit():
        return int(text)
    raise ValueError(f"must be a reading id or true (got {text!r})")


def read_readings_csv(path: Path) -> tuple[list[ReadingIn], list[int]]:
    """The readings of a CSV file ``meter,time,kwh[,corrects]`` and each one's line.

    Raises
    ------
    ValidationErrors
        Every bad row, as ``FILE:LINE: field: problem`` (the first 50, and how many more).
    """
    from pydantic import ValidationError

    from emergency.meters.ingest import ReadingIn

    name = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 (byte {exc.start})") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read the file ({exc.strerror or exc})") from None
    rows = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(rows, [])]
    if header[:3] != list(HEADER) or any(h not in OPTIONAL for h in header[3:]):
        raise InputError(
            f"{name}:1: expected the header meter,time,kwh[,corrects] (got {','.join(header)})"
        )
    problems: list[str] = []
    readings: list[ReadingIn] = []
    lines: list[int] = []
    for row in rows:
        line = rows.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(f"{name}:{line}: expected {len(header)} columns, got {len(row)}")
            continue
        cells = dict(zip(header, (c.strip() for c in row), strict=True))
        data: dict[str, Any] = {k: cells[k] for k in HEADER}
        try:
            data["corrects"] = _corrects(cells.get("corrects", ""))
            readings.append(ReadingIn.model_validate(data))
            lines.append(line)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                field = ".".join(str(p) for p in error["loc"]) or "row"
                message = str(error["msg"]).removeprefix("Value error, ")
                problems.append(f"{name}:{line}: {field}: {message} (got {error['input']!r:.60})")
        except ValueError as exc:
            problems.append(f"{name}:{line}: corrects: {exc}")
    if problems:
        shown = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            shown.append(f"… and {len(problems) - MAX_PROBLEMS} more problems")
        raise ValidationErrors(shown, what=name)
    if not readings:
        raise InputError(f"{name}: no reading (only the header)")
    return readings, lines


@meters_app.command("import")
@guarded
def import_readings(
    file: Annotated[Path, typer.Argument(help="CSV: meter,time,kwh[,corrects]")],
    data: DataOpt = None,
    db: DbOpt = None,
    lang: ErrorLangOpt = None,
) -> None:
    """Store the 15-minute readings of a CSV file, all or nothing.

    `time` is the start of the quarter hour with a UTC offset; `corrects` (optional) is
    the id of the reading corrected, or `true` for the one in effect. Exit 2, naming the
    file, line and field, when a row is bad, names an unknown meter, lies ahead of the
    server's clock, or gives a stored reading another value without `corrects`; then
    nothing is stored. A reading already stored with the same value is left as it is.
    """
    from emergency.meters.ingest import add_readings
    from emergency.service.errors import ServiceError

    readings, lines = read_readings_csv(file)
    name = str(file)
    store = _open(data, db)
    try:
        with store.session() as session:
            try:
                result = add_readings(
                    session,
                    _actor(),
                    readings,
                    label=lambda i, field: f"{name}:{lines[i]}: {field}",
                    what=name,
                )
            except ServiceError as exc:  # a conflict: the file's fault, not the server's
                raise InputError(exc.message) from None
    finally:
        store.dispose()
    typer.echo(
        f"imported {file}: {result.inserted} stored, {result.unchanged} unchanged, "
        f"{result.corrections} corrections ({result.meters} meters)"
    )


@meters_app.command("synth")
@guarded
def synth_readings_command(
    first_day: Annotated[
        dt.datetime,
        typer.Option("--first-day", formats=["%Y-%m-%d"], help="the warning's first day"),
    ],
    days: Annotated[int, typer.Option("--days", min=1, max=31, help="days of the episode")] = 3,
    level: Annotated[
        str | None, typer.Option("--level", help="each line at its plan's floor of this level")
    ] = None,
    response: Annotated[
        int | None,
        typer.Option("--response", min=1, help="each line at its orders of this response (--db)"),
    ] = None,
    cheat: Annotated[int, typer.Option("--cheat", min=0, help="firms that cheat")] = 3,
    seed: Annotated[int, typer.Option("--seed", help="random seed")] = 2016,
    out: Annotated[
        Path | None, typer.Option("--out", help="CSV to write (default: standard output)")
    ] = None,
    data: DataOpt = None,
    db: DbOpt = None,
    lang: ErrorLangOpt = None,
) -> None:
    """Write SYNTHETIC 15-minute readings (CSV meter,time,kwh) of every meter of the data
    folder: the two days before --first-day at normal load, then --days days at the load
    of each line's floor at --level, or of the orders of --response; --cheat firms break
    their order on one day (a stopped line run at night, a limited line 0.3 too high).
    The cheats are listed on standard error. The same options give the same file."""
    from emergency.dataset import load_dataset
    from emergency.meters.synth import floor_loads, synth_readings

    if (level is None) == (response is None):
        raise InputError("give either --level or --response, not both or neither")
    day = first_day.date()
    if level is not None:
        dataset = load_dataset(data) if data is not None else load_dataset()
        if level not in dataset.city.levels:
            known = ", ".join(dataset.city.level_order)
            raise InputError(f"--level: {level!r} is not a level of the city plan ({known})")
        loads = floor_loads(dataset, level)
    else:
        assert response is not None
        dataset, loads = _response_loads(data, db, response)
    readings, cheats = synth_readings(dataset, day, days, loads, cheat=cheat, seed=seed)
    handle = out.open("w", encoding="utf-8", newline="") if out is not None else sys.stdout
    try:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        for meter, at, kwh in readings:
            writer.writerow((meter, at.isoformat(), f"{kwh:g}"))
    finally:
        if out is not None:
            handle.close()
    for c in cheats:
        what = "runs at night though stopped" if c.kind == "night" else "runs above its limit"
        typer.echo(f"cheat: {c.source} {c.line} {c.day} {what} (allowed {c.allowed:g})", err=True)
    typer.echo(f"{len(readings)} readings, {len(cheats)} cheats", err=True)


def _response_loads(data: Path | None, db: str | None, response_id: int) -> tuple[Any, Any]:
    """The dataset and the loads of a stored response's orders."""
    from sqlalchemy import select

    from emergency.meters.analysis import order_days
    from emergency.meters.synth import order_loads
    from emergency.service.planning import loaded_data
    from emergency.store.models import Order, Response

    store = _open(data, db)
    try:
        with store.session() as session:
            if session.get(Response, response_id) is None:
                raise InputError(f"--response: no response {response_id}")
            orders = session.scalars(select(Order).where(Order.response_id == response_id))
            days = order_days(orders, dt.date.max - dt.timedelta(days=1))
            loads = {key: dict(order.allowed_load) for key, order in days.items()}
            dataset = loaded_data(session).dataset
    finally:
        store.dispose()
    return dataset, order_loads(loads)
