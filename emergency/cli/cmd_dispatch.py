"""``emergency dispatch [--once]``: the notification dispatcher as its own process.

For larger cities, or several dispatchers against one PostgreSQL (they share the work:
``FOR UPDATE SKIP LOCKED``). Run the server with ``EMERGENCY_NOTIFY_DISPATCH=false`` then,
or keep both: a notification is claimed by one dispatcher at a time.
"""

from __future__ import annotations

from typing import Annotated

import typer

from emergency.cli.app import DataOpt, ErrorLangOpt, app, guarded
from emergency.cli.cmd_service import DbOpt, _open_with, _settings


@app.command("dispatch")
@guarded
def dispatch(
    data: DataOpt = None,
    db: DbOpt = None,
    once: Annotated[
        bool, typer.Option("--once", help="deliver what is due now, then exit")
    ] = False,
    lang: ErrorLangOpt = None,
) -> None:
    """Deliver the notifications (webhooks signed, email, SMS): retried with backoff, every attempt
    recorded (docs/NOTIFY.md)."""
    import signal
    import threading

    from emergency.notify.dispatch import Dispatcher

    store = _open_with(_settings(data, db), fill=False)
    dispatcher = Dispatcher(store)
    try:
        if once:
            counts = dispatcher.run_once()
            typer.echo(
                f"delivered {counts['delivered']}, to retry {counts['pending']}, "
                f"failed {counts['failed']}"
            )
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        typer.echo("dispatching notifications (Ctrl-C or SIGTERM to stop)", err=True)
        try:
            dispatcher.run(stop)
        except KeyboardInterrupt:
            stop.set()
    finally:
        store.dispose()
