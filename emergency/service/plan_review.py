"""Plans under review: a submitted plan takes effect only when a planner approves it.

An enterprise's plan decides what it must cut at each level, and a supply edge in it can
bind another enterprise's line. So a PUT never changes what the engine plans with: it
stores a *pending* version; a planner reads its differences from the plan in force and their
effect (each level's floor cut and cost before and after, edges that bind other firms) and
approves or rejects it with a reason. Approval copies the text into the data files the
engine reads; lists and orders made before keep the data they were made with.

Statuses: ``pending`` → ``approved`` | ``rejected`` | ``withdrawn`` (a newer submission of
the same enterprise replaced it before review). A version is never edited after review.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emergency import POLLUTANTS
from emergency.dataset import validate_plan_against
from emergency.errors import InputError, ValidationErrors
from emergency.plans import parse_plan_text
from emergency.service.access import Action, Actor, require, require_own
from emergency.service.audit import record
from emergency.service.enterprises import (
    lock_data_files,
    plan_source,
    plan_text,
    storable_errors,
)
from emergency.service.errors import Conflict, NotFound
from emergency.service.planning import loaded_data
from emergency.service.uow import commit, raced
from emergency.service.views import (
    EdgeChange,
    LevelEffect,
    LineChange,
    MeasureChange,
    PlanSubmission,
    PlanSubmissionDetail,
)
from emergency.solution import PollutantAmounts
from emergency.store.datafiles import load_files, plan_path, put_file, sha256, stored_files
from emergency.store.db import store_of
from emergency.store.models import DataFile, PlanVersion
from emergency.vocabulary import PlanVersionStatus
from emergency.yamlfile import refuse_alias_bombs

if TYPE_CHECKING:
    from emergency.inventory import Source
    from emergency.plans import Plan

_TOLERANCE = 1e-9


# ----------------------------------------------------------------------------- validation


def validated_plan(
    session: Session, actor: Actor, source: Source, text: str, *, reveal: bool
) -> Plan:
    """Parse and check a plan text against the data in force, as ``emergency validate``.

    ``reveal``: messages may name other enterprises' lines and floors (planners); an
    enterprise is told only that a reference is unknown or not allowed.

    Raises
    ------
    ValidationErrors
        Every problem, each naming the plan file, the line and the field.
    """
    path = plan_path(source.id)
    refuse_alias_bombs(text, path)
    plan = parse_plan_text(text, path)
    dataset = loaded_data(session).dataset
    errors = validate_plan_against(plan, source, dataset, text, reveal=reveal)
    if errors:
        raise ValidationErrors(errors)
    files = stored_files(session)
    files[path] = text
    try:
        loaded = load_files(files)  # the whole folder with the plan in place
    except ValidationErrors as exc:
        if reveal:
            raise
        mine = [e for e in exc.errors if e.startswith(path)]
        raise ValidationErrors(
            mine or [f"{path}: conflicts with another enterprise's plan; ask the planner"]
        ) from None
    errors = storable_errors(loaded.dataset, files, {path})
    if errors:
        raise ValidationErrors(errors)
    return plan


# ----------------------------------------------------------------------------- submitting


def submit_plan(
    session: Session, actor: Actor, enterprise_id: str, body: str | bytes | dict[str, Any]
) -> PlanSubmission:
    """Store a new plan version as *pending* (validated first; nothing stored on errors).

    A pending version of the same enterprise not yet reviewed is withdrawn. A text equal to
    the plan in force creates nothing and answers with the version in force.
    """
    require(actor, Action.write_plan)
    source = plan_source(session, actor, enterprise_id)
    path = plan_path(enterprise_id)
    text = plan_text(body, path)
    plan = validated_plan(session, actor, source, text, reveal=not actor.is_enterprise)
    digest = sha256(text)
    current = session.get(DataFile, path)
    if current is not None and current.sha256 == digest:
        in_force = _in_force(session, enterprise_id)
        if in_force is not None:
            return _view(in_force, current)
    now = store_of(session).config.now()
    with raced(session, f"plan of {enterprise_id} changed meanwhile; reload and retry"):
        withdrawn = []
        for row in _versions(session, enterprise_id, status=PlanVersionStatus.pending):
            row.status = PlanVersionStatus.withdrawn
            row.reviewed_at, row.reviewed_by = now, actor.label
            row.review_note = "replaced by a newer submission"
            withdrawn.append(row.number)
        row = PlanVersion(
            enterprise_id=enterprise_id,
            number=_next_number(session, enterprise_id),
            status=PlanVersionStatus.pending,
            content=text,
            sha256=digest,
            base_sha256=current.sha256 if current is not None else None,
            submitted_at=now,
            submitted_by=actor.label,
            review_note="",
        )
        session.add(row)
        session.flush()
        record(
            session,
            actor,
            "plan.submitted",
            f"enterprise:{enterprise_id}",
            {"sha256": current.sha256} if current is not None else None,
            {
                "version": row.number,
                "sha256": digest,
                "withdrawn": withdrawn,
                "plan": plan.to_file_dict(),
            },
        )
    commit(session)
    return _view(row, current)


# ----------------------------------------------------------------------------- reviewing


def approve_plan_version(
    session: Session, actor: Actor, enterprise_id: str, number: int, *, note: str = ""
) -> PlanSubmission:
    """Put a pending version in force: new lists use it; lists made before keep theirs.

    Raises
    ------
    Conflict
        The version is not pending, or the plan in force changed since it was submitted.
    ValidationErrors
        It no longer fits the data in force (checked again at approval).
    """
    require(actor, Action.review_plan)
    lock_data_files(session)
    source = plan_source(session, actor, enterprise_id)
    row = _pending(session, enterprise_id, number)
    path = plan_path(enterprise_id)
    current = session.get(DataFile, path)
    current_sha = current.sha256 if current is not None else None
    if current_sha != row.base_sha256:
        raise Conflict(
            f"plan version {number} of {enterprise_id} was written against a plan no longer "
            "in force; reject it and ask for a new submission"
        )
    validated_plan(session, actor, source, row.content, reveal=True)
    now = store_of(session).config.now()
    with raced(session, f"plan version {number} of {enterprise_id} changed meanwhile"):
        put_file(session, path, row.content, actor.label, now)
        row.status = PlanVersionStatus.approved
        row.reviewed_at, row.reviewed_by, row.review_note = now, actor.label, note
        session.flush()
        record(
            session,
            actor,
            "plan.approved",
            f"enterprise:{enterprise_id}",
            {"sha256": current_sha},
            {"version": number, "sha256": row.sha256, "note": note},
        )
    commit(session)
    return _view(row, session.get(DataFile, path))


def reject_plan_version(
    session: Session, actor: Actor, enterprise_id: str, number: int, *, note: str
) -> PlanSubmission:
    """Refuse a pending version with a reason; the plan in force stays as it is."""
    require(actor, Action.review_plan)
    plan_source(session, actor, enterprise_id)
    if not note.strip():
        raise InputError("note: give the reason for rejecting the plan version")
    row = _pending(session, enterprise_id, number)
    now = store_of(session).config.now()
    with raced(session, f"plan version {number} of {enterprise_id} changed meanwhile"):
        row.status = PlanVersionStatus.rejected
        row.reviewed_at, row.reviewed_by, row.review_note = now, actor.label, note
        session.flush()
        record(
            session,
            actor,
            "plan.rejected",
            f"enterprise:{enterprise_id}",
            None,
            {"version": number, "sha256": row.sha256, "note": note},
        )
    commit(session)
    return _view(row, session.get(DataFile, plan_path(enterprise_id)))


# ----------------------------------------------------------------------------- reading


def list_plan_versions(session: Session, actor: Actor, enterprise_id: str) -> list[PlanSubmission]:
    """An enterprise's plan versions, newest first (an enterprise sees only its own)."""
    require(actor, Action.read_plan)
    plan_source(session, actor, enterprise_id)
    current = session.get(DataFile, plan_path(enterprise_id))
    return [_view(row, current) for row in _versions(session, enterprise_id, newest_first=True)]


