"""``emergency season plan|check``: the heating-season schedule (docs/SEASON.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from emergency.cli.app import DataOpt, app, guarded
from emergency.errors import InputError, ValidationErrors

if TYPE_CHECKING:
    from emergency.dataset import Dataset
    from emergency.season.model import SeasonInput

season_app = typer.Typer(
    help="The heating season: staggered production and key periods (docs/SEASON.md).",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(season_app, name="season")

SeasonOption = Annotated[
    Path | None,
    typer.Option("--season", help="Season file (default: plans/season.yaml of the data)."),
]


def _problems(exc: ValidationErrors) -> None:
    for line in exc.errors:
        typer.echo(f"error: {line}", err=True)
    raise typer.Exit(2)


def _load(data: Path | None, season: Path | None) -> tuple[Dataset, SeasonInput]:
    from emergency.dataset import load_dataset
    from emergency.paths import default_data_dir
    from emergency.season.model import load_season

    try:
        dataset = load_dataset(data or default_data_dir())
        return dataset, load_season(season, dataset)
    except ValidationErrors as exc:
        _problems(exc)
        raise  # unreachable: _problems exits


@season_app.command("plan")
@guarded
def plan_command(
    data: DataOpt = None,
    season: SeasonOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the schedule as JSON.")] = False,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Solver time limit, seconds.", min=0.1)
    ] = 30.0,
) -> None:
    """Schedule the season: least cost, then the most risk-weighted cut.

    Exit 0 with a schedule meeting every quota; 1 when quotas fall short (the best schedule
    is still printed) or no schedule was found; 2 on bad input.
    """
    from emergency.season.schedule import plan_season

    dataset, inp = _load(data, season)
    result = plan_season(inp, dataset, time_limit_s=time_limit)
    if as_json:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        _summary(result.to_json())
    if result.status not in ("optimal", "feasible"):
        raise typer.Exit(1)


def _summary(out: dict[str, Any]) -> None:
    typer.echo(
        f"season {out['season']}: {out['status']}  cost {out['total_cost_yuan']:,.2f} yuan  "
        f"bound {out['bound_yuan']:,.2f}  gap {out['gap']:.2%}  "
        f"risk-weighted cut {out['risk_weighted_cut']:g}"
    )
    if out["message"]:
        typer.echo(out["message"])
    for q in out["quotas"]:
        flag = "" if not q["short_by"] else f"  SHORT by {q['short_by']:g}"
        typer.echo(f"  quota {q['id']}: {q['achieved']:g} of {q['required']:g} {q['unit']}{flag}")
        for s in q["short"]:
            typer.echo(f"    {s['of']}: {s['achieved']:g} (short by {s['short_by']:g})")
    for a in out["assignments"]:
        typer.echo(f"  {a['source']} {a['measure']} {a['start']} .. {a['end']}")


@season_app.command("check")
@guarded
def check_command(
    schedule: Annotated[Path, typer.Option("--schedule", help="A schedule (season plan --json).")],
    data: DataOpt = None,
    season: SeasonOption = None,
) -> None:
    """Check a schedule independently: exit 0 when valid, 1 listing violations, 2 on bad input."""
    from emergency.season.check import check_season_schedule

    dataset, inp = _load(data, season)
    try:
        loaded = json.loads(schedule.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{schedule}: cannot read the file ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{schedule}: not a JSON schedule ({exc})") from None
    if not isinstance(loaded, dict):
        raise InputError(f"{schedule}: expected a JSON object (season plan --json)")
    report = check_season_schedule(inp, dataset, loaded)
    if report.ok:
        typer.echo(f"ok: cost {float(report.cost_yuan):,.2f} yuan; every rule holds")
        return
    for line in report.violations:
        typer.echo(line)
    raise typer.Exit(1)
