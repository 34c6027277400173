"""Commands of the service: ``serve``, ``token create|list|revoke`` and ``import``.

Each opens the store of a data folder (SQLite ``<data>/emergency.sqlite`` unless ``--db``
or ``EMERGENCY_DATABASE_URL`` names PostgreSQL), migrating its schema first.
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from emergency.cli.app import DataOpt, ErrorLangOpt, app, guarded

GRACE_S = 10
"""Seconds the server waits for open requests (order streams) when it is stopped."""

if TYPE_CHECKING:
    from emergency.service.access import Actor
    from emergency.settings import Settings
    from emergency.store.db import Store

token_app = typer.Typer(help="API tokens: create (shown once), list, revoke.", no_args_is_help=True)
app.add_typer(token_app, name="token")

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="database URL, e.g. postgresql+psycopg://user:pw@host/db "
        "(default: $EMERGENCY_DATABASE_URL, else SQLite in the data folder)",
    ),
]


def _settings(data: Path | None, db: str | None) -> Settings:
    from emergency.settings import Settings

    settings = Settings()
    if data is not None:
        settings.data = data
    if db is not None:
        settings.database_url = db
    return settings


def _actor() -> Actor:
    from emergency.service.access import Actor

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor(f"cli:{user}")


def _check_folder(settings: Settings) -> None:
    """Read and validate the data folder before the database is opened, so that a bad
    folder stops the command (exit 2, naming file, line and field) with nothing changed."""
    from emergency.store.datafiles import load_files, read_folder

    load_files(read_folder(settings.data))


def _open(data: Path | None, db: str | None, *, fill: bool = True) -> Store:
    """Open (and migrate) the store; on first start import the data folder if ``fill``."""
    return _open_with(_settings(data, db), fill=fill)


def _open_with(settings: Settings, *, fill: bool = True) -> Store:
    """Open (and migrate) the store of ``settings``; on first start import if ``fill``."""
    from emergency.service.enterprises import ensure_imported
    from emergency.store.db import Store

    typer.echo(f"opening the database of {settings.data} ...", err=True)
    store = Store.from_settings(settings)
    if fill and ensure_imported(store) is not None:
        typer.echo(f"first start: imported {settings.data}", err=True)
    return store


def _where(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command("serve")
@guarded
def serve(
    data: DataOpt = None,
    db: DbOpt = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    lang: ErrorLangOpt = None,
) -> None:
    """Run the HTTP API (and its docs at /docs) on the data folder's database."""
    import uvicorn

    from api.main import create_app

    settings = _settings(data, db)
    _check_folder(settings)
    store = _open_with(settings)
    base = f"http://{host}:{port}"
    data_flag = f" --data {settings.data}" if data is not None else ""
    db_flag = " --db URL" if db is not None else ""
    typer.echo(f"database: {_where(store.url)}")
    typer.echo(f"planner pages at {base}/ ; the API at {base}/api/v1 (docs: {base}/docs)")
    # The command as it was typed (e.g. .venv/bin/emergency), so it can be pasted back.
    exe = sys.argv[0] if sys.argv and Path(sys.argv[0]).name == "emergency" else "emergency"
    typer.echo(
        "sign in with a planner token; create one in another terminal with:\n  "
        f"{exe} token create --role planner --name NAME{data_flag}{db_flag}"
    )
    try:
        uvicorn.run(
            create_app(settings, store=store),
            host=host,
            port=port,
            log_level="info",
            timeout_graceful_shutdown=GRACE_S,  # open order streams end then
        )
    finally:
        store.dispose()


@token_app.command("create")
@guarded
def token_create(
    role: Annotated[
        str, typer.Option(help="admin, consultation, planner, inspector or enterprise")
    ],
    enterprise: Annotated[
        str | None, typer.Option(help="the enterprise id (role enterprise only)")
    ] = None,
    name: Annotated[str, typer.Option(help="who holds the token")] = "",
    expires: Annotated[
        str | None,
        typer.Option(help="the token stops working after this long: 90d, 12h or 30m"),
    ] = None,
    data: DataOpt = None,
    db: DbOpt = None,
    lang: ErrorLangOpt = None,
) -> None:
    """Create a token; it is printed once, alone on the last line, and stored hashed."""
    from emergency.service.tokens import create_token, parse_duration

    expires_in = parse_duration(expires, "--expires") if expires is not None else None
    store = _open(data, db)
    try:
        with store.session() as session:
            view, secret = create_token(
                session, _actor(), role, enterprise_id=enterprise, name=name, expires_in=expires_in
            )
            session.commit()
    finally:
        store.dispose()
    bound = f" for {view.enterprise_id}" if view.enterprise_id else ""
    if view.expires_at is not None:
        bound += f", expires {view.expires_at:%Y-%m-%d %H:%M} UTC"
    typer.echo(f"token {view.id} ({view.role}{bound}, {view.name}); keep it, it is shown once:")
    typer.echo(secret)


@token_app.command("list")
@guarded
def token_list(
    data: DataOpt = None,
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    lang: ErrorLangOpt = None,
) -> None:
    """List tokens (never their secrets)."""
    from emergency.service.tokens import list_tokens

    store = _open(data, db)
    try:
        with store.session() as session:
            tokens = list_tokens(session)
        now = store.config.now()
    finally:
        store.dispose()
    if as_json:
        typer.echo(json.dumps([t.model_dump(mode="json") for t in tokens], ensure_ascii=False))
        return
    if not tokens:
        typer.echo("no tokens")
    for t in tokens:
        if t.revoked_at:
            state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}"
        elif t.expires_at is not None and t.expires_at <= now:
            state = f"expired {t.expires_at:%Y-%m-%d %H:%M} UTC"
        elif t.expires_at is not None:
            state = f"active, expires {t.expires_at:%Y-%m-%d %H:%M} UTC"
        else:
            state = "active"
        bound = f" @{t.enterprise_id}" if t.enterprise_id else ""
        typer.echo(f"{t.id:>4}  {t.role:<12} {t.name}{bound}  ({state})")


@token_app.command("revoke")
@guarded
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="the token's id (see `emergency token list`)")],
    data: DataOpt = None,
    db: DbOpt = None,
    lang: ErrorLangOpt = None,
) -> None:
    """Revoke a token: it stops working at once."""
    from emergency.errors import InputError
    from emergency.service.errors import NotFound
    from emergency.service.tokens import revoke_token

    store = _open(data, db)
    try:
        with store.session() as session:
            try:
                view = revoke_token(session, _actor(), token_id)
            except NotFound as exc:
                raise InputError(str(exc)) from None
            session.commit()
    finally:
        store.dispose()
    typer.echo(f"token {view.id} revoked")


@app.command("import")
@guarded
def import_(data: DataOpt = None, db: DbOpt = None, lang: ErrorLangOpt = None) -> None:
    """(Re)load the inventory and the plans of the data folder into the database.

    The folder is validated first; if anything is wrong, nothing is changed.
    """
    from emergency.service.enterprises import import_data

    settings = _settings(data, db)
    _check_folder(settings)
    store = _open(data, db, fill=False)
    try:
        with store.session() as session:
            summary = import_data(session, _actor(), settings.data)
    finally:
        store.dispose()
    for kind in ("added", "changed", "removed"):
        for path in getattr(summary, kind):
            typer.echo(f"{kind:<8} {path}")
    typer.echo(
        f"imported {settings.data}: {len(summary.added)} added, {len(summary.changed)} changed, "
        f"{len(summary.removed)} removed, {len(summary.unchanged)} unchanged"
    )
