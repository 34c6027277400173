"""The supply dependency graph between production lines.

A plan's ``supplies`` say that line ``u`` of one source feeds line ``w`` of another with a
share ``σ``: ``load(w) <= 1 - σ (1 - load(u))``. The graph is a networkx ``DiGraph`` over
nodes ``(enterprise_id, line_id)``; each edge carries ``share``, the declaring ``plan`` and
the edge's ``index`` in that plan's ``supplies``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import networkx as nx

from emergency.cityplan import CityPlan
from emergency.measures import allowed_measures, held
from emergency.plans import Plan

if TYPE_CHECKING:
    from emergency.inventory import Source

Node = tuple[str, str]
"""A line in the graph: ``(enterprise_id, line_id)``."""

MAX_CYCLES = 100
"""Stop listing cycles after this many: one is enough to reject the data."""

_TOLERANCE = 1e-9


def graph_from_plans(plans: Mapping[str, Plan]) -> nx.DiGraph:
    """The supply graph of some plans, in plan and edge order (deterministic)."""
    graph = nx.DiGraph()
    for plan in plans.values():
        for index, edge in enumerate(plan.supplies):
            graph.add_edge(
                (plan.enterprise, edge.line),
                (edge.to_enterprise, edge.to_line),
                share=edge.share,
                plan=plan.enterprise,
                index=index,
            )
    return graph


def find_cycles(graph: nx.DiGraph, limit: int = MAX_CYCLES) -> list[list[Node]]:
    """Simple cycles of the graph, each starting at its smallest node, sorted (at most ``limit``).

    A cycle would make a line depend on itself, so validation rejects any.
    """
    cycles = []
    for cycle in itertools.islice(nx.simple_cycles(graph), limit):
        start = cycle.index(min(cycle))
        cycles.append(cycle[start:] + cycle[:start])
    return sorted(cycles)


def describe_cycle(cycle: list[Node]) -> str:
    """``A/coke-1 → B/bf-1 → A/coke-1``."""
    return " → ".join(f"{e}/{line}" for e, line in [*cycle, cycle[0]])


@dataclass(frozen=True)
class EdgeProblem:
    """A supply edge no allowed choice can satisfy at some level."""

    plan: str
    index: int
    level: str
    message: str


def unsatisfiable_edges(
    plans: Mapping[str, Plan], sources: Mapping[str, Source], city: CityPlan
) -> list[EdgeProblem]:
    """Edges that cannot hold at some level even with the upstream line at its floor load.

    The upstream floor is its mildest allowed state, so if no allowed measure of the
    downstream source meets the bound then, the optimiser has no feasible choice.
    """
    problems: list[EdgeProblem] = []
    for plan in plans.values():
        for index, edge in enumerate(plan.supplies):
            downstream = plans.get(edge.to_enterprise)
            if (
                downstream is None
                or edge.line not in plan.lines_by_id
                or edge.to_line not in downstream.lines_by_id
            ):
                continue  # reported as unknown targets elsewhere
            for level in city.level_order:
                up_floor = plan.floor(level)
                if up_floor not in plan.measures_by_id:
                    continue
                up_load = plan.load(up_floor, edge.line)
                bound = 1.0 - edge.share * (1.0 - up_load)
                allowed = allowed_measures(downstream, sources.get(edge.to_enterprise), city, level)
                if not allowed or any(
                    downstream.load(m, edge.to_line) <= bound + _TOLERANCE for m in allowed
                ):
                    continue
                best = min(downstream.load(m, edge.to_line) for m in allowed)
                why = _why_fixed(sources.get(edge.to_enterprise), city)
                problems.append(
                    EdgeProblem(
                        plan.enterprise,
                        index,
                        level,
                        f"at {level}, {edge.line} runs at its floor load {up_load:g} "
                        f"({up_floor!r}), so {edge.to_enterprise}/{edge.to_line} must run at "
                        f"<= {bound:g}, but its allowed measures go no lower than {best:g}{why}",
                    )
                )
                break  # one level is enough to show the edge is broken
    return problems


def _why_fixed(source: Source | None, city: CityPlan) -> str:
    reason = held(source, city) if source is not None else None
    return f" ({reason[1]}, kept at its floor)" if reason else ""


__all__ = [
    "EdgeProblem",
    "Node",
    "describe_cycle",
    "find_cycles",
    "graph_from_plans",
    "unsatisfiable_edges",
]
