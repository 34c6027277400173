"""Strong ETags of the answers clients revalidate, each from what that answer depends on.

An ETag here is a hash of the inputs of an answer, never of its bytes: a client that sends
it back in ``If-None-Match`` is answered 304 after one small query, without reading or
rendering the answer. Each function checks the actor's right to the resource first, with
the same rules as the function that makes the answer: a 304 is only ever given to whoever
would get the 200.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from emergency.service.access import Action, Actor, require, require_own
from emergency.service.stored_plans import PlanRef
from emergency.store.datafiles import cached, plan_path, stored_key
from emergency.store.models import DataFile, PlanVersion
from emergency.vocabulary import PlanVersionStatus


def etag(*parts: object) -> str:
    """A strong ETag (quoted) of ``parts``."""
    seen = "|".join(str(p) for p in parts)
    return '"' + hashlib.sha256(seen.encode()).hexdigest()[:32] + '"'


def response_plan_etag(ref: PlanRef, *more: object) -> str:
    """A response's plan version as JSON (``more``: a download's format and language, the
    data folder's key for the names it writes). A stored version never changes: the ETag of
    ``?version=N``, or of the current version until a new one is made, never changes."""
    return etag("response-plan", ref.response_id, ref.stamp, *more)


def enterprise_plan_etag(
    session: Session, actor: Actor, enterprise_id: str, what: str, number: int | None = None
) -> str | None:
    """The ETag of an enterprise's plan answer, or None when the answer is an error (the
    caller answers in full and the service says what is wrong).

    ``what``: ``plan`` (the plan in force: its file and the data it is read with),
    ``versions`` (every version and its review; which one is in force), ``version``
    (version ``number``: its row and review, the diff against the plan in force, the
    effect with the data in force, and what the actor's role may be told).

    Raises
    ------
    Forbidden, NotFound
        The actor may not read plans, or the plan is another enterprise's.
    """
    require(actor, Action.read_plan)
    require_own(actor, enterprise_id, f"enterprise {enterprise_id}")
    path = plan_path(enterprise_id)
    mine = PlanVersion.enterprise_id == enterprise_id
    row = session.execute(
        select(
            stored_key(session.get_bind().dialect.name).label("data_key"),
            select(DataFile.sha256).where(DataFile.path == path).scalar_subquery().label("sha"),
            select(DataFile.updated_at)
            .where(DataFile.path == path)
            .scalar_subquery()
            .label("updated_at"),
            select(DataFile.updated_by)
            .where(DataFile.path == path)
            .scalar_subquery()
            .label("updated_by"),
            select(func.count(PlanVersion.id)).where(mine).scalar_subquery().label("versions"),
            select(func.max(PlanVersion.id)).where(mine).scalar_subquery().label("last"),
            select(func.sum(PlanVersion.version)).where(mine).scalar_subquery().label("changes"),
            select(func.max(PlanVersion.number))
            .where(mine, PlanVersion.status == PlanVersionStatus.approved)
            .scalar_subquery()
            .label("in_force"),
            select(PlanVersion.id)
            .where(and_(mine, PlanVersion.number == (number or 0)))
            .scalar_subquery()
            .label("row_id"),
            select(PlanVersion.version)
            .where(and_(mine, PlanVersion.number == (number or 0)))
            .scalar_subquery()
            .label("row_version"),
        )
    ).one()
    loaded = cached(row.data_key)
    if loaded is None or enterprise_id not in loaded.dataset.by_id:
        return None  # not read yet in this process, or no such enterprise: in full
    if what == "plan":
        if row.sha is None:
            return None
        return etag(what, enterprise_id, row.data_key, row.sha, row.updated_at, row.updated_by)
    if what == "versions":
        return etag(what, enterprise_id, row.data_key, row.sha, row.versions, row.last, row.changes)
    if row.row_id is None:
        return None
    reveal = not actor.is_enterprise
    return etag(
        what, enterprise_id, number, row.row_id, row.row_version, row.data_key, row.sha,
        row.in_force, reveal,
    )  # fmt: skip