def pending_plan_versions(session: Session, actor: Actor) -> list[PlanSubmission]:
    """Every version waiting for review, oldest first (the planners' queue)."""
    require(actor, Action.review_plan)
    rows = list(
        session.scalars(
            select(PlanVersion)
            .where(PlanVersion.status == PlanVersionStatus.pending)
            .order_by(PlanVersion.id)
        )
    )
    paths = [plan_path(r.enterprise_id) for r in rows]
    files = {f.path: f for f in session.scalars(select(DataFile).where(DataFile.path.in_(paths)))}
    return [_view(r, files.get(plan_path(r.enterprise_id))) for r in rows]


def get_plan_version(
    session: Session, actor: Actor, enterprise_id: str, number: int
) -> PlanSubmissionDetail:
    """A version with its diff against the plan in force and its effect at every level."""
    require(actor, Action.read_plan)
    require_own(actor, enterprise_id, f"enterprise {enterprise_id}")
    row = _version(session, enterprise_id, number)
    path = plan_path(enterprise_id)
    current = session.get(DataFile, path)
    base = _in_force(session, enterprise_id)
    old_text = current.content if current is not None else ""
    dataset = loaded_data(session).dataset
    old = dataset.plans.get(enterprise_id)
    try:
        new = parse_plan_text(row.content, path)
    except InputError:  # stored before a rule got stricter: show the text, no analysis
        new = None
    diff = "".join(
        difflib.unified_diff(
            old_text.splitlines(keepends=True),
            row.content.splitlines(keepends=True),
            fromfile=f"{path} (in force)",
            tofile=f"{path} (version {row.number})",
        )
    )
    levels = list(dataset.city.level_order)
    detail: dict[str, Any] = {
        **_view(row, current).model_dump(),
        "text": row.content,
        "base": base.number if base is not None else None,
        "diff": diff,
        "lines": [],
        "measures": [],
        "levels": {},
        "supplies": [],
        "effect": [],
        "warnings": [],
    }
    if new is not None:
        detail["lines"] = line_changes(old, new)
        detail["measures"] = measure_changes(old, new)
        detail["levels"] = {
            level: [old.levels.get(level) if old else None, new.levels.get(level)]
            for level in sorted(set(new.levels) | set(old.levels if old else {}))
            if (old.levels.get(level) if old else None) != new.levels.get(level)
        }
        detail["supplies"] = edge_changes(old, new)
        detail["effect"] = level_effects(old, new, levels)
        detail["warnings"] = _warnings(detail, dataset, new, reveal=not actor.is_enterprise)
    return PlanSubmissionDetail.model_validate(detail)


