"""The inventory and the plans as the service keeps them: list, read, replace, import.

A plan sent over HTTP is validated exactly like the files and then waits for a planner's
review (:mod:`emergency.service.plan_review`); an import is an administrator's act and
takes effect at once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from emergency import POLLUTANTS
from emergency.dataset import CITY_FILE
from emergency.errors import InputError, ValidationErrors, where
from emergency.measures import source_measures
from emergency.service.access import SYSTEM, Action, Actor, require, require_own
from emergency.service.audit import record
from emergency.service.errors import NotFound
from emergency.service.planning import loaded_data
from emergency.service.uow import commit
from emergency.service.views import EnterpriseView, ImportSummary, MeasureView, PlanDocument
from emergency.settings import Settings
from emergency.store.datafiles import (
    INVENTORY_FILE,
    load_files,
    plan_path,
    read_folder,
    replace_files,
    sha256,
)
from emergency.store.db import Store, store_of
from emergency.store.models import DataFile, Order, PlanVersion
from emergency.vocabulary import PlanVersionStatus
from emergency.yamlfile import line_of, path_text

if TYPE_CHECKING:
    from emergency.dataset import Dataset
    from emergency.plans import Line


def enterprise_ids(session: Session) -> set[str]:
    return set(loaded_data(session).dataset.by_id)


def list_enterprises(
    session: Session,
    actor: Actor,
    *,
    kind: str | None = None,
    industry: str | None = None,
    district: str | None = None,
    grade: str | None = None,
) -> list[EnterpriseView]:
    """The inventory rows in file order, optionally filtered."""
    require(actor, Action.read_enterprises)
    dataset = loaded_data(session).dataset
    out = []
    for s in dataset.sources:
        wanted = {"kind": kind, "industry": industry, "district": district, "grade": grade}
        if any(value and (getattr(s, key) or "") != value for key, value in wanted.items()):
            continue
        out.append(EnterpriseView(**s.model_dump(), has_plan=s.id in dataset.plans))
    return out


def plan_source(session: Session, actor: Actor, enterprise_id: str) -> Any:
    """The inventory row of an enterprise the actor may see (else not found)."""
    require_own(actor, enterprise_id, f"enterprise {enterprise_id}")
    source = loaded_data(session).dataset.by_id.get(enterprise_id)
    if source is None:
        raise NotFound(f"enterprise {enterprise_id} not found")
    return source


def source_measure_views(
    session: Session, actor: Actor, source_id: str
) -> tuple[list[Line], list[MeasureView]]:
    """A source's lines (plans only) and measures, ``normal`` first, with cut and cost."""
    require(actor, Action.read_responses)
    dataset = loaded_data(session).dataset
    if source_id not in dataset.by_id:
        raise NotFound(f"source {source_id} not found")
    found = source_measures(dataset, source_id)
    plan = dataset.plans.get(source_id)
    views = [
        MeasureView(
            id=opt.id,
            name=opt.name,
            cut_kg_d=dict(zip(POLLUTANTS, opt.cut_kg, strict=True)),
            cost_yuan_d=opt.cost_yuan_d,
            loads=dict(zip(found.line_ids, opt.loads, strict=False)),
            levels=[lvl for lvl, mid in found.floors.items() if mid == opt.id],
        )
        for opt in found.options
    ]
    return (list(plan.lines) if plan is not None else []), views


def get_plan_document(session: Session, actor: Actor, enterprise_id: str) -> PlanDocument:
    """An enterprise's plan: the stored YAML and the plan as the engine reads it."""
    require(actor, Action.read_plan)
    plan_source(session, actor, enterprise_id)
    path = plan_path(enterprise_id)
    row = session.get(DataFile, path)
    plan = loaded_data(session).dataset.plans.get(enterprise_id)
    if row is None or plan is None:
        raise NotFound(
            f"enterprise {enterprise_id} has no plan file (it follows the city's defaults)"
        )
    return PlanDocument(
        enterprise=enterprise_id,
        path=path,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        text=row.content,
        plan=plan.to_file_dict(),
    )


def plan_text(body: str | bytes | dict[str, Any], what: str) -> str:
    """The YAML text of a plan given as YAML/JSON text or as a decoded JSON object."""
    if isinstance(body, dict):
        try:
            return yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100)
        except RecursionError:
            raise InputError(f"{what}: JSON nested too deeply") from None
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(f"{what}: not UTF-8 (byte {exc.start})") from None
    text = body.strip()
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{what}:{exc.lineno}:{exc.colno}: malformed JSON: {exc.msg}"
            ) from None
        except RecursionError:
            raise InputError(f"{what}: JSON nested too deeply") from None
        if isinstance(obj, dict):
            return plan_text(obj, what)
    if not text:
        raise InputError(f"{what}: empty plan")
    return body


def _length(column: Any) -> int | None:
    length: int | None = getattr(column.type, "length", None)
    return length


def _unstorable(value: str, limit: int | None) -> str | None:
    if "\x00" in value:
        return "must not hold a NUL character (\\u0000)"
    if limit is not None and len(value) > limit:
        return f"longer than {limit} characters (an order stores at most {limit})"
    return None


