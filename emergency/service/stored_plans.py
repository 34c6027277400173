"""Stored plan versions of responses, read cheaply: a version never changes once stored.

A 5,000-source plan is 13 MB of JSON, about 1.5 s to read and validate. So:

- :func:`plan_ref` finds the version a request names (the current one by default) in one
  small query, without its plan: enough to answer a revalidation (``If-None-Match``) or to
  find a cached copy;
- :func:`plan_json` is a version's JSON, read, validated and serialised once per process;
- :func:`plan_facts` is what lists of versions show (status, total cost), read from the
  JSON by the database, once per process and version.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, literal, select
from sqlalchemy.orm import Session

from emergency.service.access import Action, Actor, require
from emergency.service.errors import Conflict, NotFound
from emergency.solution import ResponsePlan
from emergency.store.datafiles import stored_key
from emergency.store.db import store_of
from emergency.store.models import Response, ResponsePlanRow


@dataclass(frozen=True)
class PlanRef:
    """A stored plan version of a response, and the response's state, without the plan."""

    response_id: int
    response_version: int
    """Bumped by every change of the response (status, level, current and approved
    version: a new plan version, an override, an approval, a release)."""
    current: int
    """The response's current plan version number."""
    row_id: int
    number: int
    created_at: dt.datetime
    data_key: str | None = None
    """The data folder's content address now (when asked for)."""

    @property
    def stamp(self) -> str:
        """What identifies this version's content for ever: its row and the time it was
        stored (a database started afresh reuses row ids, not times)."""
        return f"{self.row_id}@{self.created_at.isoformat()}"


def plan_ref(
    session: Session,
    actor: Actor,
    response_id: int,
    version: int | None = None,
    *,
    with_data_key: bool = False,
) -> PlanRef:
    """The plan version ``version`` of a response (the current one by default), in one query.

    Raises
    ------
    Forbidden
        The actor may not read responses (checked first: nothing is read).
    NotFound
        No such response, or no such version of it.
    Conflict
        The response has no plan yet.
    """
    require(actor, Action.read_responses)
    number = literal(version) if version is not None else Response.plan_number
    columns = [
        Response.id,
        Response.version,
        Response.plan_number,
        ResponsePlanRow.id.label("row_id"),
        ResponsePlanRow.number,
        ResponsePlanRow.created_at,
    ]
    if with_data_key:
        columns.append(stored_key(session.get_bind().dialect.name).label("data_key"))
    row = session.execute(
        select(*columns)
        .select_from(Response)
        .outerjoin(
            ResponsePlanRow,
            and_(ResponsePlanRow.response_id == Response.id, ResponsePlanRow.number == number),
        )
        .where(Response.id == response_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"response {response_id} not found")
    if row.plan_number == 0:
        raise Conflict(f"response {response_id} has no plan yet")
    if row.row_id is None:
        raise NotFound(f"plan version {version} of response {response_id} not found")
    return PlanRef(
        response_id=row.id,
        response_version=row.version,
        current=row.plan_number,
        row_id=row.row_id,
        number=row.number,
        created_at=row.created_at,
        data_key=row.data_key if with_data_key else None,
    )


PLAN_JSON_CACHE_BYTES = 64 * 2**20
"""The plan versions' JSON each process keeps, at most (a 400-source city's plan is
~0.5 MB, a 5,000-source one 13 MB); the least recently used is dropped first."""
_plan_json: OrderedDict[tuple[str, int], bytes] = OrderedDict()
_plan_json_lock = threading.Lock()


def plan_json(session: Session, ref: PlanRef) -> bytes:
    """A stored version's plan as JSON (docs/FORMATS.md), cached per process.

    A stored plan version never changes, so its JSON is read, validated and serialised
    once, not per request: reading the 0.5 MB plan of the bundled city cost ~45 ms of CPU
    per request.
    """
    key = (store_of(session).url, ref.row_id)
    with _plan_json_lock:
        cached = _plan_json.get(key)
        if cached is not None:
            _plan_json.move_to_end(key)
            return cached
    stored = session.scalar(select(ResponsePlanRow.plan).where(ResponsePlanRow.id == ref.row_id))
    data = ResponsePlan.model_validate(stored).model_dump_json().encode()
    with _plan_json_lock:
        _plan_json[key] = data
        size = sum(len(v) for v in _plan_json.values())
        while size > PLAN_JSON_CACHE_BYTES and len(_plan_json) > 1:
            _, dropped = _plan_json.popitem(last=False)
            size -= len(dropped)
    return data


@dataclass(frozen=True)
class PlanFacts:
    """What lists of plan versions show of a stored plan (never read whole for them), and
    its ``data_key`` (stored after the plan: SQLite walks the plan's 13 MB to reach it)."""

    status: str
    total_cost_yuan: float
    data_key: str | None


FACTS_CACHE = 4096
_facts: OrderedDict[tuple[str, int], PlanFacts] = OrderedDict()
_facts_lock = threading.Lock()


def plan_facts(session: Session, row_ids: Iterable[int]) -> dict[int, PlanFacts]:
    """The facts of stored plan versions by row id: cached per process (a stored version
    never changes), the others read out of the JSON by the database in one query."""
    url = store_of(session).url
    wanted = set(row_ids)
    out: dict[int, PlanFacts] = {}
    with _facts_lock:
        for row_id in wanted:
            hit = _facts.get((url, row_id))
            if hit is not None:
                _facts.move_to_end((url, row_id))
                out[row_id] = hit
    missing = wanted - set(out)
    if not missing:
        return out
    read = session.execute(
        select(
            ResponsePlanRow.id,
            ResponsePlanRow.plan["status"].as_string(),
            ResponsePlanRow.plan["total_cost_yuan"].as_float(),
            ResponsePlanRow.data_key,
        ).where(ResponsePlanRow.id.in_(missing))
    ).all()
    with _facts_lock:
        for row_id, status, cost, key in read:
            facts = PlanFacts(str(status), float(cost or 0.0), key)
            out[row_id] = _facts[(url, row_id)] = facts
        while len(_facts) > FACTS_CACHE:
            _facts.popitem(last=False)
    return out
