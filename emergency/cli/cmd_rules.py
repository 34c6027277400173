"""``emergency rules compare``: is a city's rule set at least as strict as a base one?

See docs/RULES.md ("Comparing rule sets") and :mod:`emergency.rulecompare`.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from emergency.cli.app import DataOpt, app, guarded

rules_app = typer.Typer(
    help="Warning rule sets (docs/RULES.md).", no_args_is_help=True, add_completion=False
)
app.add_typer(rules_app, name="rules")


@rules_app.command("compare")
@guarded
def compare_command(
    city: Annotated[str, typer.Argument(help="The city's rule set: an id or a YAML file.")],
    base: Annotated[
        str, typer.Argument(help="The base (provincial, national) rule set: an id or a file.")
    ],
    days: Annotated[
        int, typer.Option("--days", "-n", min=1, help="Check every forecast of 1..N days.")
    ] = 7,
    data: DataOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
) -> None:
    """Check that CITY gives a level at least as severe as BASE on every forecast.

    Exit 0 when it does; 1 with the shortest counterexample forecast when it does not;
    2 on a bad rule set.
    """
    from emergency.rulecompare import compare
    from emergency.rules import load_rule_set

    city_rules = load_rule_set(city, data)
    base_rules = load_rule_set(base, data)
    result = compare(city_rules, base_rules, days)
    example = result.counterexample
    if as_json:
        typer.echo(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
    elif example is None:
        typer.echo(
            f"{result.city} is at least as strict as {result.base} on every forecast of"
            f" 1..{days} days (AQI classes from {', '.join(map(str, result.representatives))})."
        )
    else:
        typer.echo(
            f"{result.city} is milder than {result.base}: daily AQI"
            f" [{', '.join(map(str, example.aqi))}] gives {example.city} under {result.city}"
            f" but {example.base} under {result.base}."
        )
    if example is not None:
        raise typer.Exit(1)
