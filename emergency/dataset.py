"""A data folder: ``enterprises.csv`` + ``plans/city.yaml`` + ``plans/enterprises/*.yaml``.

:func:`load_dataset` reads and cross-checks everything and raises
:class:`~emergency.errors.ValidationErrors` with *all* the folder's errors, never just the
first. Each message names the file, the CSV row or YAML line, and the field.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import pickle
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from emergency import LEVELS, NORMAL
from emergency.cityplan import CityPlan, load_city_plan
from emergency.collector import gc_paused
from emergency.datacache import Earlier, Reading, file_digest, load_cached
from emergency.errors import InputError, ValidationErrors, where
from emergency.inventory import Source, read_inventory_text
from emergency.meters.index import claimed_elsewhere, meter_problems
from emergency.paths import default_data_dir
from emergency.plans import Plan, check_plan, parse_plan, plan_from_bytes, read_bytes
from emergency.supply import describe_cycle, find_cycles, graph_from_plans, unsatisfiable_edges
from emergency.yamlfile import Problem, compose_file, format_problems

INVENTORY_FILE = "enterprises.csv"
CITY_FILE = "plans/city.yaml"
PLANS_DIR = "plans/enterprises"

RELATIVE_TOLERANCE = 0.01
"""Plan line totals may differ from the inventory row by this fraction..."""
ABSOLUTE_TOLERANCE = 1.0
"""...or by this much (kg/day, yuan/day), whichever is larger: rows of zeros stay checkable."""

Progress = Callable[[int, int], None]


def plan_file(enterprise_id: str) -> str:
    """Where a source's plan lives, relative to the data folder."""
    return f"{PLANS_DIR}/{enterprise_id}.yaml"


@dataclass
class Dataset:
    """Everything the engine reads from a data folder, validated.

    ``sources`` keep the file order; ``by_id`` indexes them; ``plans`` are keyed by
    enterprise id (only sources with a plan file have one).
    """

    root: Path
    sources: list[Source]
    plans: dict[str, Plan]
    city: CityPlan
    by_id: dict[str, Source] = field(init=False, repr=False)
    plans_pickled: list[bytes] | None = field(default=None, init=False, repr=False, compare=False)
    """The plans as the processes that read them pickled them, chunk by chunk (a large
    folder read for the cache, until it is stored): a pickle of the dataset writes these
    bytes as they are instead of pickling every plan again — the cache of 50,000 sources
    written in a tenth of the time."""

    def __post_init__(self) -> None:
        self.by_id = {source.id: source for source in self.sources}

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        chunks = state.pop("plans_pickled", None)
        if chunks is not None:
            state["plans"] = _PickledPlans(chunks)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        plans = state["plans"]
        if isinstance(plans, _PickledPlans):
            read = {
                stem: plan
                for chunk in plans.chunks
                for stem, plan, _messages in pickle.loads(chunk)
                if plan is not None
            }
            by_id = state["by_id"]
            assert isinstance(by_id, dict)
            state["plans"] = _sources_plans(by_id, read)
        self.__dict__.update(state)

    def plan(self, source_id: str) -> Plan | None:
        """The source's plan, or None (sites, yards and quarries may go without)."""
        return self.plans.get(source_id)


def _sources_plans(by_id: Mapping[str, Source], plans: Mapping[str, Plan]) -> dict[str, Plan]:
    """A dataset's plans: only the sources', in the sources' order."""
    return {k: plans[k] for k in by_id if k in plans}


@dataclass(frozen=True)
class _PickledPlans:
    """A dataset's plans in its pickle: the chunks the reading processes pickled."""

    chunks: list[bytes]


def load_dataset(
    root: Path | str | None = None, progress: Progress | None = None, *, cache: bool = False
) -> Dataset:
    """Read and validate a data folder (default: :func:`emergency.paths.default_data_dir`).

    Parameters
    ----------
    root
        The folder holding ``enterprises.csv`` and ``plans/``.
    progress
        Called as ``progress(done, total)`` while plan files are read.
    cache
        Keep the validated folder in the cache (:mod:`emergency.datacache`) and read it
        from there while its files are unchanged.

    Raises
    ------
    ValidationErrors
        With every error found in the folder.
    """
    base = Path(root) if root is not None else default_data_dir()
    if not base.is_dir():
        raise ValidationErrors([f"{base}: no such data folder"])
    with gc_paused():
        if cache:
            dataset = load_cached(
                base,
                lambda earlier, reading: _load(
                    base, progress, keep_pickled=True, earlier=earlier, reading=reading
                ),
            )
            dataset.plans_pickled = None  # stored (or not to be): the memory back
            return dataset
        return _load(base, progress)


