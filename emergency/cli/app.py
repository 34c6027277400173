"""The Typer application and the one place where user errors become exit code 2."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
import typer.core

from emergency.errors import InputError

DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="data folder (enterprises.csv, plans/); default: the bundled one",
        file_okay=False,
    ),
]
"""The ``--data`` option every command that reads a data folder takes."""


class Language(StrEnum):
    """The languages of ``--lang``."""

    zh = "zh"
    en = "en"


LangOpt = Annotated[
    Language | None,
    typer.Option(
        "--lang",
        help="zh or en: the language of tables and exports; default: the city plan's language",
    ),
]
"""The ``--lang`` option of the commands that print or export for planners."""

ErrorLangOpt = Annotated[
    Language | None,
    typer.Option(
        "--lang",
        help="zh or en: the language of error messages; default: the city plan's language",
    ),
]
"""``--lang`` of the commands whose only words in a language are their error messages."""


def city_language(lang: Language | None, data: Path | None) -> str:
    """``--lang`` when given, else the city plan's ``language`` (``zh`` when unreadable)."""
    if lang is not None:
        return lang.value
    from emergency.cityplan import load_city_plan
    from emergency.dataset import CITY_FILE
    from emergency.paths import default_data_dir

    path = (data or default_data_dir()) / CITY_FILE
    if not path.is_file():
        return "zh"
    city, _ = load_city_plan(path, CITY_FILE)
    return city.language if city is not None else "zh"


def _flags_show_no_type() -> None:
    """Boolean flags take no value: show none in ``--help`` (``--json``, not ``--json <bool>``).

    Typer's rich help (≥ 0.2x) prints a type for every option, flags included, as if
    ``--json`` wanted a value; its plain help already leaves flags bare. Done once, here, for
    every command; a Typer without ``display_type_rich`` is left as it is.
    """
    option = typer.core.TyperOption
    shown = getattr(option, "display_type_rich", None)
    if shown is None or getattr(shown, "flags_bare", False):
        return

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        if getattr(self, "is_flag", False) and not getattr(self, "count", False):
            return self.metavar  # None unless a command names one on purpose
        return shown(self, ctx)

    display_type_rich.flags_bare = True  # type: ignore[attr-defined]
    option.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_show_no_type()

app = typer.Typer(
    name="emergency",
    help="Heavy-pollution weather emergency decision engine (重污染天气应急).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

F = TypeVar("F", bound=Callable[..., Any])


def error_language(lang: Language | str | None, data: Path | None) -> str:
    """The language of the problems a command prints: ``--lang`` when the command has it
    and it is given, else the city plan's ``language`` when the city plan loads, else zh."""
    if lang is not None:
        return Language(lang).value
    try:
        return city_language(None, data)
    except (InputError, OSError, ValueError):
        return "zh"


def guarded(func: F) -> F:
    """Turn :class:`InputError` raised by a command into its message on stderr and exit 2,
    in the language of :func:`error_language` (``error: …`` / ``错误：…``)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            from emergency.messages import error_line

            lang = error_language(kwargs.get("lang"), kwargs.get("data"))
            typer.echo(error_line(str(exc), lang), err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


class UsageError(InputError):
    """A usage error found by the command itself (conflicting or bad options)."""


def fail(message: str) -> NoReturn:
    """Report a usage error found by the command itself and exit 2: raised as
    :class:`UsageError`, which :func:`guarded` prints in the language of
    :func:`error_language` (``error: …`` / ``错误：…``), as it prints every input error."""
    raise UsageError(message)


def stdout_is_terminal() -> bool:
    """Progress bars only on a terminal, never in JSON or piped output."""
    return sys.stderr.isatty()


@app.command("version")
def version() -> None:
    """Print the engine's version."""
    from emergency import __version__

    typer.echo(__version__)