def storable_errors(
    dataset: Dataset, files: Mapping[str, str], paths: set[str] | None = None
) -> list[str]:
    """Ids and names an order could not store, each naming the file, the line and the field.

    Orders copy the source id, the measure id and the measure name; PostgreSQL refuses
    text holding NUL and text longer than the column, so one such plan would make every
    approval of a response fail. ``paths``: check only these files.
    """
    column = Order.__table__.c
    limits = {"id": _length(column.measure_id), "name": _length(column.measure_name)}
    entries: list[tuple[str, tuple[str, ...], list[Any]]] = [
        (plan_path(source_id), ("measures",), plan.measures)
        for source_id, plan in dataset.plans.items()
    ]
    entries += [
        ("plans/city.yaml", ("defaults", kind, "measures"), defaults.measures)
        for kind, defaults in dataset.city.defaults.items()
    ]
    errors = []
    for path, prefix, measures in entries:
        if paths is not None and path not in paths:
            continue
        for i, measure in enumerate(measures):
            for key, limit in limits.items():
                problem = _unstorable(getattr(measure, key), limit)
                if problem:
                    loc: list[str | int] = [*prefix, i, key]
                    line = line_of(files.get(path, ""), loc)
                    errors.append(f"{where(path, line, path_text(loc))}: {problem}")
    if paths is None or INVENTORY_FILE in paths:
        for row, source in enumerate(dataset.sources, start=2):
            problem = _unstorable(source.id, _length(column.source))
            if problem:
                errors.append(f"{where(INVENTORY_FILE, row, 'id')}: {problem}")
    return errors


def lock_data_files(session: Session) -> None:
    """Serialise changes of the data in force until this transaction ends (no commit).

    Two changes (plan approvals, imports) may each fit the data in force and yet not fit
    together (an edge into a line the other renames; two edges closing a cycle). Each
    therefore first writes the city plan's row without changing it: PostgreSQL holds that
    row's lock, SQLite its write lock, until the commit; the next one waits, then
    validates against the data the first one left.
    """
    session.execute(
        update(DataFile).where(DataFile.path == CITY_FILE).values(sha256=DataFile.sha256)
    )


def import_data(session: Session, actor: Actor, data_dir: Path) -> ImportSummary:
    """Load a data folder into the database (validated first; nothing changes if invalid)."""
    lock_data_files(session)
    files = read_folder(data_dir)
    errors = storable_errors(load_files(files).dataset, files)
    if errors:
        raise ValidationErrors(errors)
    summary = replace_files(session, files, actor.label, store_of(session).config.now())
    if summary["added"] or summary["changed"] or summary["removed"]:
        versions = record_imported(session, actor, files, summary["added"] + summary["changed"])
        record(
            session,
            actor,
            "data.import",
            str(Path(data_dir).resolve()),
            None,
            {k: v for k, v in summary.items() if k != "unchanged"} | {"plan_versions": versions},
        )
    commit(session)
    return ImportSummary.model_validate(summary)


def record_imported(
    session: Session, actor: Actor, files: dict[str, str], paths: list[str]
) -> list[str]:
    """Record plan files written by an import as approved versions (no commit).

    An import is an administrator's act on the whole data folder: its plans are in force
    at once, and the history of each plan starts (or goes on) with them.
    """
    now = store_of(session).config.now()
    prefix, suffix = plan_path("*").split("*")
    numbers = dict(
        session.execute(
            select(PlanVersion.enterprise_id, func.max(PlanVersion.number)).group_by(
                PlanVersion.enterprise_id
            )
        ).all()
    )
    ids = []
    for path in paths:
        if not path.startswith(prefix) or not path.endswith(suffix):
            continue
        enterprise_id = path[len(prefix) : -len(suffix)]
        pending = select(PlanVersion).where(
            PlanVersion.enterprise_id == enterprise_id,
            PlanVersion.status == PlanVersionStatus.pending,
        )
        for row in session.scalars(pending):
            row.status = PlanVersionStatus.withdrawn
            row.reviewed_at, row.reviewed_by = now, actor.label
            row.review_note = "replaced by a data import"
        number = numbers.get(enterprise_id, 0) + 1
        row = PlanVersion(
            enterprise_id=enterprise_id,
            number=number,
            status=PlanVersionStatus.approved,
            content=files[path],
            sha256=sha256(files[path]),
            base_sha256=None,
            submitted_at=now,
            submitted_by=actor.label,
            reviewed_at=now,
            reviewed_by=actor.label,
            review_note="data import",
        )
        session.add(row)
        ids.append(f"{enterprise_id}#{number}")
    session.flush()
    return ids


def ensure_imported(store: Store) -> ImportSummary | None:
    """On first start, import the store's data folder; later starts keep the stored data."""
    with store.startup_lock(), store.session() as session:
        if session.scalar(select(func.count()).select_from(DataFile)):
            return None
        return import_data(session, SYSTEM, store.config.data)


def open_store(data_dir: Path, url: str | None = None, **config: Any) -> Store:
    """Open the service's store: migrate the schema and import the data on first start."""
    store = Store.open(data_dir, url, **config)
    ensure_imported(store)
    return store


def open_service(settings: Settings) -> Store:
    """:func:`open_store` for the settings of a server."""
    store = Store.from_settings(settings)
    ensure_imported(store)
    return store