def _load(
    base: Path,
    progress: Progress | None,
    *,
    keep_pickled: bool = False,
    earlier: Earlier | None = None,
    reading: Reading | None = None,
) -> Dataset:
    """Read and validate the folder; plans of unchanged files taken from ``earlier``; the
    plans folder's files and the digest of each plan file parsed recorded in ``reading``
    (:data:`emergency.datacache.Load`)."""
    errors: list[str] = []

    sources: list[Source] = []
    source_lines: dict[str, int] = {}
    inventory = base / INVENTORY_FILE
    try:
        text = inventory.read_bytes().decode("utf-8-sig")
    except OSError:
        errors.append(f"{where(INVENTORY_FILE)}: missing (expected the inventory in {base})")
    except UnicodeDecodeError as exc:
        errors.append(f"{where(INVENTORY_FILE)}: not UTF-8 (byte {exc.start})")
    else:
        sources, inventory_errors, source_lines = read_inventory_text(text, INVENTORY_FILE)
        errors += inventory_errors

    city: CityPlan | None = None
    if (base / CITY_FILE).is_file():
        city, city_errors = load_city_plan(base / CITY_FILE, CITY_FILE)
        errors += city_errors
    else:
        errors.append(f"{where(CITY_FILE)}: missing (expected the city plan)")

    plans, plan_errors, pickled = _load_plans(
        base, progress, keep_pickled=keep_pickled, earlier=earlier, reading=reading
    )
    errors += plan_errors

    if city is not None and city.minimum_rule_set is not None:
        errors += format_problems(
            CITY_FILE, minimum_rule_set_problems(city, base), compose_file(base / CITY_FILE)
        )

    by_id = {s.id: s for s in sources}
    messages, problems = cross_check(sources, source_lines, plans, city)
    errors += messages
    for name in sorted(problems):
        errors += format_problems(name, problems[name], compose_file(base / name))
    if errors or city is None:
        raise ValidationErrors(errors)
    dataset = Dataset(root=base, sources=sources, plans=_sources_plans(by_id, plans), city=city)
    if keep_pickled:
        dataset.plans_pickled = pickled
    return dataset


def minimum_rule_set_problems(city: CityPlan, base: Path) -> list[Problem]:
    """The city's rule set must be at least as strict as ``minimum_rule_set`` (when named)
    on every forecast of up to 7 days (:mod:`emergency.rulecompare`)."""
    from emergency.rulecompare import compare
    from emergency.ruleset import load_rule_set

    if city.minimum_rule_set is None:
        return []
    loaded = []
    for key in ("rule_set", "minimum_rule_set"):
        try:
            loaded.append(load_rule_set(getattr(city, key), base))
        except InputError as exc:
            return [Problem((key,), str(exc))]
    result = compare(loaded[0], loaded[1])
    example = result.counterexample
    if example is None:
        return []
    return [
        Problem(
            ("minimum_rule_set",),
            f"rule set {result.city!r} is milder than {result.base!r}: daily AQI"
            f" [{', '.join(map(str, example.aqi))}] gives {example.city} under {result.city}"
            f" but {example.base} under {result.base}",
        )
    ]


PARALLEL_FROM = 5000
"""Folders with at least this many plan files are read by one process per CPU (at most
``PARALLEL_MAX``): the 31,875 plans of 50,000 sources in about 8 s on 2 CPUs instead of
11–14 (docs/OPTIMISER.md)."""
PARALLEL_MAX = 8
CHUNK = 1000
"""Plan files per task of a reading process."""


def _load_plans(
    base: Path,
    progress: Progress | None,
    *,
    keep_pickled: bool = False,
    earlier: Earlier | None = None,
    reading: Reading | None = None,
) -> tuple[dict[str, Plan], list[str], list[bytes] | None]:
    """The plans by id, the messages, and, with ``keep_pickled`` when all were read by
    several processes, the chunks as they pickled them (:attr:`Dataset.plans_pickled`).
    A plan ``earlier`` holds is taken from it when its file is unchanged since; the files
    listed and the digest of each file parsed go into ``reading``, if given."""
    folder = base / PLANS_DIR
    if not folder.is_dir():
        return {}, [], None
    errors: list[str] = []
    files = _plan_files(folder, reading)
    hashed = reading.hashed if reading is not None else None
    total = len(files)
    plans = _unchanged_plans(files, earlier)
    files = [path for path in files if path.stem not in plans or path.suffix != ".yaml"]
    pickled: list[bytes] | None = None
    workers = min(os.cpu_count() or 1, PARALLEL_MAX)
    forks = "fork" in multiprocessing.get_all_start_methods()
    # Inside a pool (respond --cities) the cities already share out the CPUs.
    pooled = multiprocessing.parent_process() is not None
    if len(files) >= PARALLEL_FROM and workers > 1 and forks and not pooled:
        pickled = [] if keep_pickled and not plans else None
        read = _read_in_processes(files, workers, pickled, hashed)
    else:
        read = (_read_plans([path], hashed) for path in files)
    done = len(plans)
    if progress is not None and done:
        progress(done, total)
    for results in read:
        for stem, plan, messages in results:
            errors += messages
            if plan is not None:
                plans[stem] = plan
        done += len(results)
        if progress is not None:
            progress(done, total)
    return plans, errors, pickled