# ----------------------------------------------------------------------------- differences


def line_changes(old: Plan | None, new: Plan) -> list[LineChange]:
    before = {line.id: line.model_dump() for line in old.lines} if old else {}
    after = {line.id: line.model_dump() for line in new.lines}
    out = [LineChange(line=i, change="removed") for i in before if i not in after]
    for i, fields in after.items():
        if i not in before:
            out.append(LineChange(line=i, change="added"))
            continue
        changed = {k: [before[i].get(k), v] for k, v in fields.items() if before[i].get(k) != v}
        if changed:
            out.append(LineChange(line=i, change="changed", fields=changed))
    return out


def measure_changes(old: Plan | None, new: Plan) -> list[MeasureChange]:
    before = old.measures_by_id if old else {}
    after = new.measures_by_id
    out = [MeasureChange(measure=m, change="removed") for m in before if m not in after]
    for m in after:
        if m not in before:
            out.append(MeasureChange(measure=m, change="added"))
            continue
        assert old is not None
        lines = [line.id for line in new.lines]
        loads: dict[str, list[float | None]] = {}
        for line in lines:
            was = old.load(m, line) if line in old.lines_by_id else None
            now = new.load(m, line)
            if was is None or abs(was - now) > _TOLERANCE:
                loads[line] = [was, now]
        if loads:
            out.append(MeasureChange(measure=m, change="changed", loads=loads))
    return out


