"""``emergency season plan|check``: the heating-season schedule (docs/SEASON.md)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from emergency.cli.app import DataOpt, ErrorLangOpt, Language, app, guarded
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


def _problems(
    exc: ValidationErrors, data: Path | None = None, lang: Language | None = None
) -> None:
    """Every problem on its own line, in ``--lang``, else the city plan's language (zh when
    it does not load), and exit 2."""
    from emergency.cli.app import error_language
    from emergency.messages import error_line

    shown = error_language(lang, data)
    for line in exc.errors:
        typer.echo(error_line(line, shown), err=True)
    raise typer.Exit(2)


def _load(
    data: Path | None, season: Path | None, lang: Language | None = None
) -> tuple[Dataset, SeasonInput]:
    from emergency.dataset import load_dataset
    from emergency.paths import default_data_dir
    from emergency.season.model import load_season

    try:
        dataset = load_dataset(data or default_data_dir())
        return dataset, load_season(season, dataset)
    except ValidationErrors as exc:
        _problems(exc, data, lang)
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
    from_date: Annotated[
        str | None,
        typer.Option(
            "--from", help="Re-plan from this date (YYYY-MM-DD): the days before are settled."
        ),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            help="A previous schedule (season plan --json) whose runs give the loads held "
            "before --from (default: normal).",
        ),
    ] = None,
    risk: Annotated[
        Path | None,
        typer.Option(
            "--risk", help="A new risk series (CSV date,risk): replaces the days it lists."
        ),
    ] = None,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Write the runs as CSV.")] = None,
    xlsx_out: Annotated[
        Path | None, typer.Option("--xlsx", help="Write runs, quotas and days as XLSX.")
    ] = None,
    lang: ErrorLangOpt = None,
) -> None:
    """Schedule the season: least cost, then the most risk-weighted cut.

    Exit 0 with a schedule meeting every quota; 1 when quotas fall short (the best schedule
    is still printed) or no schedule was found; 2 on bad input.
    """
    from emergency.season import export
    from emergency.season.model import read_risk_csv
    from emergency.season.schedule import plan_season
    from emergency.season.state import SeasonState, read_state, with_risk

    for out in (csv_out, xlsx_out):
        if out is not None and (out.is_dir() or not out.parent.is_dir()):
            raise InputError(f"{out}: cannot write the file here (no such folder)")
    if state is not None and from_date is None:
        raise InputError("--state needs --from (the first day to re-plan)")
    start = _date(from_date, "--from") if from_date is not None else None
    dataset, inp = _load(data, season, lang)
    if risk is not None:
        values, errors = read_risk_csv(risk, str(risk), inp.season)
        if errors:
            _problems(ValidationErrors(errors, what=str(risk)), data, lang)
        inp = with_risk(inp, values)
    held: SeasonState | None = None
    if start is not None:
        if start > inp.season.end:
            raise InputError(
                f"--from {start}: after the end of season {inp.season.id} ({inp.season.end})"
            )
        try:
            held = (
                read_state(state, inp, dataset, start) if state is not None else SeasonState(start)
            )
        except ValidationErrors as exc:
            _problems(exc, data, lang)
    result = plan_season(inp, dataset, time_limit_s=time_limit, state=held)
    out_json = result.to_json()
    if as_json:
        typer.echo(json.dumps(out_json, ensure_ascii=False, indent=2))
    else:
        _summary(out_json)
    if result.status not in ("infeasible", "unknown"):
        for path, kind in ((csv_out, "csv"), (xlsx_out, "xlsx")):
            if path is not None:
                export.write(out_json, dataset, path, kind)
                if not as_json:
                    typer.echo(f"{kind}: {len(out_json['assignments'])} runs → {path}")
    if result.status not in ("optimal", "feasible"):
        raise typer.Exit(1)


def _date(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option}: not a date (YYYY-MM-DD): {text!r}") from None


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
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            help="For a re-planned schedule: the previous schedule whose runs give the "
            "loads held before its 'from' date (default: normal).",
        ),
    ] = None,
    lang: ErrorLangOpt = None,
) -> None:
    """Check a schedule independently: exit 0 when valid, 1 listing violations, 2 on bad input."""
    from emergency.season.check import check_season_schedule
    from emergency.season.state import SeasonState, read_state

    dataset, inp = _load(data, season, lang)
    loaded = _read_json(schedule)
    held: SeasonState | None = None
    declared = loaded.get("from")
    if declared is not None:
        start = _date(str(declared), f"{schedule}: from")
        if start > inp.season.end:
            raise InputError(f"{schedule}: from: {start} is after the season's end")
        try:
            held = (
                read_state(state, inp, dataset, start) if state is not None else SeasonState(start)
            )
        except ValidationErrors as exc:
            _problems(exc, data, lang)
    elif state is not None:
        raise InputError(
            f"{schedule}: from: the schedule was not re-planned, --state does not apply"
        )
    report = check_season_schedule(inp, dataset, loaded, state=held)
    if report.ok:
        typer.echo(f"ok: cost {float(report.cost_yuan):,.2f} yuan; every rule holds")
        return
    for line in report.violations:
        typer.echo(line)
    raise typer.Exit(1)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a JSON schedule ({exc})") from None
    if not isinstance(loaded, dict):
        raise InputError(f"{path}: expected a JSON object (season plan --json)")
    return loaded