def _unchanged_plans(files: list[Path], earlier: Earlier | None) -> dict[str, Plan]:
    """The plans ``earlier`` read from files among ``files`` whose bytes are unchanged: a
    plan is what its file's bytes and name make it (:func:`emergency.plans.plan_from_bytes`),
    so reading it again would give the same. Every file named ``<id>.yaml``."""
    if earlier is None or not isinstance(earlier.dataset, Dataset):
        return {}
    before = earlier.dataset.plans
    return {
        path.stem: before[path.stem]
        for path in files
        if path.suffix == ".yaml"
        and path.stem in before
        and f"{PLANS_DIR}/{path.name}" in earlier.unchanged
    }


def _plan_files(folder: Path, reading: Reading | None = None) -> list[Path]:
    """The files in the plans folder (through symbolic links), by name; hidden ones left
    (``reading`` told them all)."""
    # os.scandir: the kind of a plain entry comes with the listing, no stat for each.
    with os.scandir(folder) as listing:
        found = [e.name for e in listing if e.is_file()]
    if reading is not None:
        reading.listed[PLANS_DIR] = {f"{PLANS_DIR}/{name}" for name in found}
    return [folder / name for name in sorted(found) if not name.startswith(".")]


def _read_plans(
    paths: list[Path], hashed: dict[str, bytes] | None = None
) -> list[tuple[str, Plan | None, list[str]]]:
    """Each plan file read and checked: (id, plan or None, messages), in order; the
    digest of each file parsed put in ``hashed``, if given."""
    out: list[tuple[str, Plan | None, list[str]]] = []
    for path in paths:
        name = f"{PLANS_DIR}/{path.name}"
        if path.suffix == ".yml":
            out.append((path.stem, None, [f"{where(name)}: plan files are named <id>.yaml"]))
        elif path.suffix == ".yaml":
            data, messages = read_bytes(path, name)
            plan = None
            if data is not None:
                if hashed is not None:
                    hashed[name] = file_digest(data)
                plan, messages = plan_from_bytes(data, name)
            out.append((path.stem, plan, messages))
        else:
            out.append((path.stem, None, []))
    return out


def _read_pickled(paths: list[Path]) -> tuple[bytes, dict[str, bytes]]:
    """:func:`_read_plans`, pickled, with the digests of the files parsed."""
    hashed: dict[str, bytes] = {}
    read = _read_plans(paths, hashed)
    return pickle.dumps(read, protocol=pickle.HIGHEST_PROTOCOL), hashed