def edge_changes(old: Plan | None, new: Plan) -> list[EdgeChange]:
    def edges(plan: Plan | None) -> dict[tuple[str, str, str], float]:
        if plan is None:
            return {}
        return {(e.line, e.to_enterprise, e.to_line): e.share for e in plan.supplies}

    before, after = edges(old), edges(new)
    out = []
    for key in list(before) + [k for k in after if k not in before]:
        was, now = before.get(key), after.get(key)
        if was == now:
            continue
        change: Literal["added", "removed", "changed"] = (
            "added" if was is None else "removed" if now is None else "changed"
        )
        out.append(
            EdgeChange(
                change=change,
                line=key[0],
                to_enterprise=key[1],
                to_line=key[2],
                share=[was, now],
                other_enterprise=key[1] != new.enterprise,
            )
        )
    return out


def _amounts(values: dict[str, float]) -> PollutantAmounts:
    return PollutantAmounts(**{p: round(values[p], 3) for p in POLLUTANTS})


def level_effects(old: Plan | None, new: Plan, levels: list[str]) -> list[LevelEffect]:
    """Each level's floor measure, floor cut and floor cost, before and after."""
    out = []
    for level in levels:
        after_floor = new.floor(level)
        after_cut = new.cut_kg_d(after_floor)
        before_floor = old.floor(level) if old else None
        before_cut = old.cut_kg_d(before_floor) if old and before_floor else None
        weaker = (
            [p for p in POLLUTANTS if after_cut[p] < before_cut[p] - 1e-6] if before_cut else []
        )
        out.append(
            LevelEffect(
                level=level,
                floor_before=before_floor,
                floor_after=after_floor,
                cut_before_kg_d=_amounts(before_cut) if before_cut else None,
                cut_after_kg_d=_amounts(after_cut),
                cost_before_yuan_d=round(old.cost_yuan_d(before_floor), 2)
                if old and before_floor
                else None,
                cost_after_yuan_d=round(new.cost_yuan_d(after_floor), 2),
                weaker=weaker,
            )
        )
    return out


def _warnings(detail: dict[str, Any], dataset: Any, new: Plan, *, reveal: bool) -> list[str]:
    out = []
    for effect in detail["effect"]:
        if effect.weaker:
            out.append(
                f"{effect.level}: the floor cuts less {', '.join(effect.weaker)} than the plan "
                f"in force ({effect.floor_before} → {effect.floor_after}) / 保底减排量降低"
            )
    for edge in detail["supplies"]:
        if edge.other_enterprise and edge.change != "removed":
            text = (
                f"supply edge {new.enterprise}/{edge.line} → {edge.to_enterprise}/{edge.to_line} "
                f"(share {edge.share[1]:g}) binds another enterprise / 约束其他企业的供应关系"
            )
            if reveal:
                text += _edge_consequence(dataset, new, edge)
            out.append(text)
    out += _tightened_edges(dataset, new, detail["supplies"], reveal=reveal)
    return out