def _read_in_processes(
    files: list[Path],
    workers: int,
    pickled: list[bytes] | None = None,
    hashed: dict[str, bytes] | None = None,
) -> Iterator[list[tuple[str, Plan | None, list[str]]]]:
    """:func:`_read_plans` on chunks of ``files`` in ``workers`` forked processes, chunks
    in order; each chunk as the process pickled it appended to ``pickled``, and the
    digests of the files parsed put in ``hashed``, if given.
    Forked, not spawned: a spawned process imports the caller's main script again, which a
    script without a ``__main__`` guard does not survive; a fork reads files and parses
    YAML only, and touches no lock another thread (a progress display's) could hold."""
    chunks = [files[i : i + CHUNK] for i in range(0, len(files), CHUNK)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for chunk, digests in pool.map(_read_pickled, chunks):
            if pickled is not None:
                pickled.append(chunk)
            if hashed is not None:
                hashed.update(digests)
            yield pickle.loads(chunk)


def cross_check(
    sources: list[Source],
    source_lines: Mapping[str, int],
    plans: Mapping[str, Plan],
    city: CityPlan | None,
) -> tuple[list[str], dict[str, list[Problem]]]:
    """Rules across files; returns inventory messages and problems per plan file."""
    messages: list[str] = []
    problems: dict[str, list[Problem]] = defaultdict(list)
    by_id = {s.id: s for s in sources}
    for source in sources:
        if source.kind == "plant" and source.id not in plans:
            line = source_lines.get(source.id)
            messages.append(
                f"{where(INVENTORY_FILE, line, 'id')}: plant {source.id!r} has no plan file "
                f"{plan_file(source.id)}"
            )
    for key, plan in plans.items():
        name = plan_file(key)
        if plan.enterprise != key:
            problems[name].append(
                Problem(("enterprise",), f"{plan.enterprise!r} differs from the file name {key!r}")
            )
        row = by_id.get(key)
        if row is None:
            if key not in source_lines:  # else the row has errors of its own
                problems[name].append(
                    Problem(("enterprise",), f"no row {key!r} in {INVENTORY_FILE}")
                )
            continue
        problems[name] += against_inventory(plan, row, source_lines.get(key))
        problems[name] += supply_targets(plan, plans)
        if city is not None:
            problems[name] += against_city(plan, city)
    if city is not None:
        for name, found in supply_problems(plans, by_id, city).items():
            problems[name] += found
    for key, found in meter_problems(plans).items():  # a meter measures one line
        problems[plan_file(key)] += found
    return messages, {name: found for name, found in problems.items() if found}


def against_inventory(plan: Plan, source: Source, row: int | None = None) -> list[Problem]:
    """Line totals within 1 % (or 1 kg, 1 yuan) of the inventory row."""
    totals = {f"{p}_kg_d": v for p, v in plan.emissions().items()}
    totals["value_added_yuan_d"] = plan.value_added_yuan_d()
    at = f"{INVENTORY_FILE} row {row}" if row is not None else INVENTORY_FILE
    problems: list[Problem] = []
    for column, total in totals.items():
        expected = float(getattr(source, column))
        allowed = max(RELATIVE_TOLERANCE * abs(expected), ABSOLUTE_TOLERANCE)
        if abs(total - expected) > allowed:
            problems.append(
                Problem(
                    ("lines",),
                    f"lines' total {column} {total:g} differs from {at} ({expected:g}) by more "
                    f"than 1 %",
                )
            )
    return problems


def against_city(plan: Plan, city: CityPlan) -> list[Problem]:
    """Levels named are the city's, and floors never get milder over the city's levels."""
    problems: list[Problem] = []
    for level in plan.levels:
        if level in LEVELS and level not in city.levels:
            known = ", ".join(city.level_order)
            problems.append(
                Problem(("levels", level), f"not a level of the city plan (levels: {known})")
            )
    order = city.level_order
    for lower, higher in itertools.pairwise(order):
        floor = plan.floor(lower)
        if (
            higher not in plan.levels
            and floor in plan.measures_by_id
            and not plan.at_least_as_strict(NORMAL, floor)
        ):
            problems.append(
                Problem(
                    ("levels",),
                    f"names a measure for {lower} but none for {higher}, where normal "
                    f"operation would be milder than {floor!r}",
                )
            )
    return problems


def supply_targets(plan: Plan, plans: Mapping[str, Plan]) -> list[Problem]:
    """Supply edges name existing enterprises with plans, and their lines."""
    problems: list[Problem] = []
    for i, edge in enumerate(plan.supplies):
        target = plans.get(edge.to_enterprise)
        if target is None:
            problems.append(
                Problem(
                    ("supplies", i, "to", "enterprise"),
                    f"no plan for {edge.to_enterprise!r} (supply targets need a plan file "
                    f"{plan_file(edge.to_enterprise)})",
                )
            )
        elif edge.to_line not in target.lines_by_id:
            known = ", ".join(target.lines_by_id)
            problems.append(
                Problem(
                    ("supplies", i, "to", "line"),
                    f"{edge.to_enterprise} has no line {edge.to_line!r} (lines: {known})",
                )
            )
    return problems


def supply_problems(
    plans: Mapping[str, Plan], sources: Mapping[str, Source], city: CityPlan
) -> dict[str, list[Problem]]:
    """Cycles and unsatisfiable edges, filed under the plan that declares the edge."""
    problems: dict[str, list[Problem]] = defaultdict(list)
    graph = graph_from_plans(plans)
    for cycle in find_cycles(graph):
        first = graph.edges[cycle[0], cycle[1 % len(cycle)]]
        involved = sorted({e for e, _ in cycle})
        problems[plan_file(first["plan"])].append(
            Problem(
                ("supplies", first["index"]),
                f"supply cycle {describe_cycle(cycle)} (plans {', '.join(involved)})",
            )
        )
    for edge in unsatisfiable_edges(plans, sources, city):
        problems[plan_file(edge.plan)].append(Problem(("supplies", edge.index), edge.message))
    return problems


def validate_plan_against(
    plan: Plan, source: Source, dataset: Dataset, text: str | None = None, *, reveal: bool = True
) -> list[str]:
    """Check a new plan for ``source`` against the rest of the data (``PUT .../plan``).

    Parameters
    ----------
    plan
        The candidate plan (it replaces the source's current plan for the check).
    source
        The inventory row it belongs to.
    dataset
        The data it must fit.
    text
        The YAML the plan came from, if any: messages then carry its line numbers.
    reveal
        Whether messages may show other enterprises' data (their lines, floors, edges).
        An enterprise submitting its own plan is told only that a reference to another
        enterprise is unknown or not allowed, so that errors cannot be used to read a
        competitor's plan.

    Returns
    -------
    list of str
        Every problem; empty when the plan may be stored.
    """
    name = plan_file(source.id)
    problems = check_plan(plan)
    if plan.enterprise != source.id:
        problems.append(
            Problem(("enterprise",), f"{plan.enterprise!r} is not this enterprise ({source.id!r})")
        )
    plans = dict(dataset.plans)
    plans[source.id] = plan
    problems += against_inventory(plan, source)
    problems += _private(supply_targets(plan, plans), plan, reveal, UNKNOWN_TARGET)
    problems += against_city(plan, dataset.city)
    problems += meter_problems({plan.enterprise: plan}).get(plan.enterprise, [])
    problems += claimed_elsewhere(plan, dataset.plans, reveal=reveal)
    others: list[str] = []
    # edges of other plans into this one must still find their lines
    for other_id, other in dataset.plans.items():
        if other_id == source.id:
            continue
        for problem in supply_targets(other, {source.id: plan}):
            if problem.path[-1] != "line":
                continue
            if reveal:
                others.append(f"{where(plan_file(other_id), None, 'supplies')}: {problem.message}")
            else:
                others.append(
                    f"{where(name, None, 'lines')}: a line another enterprise's plan names as "
                    "supplied is missing; keep its id or ask the planner"
                )
    relevant = _touching(plans, source.id)
    found = supply_problems(relevant, dataset.by_id, dataset.city)
    problems += _private(found.pop(name, []), plan, reveal, REFUSED_EDGE)
    for other_name, other_problems in sorted(found.items()):
        if reveal:
            others += format_problems(other_name, other_problems, None)
        else:
            others.append(
                f"{where(name, None, 'supplies')}: conflicts with another enterprise's plan; "
                "ask the planner"
            )
    node = parse_plan(text, name)[2] if text is not None else None
    return format_problems(name, problems, node) + sorted(set(others), key=others.index)


UNKNOWN_TARGET = "unknown supply target (enterprise or line)"
REFUSED_EDGE = "this supply edge cannot be accepted with the target's plan; ask the planner"


def _private(problems: list[Problem], plan: Plan, reveal: bool, message: str) -> list[Problem]:
    """Problems of supply edges into other enterprises, told without their data."""
    if reveal:
        return problems
    out = []
    for problem in problems:
        path = problem.path
        crosses = (
            len(path) >= 2
            and path[0] == "supplies"
            and isinstance(path[1], int)
            and path[1] < len(plan.supplies)
            and plan.supplies[path[1]].to_enterprise != plan.enterprise
        )
        crosses = crosses or ("supply cycle" in problem.message and ", " in problem.message)
        out.append(Problem(path[:2], message) if crosses else problem)
    return out


def _touching(plans: Mapping[str, Plan], enterprise: str) -> dict[str, Plan]:
    """Plans connected to ``enterprise`` through supply edges (its weak component)."""
    graph = graph_from_plans(plans)
    nodes = {n for n in graph.nodes if n[0] == enterprise}
    reached: set[str] = {enterprise}
    if nodes:
        undirected = graph.to_undirected(as_view=True)
        for component in nx.connected_components(undirected):
            if component & nodes:
                reached |= {e for e, _ in component}
    return {k: plans[k] for k in plans if k in reached}


__all__ = [
    "Dataset",
    "against_city",
    "against_inventory",
    "cross_check",
    "load_dataset",
    "plan_file",
    "supply_problems",
    "supply_targets",
    "validate_plan_against",
]