def _tightened_edges(
    dataset: Any, new: Plan, changes: list[EdgeChange], *, reveal: bool
) -> list[str]:
    """Unchanged edges into other enterprises whose upstream floor now runs lower: the
    edge then binds the downstream line harder at those levels, with no edge change."""
    old = dataset.plans.get(new.enterprise)
    if old is None:
        return []
    changed = {(e.line, e.to_enterprise, e.to_line) for e in changes}
    out = []
    for e in new.supplies:
        if e.to_enterprise == new.enterprise or (e.line, e.to_enterprise, e.to_line) in changed:
            continue
        tighter = [
            level
            for level in dataset.city.level_order
            if new.load(new.floor(level), e.line)
            < (old.load(old.floor(level), e.line) if e.line in old.lines_by_id else 1.0)
            - _TOLERANCE
        ]
        if not tighter:
            continue
        text = (
            f"supply edge {new.enterprise}/{e.line} → {e.to_enterprise}/{e.to_line} "
            f"(share {e.share:g}) binds another enterprise harder: the floor runs {e.line} "
            f"lower at {', '.join(tighter)} / 上游保底负荷降低，加重对其他企业的约束"
        )
        if reveal:
            edge = EdgeChange(
                change="changed",
                line=e.line,
                to_enterprise=e.to_enterprise,
                to_line=e.to_line,
                share=[e.share, e.share],
                other_enterprise=True,
            )
            text += _edge_consequence(dataset, new, edge)
        out.append(text)
    return out


def _edge_consequence(dataset: Any, new: Plan, edge: EdgeChange) -> str:
    """What the edge forces on the downstream line at each level (planners only)."""
    target = dataset.plans.get(edge.to_enterprise)
    share = edge.share[1] or 0.0
    if target is None or edge.to_line not in target.lines_by_id:
        return ""
    parts = []
    for level in dataset.city.level_order:
        up = new.load(new.floor(level), edge.line) if edge.line in new.lines_by_id else 1.0
        bound = 1.0 - share * (1.0 - up)
        own = target.load(target.floor(level), edge.to_line)
        if own > bound + _TOLERANCE:
            parts.append(f"{level}: ≤ {bound:g} (its own floor runs it at {own:g})")
    if not parts:
        return ""
    return "; it would force " + f"{edge.to_enterprise}/{edge.to_line} " + ", ".join(parts)


# ----------------------------------------------------------------------------- rows


def _versions(
    session: Session, enterprise_id: str, *, status: str | None = None, newest_first: bool = False
) -> list[PlanVersion]:
    query = select(PlanVersion).where(PlanVersion.enterprise_id == enterprise_id)
    if status is not None:
        query = query.where(PlanVersion.status == status)
    order = PlanVersion.number.desc() if newest_first else PlanVersion.number
    return list(session.scalars(query.order_by(order)))


def _version(session: Session, enterprise_id: str, number: int) -> PlanVersion:
    row = session.scalar(
        select(PlanVersion).where(
            PlanVersion.enterprise_id == enterprise_id, PlanVersion.number == number
        )
    )
    if row is None:
        raise NotFound(f"plan version {number} of {enterprise_id} not found")
    return row


def _pending(session: Session, enterprise_id: str, number: int) -> PlanVersion:
    row = _version(session, enterprise_id, number)
    if row.status != PlanVersionStatus.pending:
        raise Conflict(f"plan version {number} of {enterprise_id} is {row.status}, not pending")
    return row


def _in_force(session: Session, enterprise_id: str) -> PlanVersion | None:
    """The newest approved version (its text is the data file's)."""
    return session.scalar(
        select(PlanVersion)
        .where(
            PlanVersion.enterprise_id == enterprise_id,
            PlanVersion.status == PlanVersionStatus.approved,
        )
        .order_by(PlanVersion.number.desc())
        .limit(1)
    )


def _next_number(session: Session, enterprise_id: str) -> int:
    top = session.scalar(
        select(func.max(PlanVersion.number)).where(PlanVersion.enterprise_id == enterprise_id)
    )
    return (top or 0) + 1


def _view(row: PlanVersion, current: DataFile | None) -> PlanSubmission:
    return PlanSubmission(
        enterprise=row.enterprise_id,
        number=row.number,
        status=PlanVersionStatus(row.status),
        sha256=row.sha256,
        submitted_at=row.submitted_at,
        submitted_by=row.submitted_by,
        reviewed_at=row.reviewed_at,
        reviewed_by=row.reviewed_by,
        review_note=row.review_note,
        in_force=row.status == PlanVersionStatus.approved
        and current is not None
        and current.sha256 == row.sha256,
    )
