"""A province at once: every city's response solved in parallel (issue 17).

A city is a data folder (``enterprises.csv`` and ``plans/city.yaml``). :func:`solve_city`
does for one city what ``emergency respond --data FOLDER`` does (forecast → rule set →
level → data folder → least-cost list) and never raises: a city whose input is bad comes
back with the error line the single-city command prints, and the other cities go on.
:func:`solve_cities` runs the cities on local processes
(:class:`concurrent.futures.ProcessPoolExecutor`), or as Ray tasks on the cluster that
``EMERGENCY_RAY_ADDRESS`` names (Ray is the optional extra ``emergency[ray]``).

The lists are those of the cities solved one by one: each city is the same call,
:func:`emergency.respond.plan_response`, on its own data, and the optimiser is
deterministic (one CP-SAT worker, seed 0) as long as its time limit does not end the search.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from emergency.dataset import CITY_FILE, INVENTORY_FILE
from emergency.errors import InputError
from emergency.messages import error_line
from emergency.names import DEFAULT_LANG
from emergency.solution import ResponsePlan

if TYPE_CHECKING:
    from emergency.dataset import Dataset
    from emergency.forecast import Forecast

RAY_ADDRESS_ENV = "EMERGENCY_RAY_ADDRESS"
"""Names the Ray cluster to solve on (``host:port`` of its head, ``ray://host:10001``);
unset: local processes."""
FORECAST_FILE = "forecast.json"
"""A city's own forecast, in its folder: used when no ``--forecast`` is given."""
CONNECT_TIMEOUT_S = 5.0
"""How long to wait for the Ray head to answer before calling the address wrong (Ray
itself retries for minutes)."""

Output = Literal["csv", "xlsx", "report"]
Failure = Literal["input", "crash"]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class CityJob:
    """One city to solve, with what ``emergency respond`` would be given for it.

    ``folder`` is the data folder as the user named it; ``cwd`` the folder relative paths
    mean (a worker elsewhere works from there when it exists on its machine). ``forecast``:
    the forecast for every city, or None for the folder's own ``forecast.json``.
    ``time_limit_s`` and ``gap_limit`` (a fraction) are each city's, as ``--time-limit``
    and ``--gap`` are one city's. ``lang``: ``--lang`` (None: the city plan's language).
    ``output``: the file to make of the list (its bytes come back in the result; the
    caller writes them).
    """

    folder: Path
    forecast: Forecast | None = None
    forecast_name: str | None = None
    rules: str | None = None
    time_limit_s: float = 20.0
    gap_limit: float = 0.0
    lang: str | None = None
    output: Output | None = None
    cwd: str = field(default_factory=os.getcwd)


@dataclass
class CityResult:
    """What came of one city: its plan, or the error the single-city command prints.

    ``error`` is the line ``emergency respond --data FOLDER`` writes to stderr (``error: …``
    / ``错误：…``) when ``failure`` is ``input`` (exit code 2); for ``crash`` (a fault of
    the engine or a lost worker) the exception. ``lang`` is the language of the city's
    words (``--lang``, else its city plan's). ``seconds``: the whole city, load and solve.
    """

    folder: str
    city: str
    lang: str
    forecast: str | None = None
    sources: int | None = None
    plan: ResponsePlan | None = None
    error: str | None = None
    failure: Failure | None = None
    seconds: float = 0.0
    output: bytes | None = None

    def as_json(self) -> dict[str, Any]:
        """The city in ``respond --cities --json``: ``plan`` as ``respond --json`` prints it."""
        return {
            "folder": self.folder,
            "city": self.city,
            "forecast": self.forecast,
            "sources": self.sources,
            "seconds": round(self.seconds, 3),
            "error": self.error,
            "plan": self.plan.model_dump(mode="json") if self.plan is not None else None,
        }


@dataclass
class ProvinceRun:
    """Every city's result, in the order given, and where they were solved."""

    results: list[CityResult]
    backend: Literal["local", "ray"]
    workers: int
    """Local processes, or the CPUs of the Ray cluster."""
    nodes: int = 1
    address: str | None = None
    seconds: float = 0.0

    def exit_code(self) -> int:
        """2 when a city's input is bad (as the single-city command), else 1 when a city
        could not be solved for another reason, else 0."""
        failures = {r.failure for r in self.results}
        return 2 if "input" in failures else 1 if "crash" in failures else 0


# ------------------------------------------------------------------------------ folders


def is_city_folder(path: Path) -> bool:
    """A data folder: ``enterprises.csv`` and ``plans/city.yaml`` in it."""
    return (path / INVENTORY_FILE).is_file() and (path / CITY_FILE).is_file()


def _meant_as_city(path: Path) -> bool:
    """Holds one of a data folder's parts: a city, broken perhaps, not a mere container."""
    return (path / INVENTORY_FILE).exists() or (path / "plans").is_dir()


def city_folders(paths: Sequence[Path]) -> list[Path]:
    """The city data folders that ``paths`` name, in order.

    A data folder stands for itself; a folder that is none stands for its sub-folders
    that hold ``enterprises.csv`` or ``plans/`` (by name; a sub-folder holding only one
    of the two is a broken city, reported when solved); anything else is kept as it is
    and reported when solved (``no such data folder``, or the missing files).

    Raises
    ------
    InputError
        The same folder named twice.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir() and not _meant_as_city(path):
            inside = sorted(
                sub
                for sub in path.iterdir()
                if sub.is_dir() and not sub.name.startswith(".") and _meant_as_city(sub)
            )
            if inside:
                found += inside
                continue
        found.append(path)
    seen: dict[Path, Path] = {}
    for path in found:
        key = path.resolve()
        if key in seen:
            raise InputError(f"{path}: given twice (also as {seen[key]})")
        seen[key] = path
    return found


def folder_language(folder: Path) -> str:
    """The city plan's ``language``, as the single-city command picks the language of its
    errors: ``zh`` when the city plan is missing or does not load."""
    from emergency.cityplan import load_city_plan

    path = folder / CITY_FILE
    if not path.is_file():
        return DEFAULT_LANG
    try:
        city, _ = load_city_plan(path, CITY_FILE)
    except (InputError, OSError, ValueError):
        return DEFAULT_LANG
    return city.language if city is not None else DEFAULT_LANG


# ------------------------------------------------------------------------------ one city


@contextlib.contextmanager
def _working_dir(path: str) -> Iterator[None]:
    """Work from ``path`` when this machine has it (a worker of another node may not)."""
    if Path(path).is_dir():
        with contextlib.chdir(path):
            yield
    else:
        yield


def solve_city(job: CityJob) -> CityResult:
    """One city's response, as ``emergency respond --data FOLDER`` makes it; never raises
    for the city's input nor for a fault of the engine (both come back in the result)."""
    started = time.perf_counter()
    folder = job.folder
    result = CityResult(folder=str(folder), city=folder.name or str(folder), lang=DEFAULT_LANG)
    with _working_dir(job.cwd):
        result.lang = job.lang or folder_language(folder)
        try:
            _respond(job, result)
        except InputError as exc:
            result.failure, result.error = "input", error_line(str(exc), result.lang)
        except Exception as exc:  # a fault of the engine: this city only, never the others
            result.failure = "crash"
            result.error = "".join(traceback.format_exception_only(exc)).strip()
    result.seconds = time.perf_counter() - started
    return result


def _respond(job: CityJob, result: CityResult) -> None:
    """The steps of ``emergency respond``, in its order (so the same error comes first)."""
    from emergency.dataset import load_dataset
    from emergency.forecast import load_forecast
    from emergency.respond import plan_response
    from emergency.rules import assess, choose_rule_set, city_standard

    forecast = job.forecast
    result.forecast = job.forecast_name
    if forecast is None:
        own = job.folder / FORECAST_FILE
        result.forecast = str(own)
        if not own.is_file():
            raise InputError(f"{job.folder}: no {FORECAST_FILE} in the folder, and no --forecast")
        forecast = load_forecast(own)
    rule_set = choose_rule_set(forecast, job.rules, job.folder)
    warning = assess(forecast, rule_set, standard=city_standard(job.folder))
    dataset = load_dataset(job.folder)
    result.city = dataset.city.name or result.city
    result.sources = len(dataset.sources)
    result.lang = job.lang or dataset.city.language
    result.plan = plan_response(
        dataset, warning, time_limit_s=job.time_limit_s, gap_limit=job.gap_limit
    )
    if job.output is not None:
        result.output = list_file(result.plan, dataset, job.output, result.lang)


def list_file(plan: ResponsePlan, dataset: Dataset, output: Output, lang: str) -> bytes:
    """The bytes ``respond --csv / --xlsx / --report`` writes for one city."""
    if output == "csv":
        from emergency.export import to_csv

        return to_csv(plan, dataset, lang).encode("utf-8-sig")
    if output == "xlsx":
        from emergency.export import to_xlsx

        return to_xlsx(plan, dataset, lang)
    from emergency.settings import utc_now
    from emergency.upward import ReportInfo, to_report_xlsx

    return to_report_xlsx(plan, dataset, ReportInfo(generated_at=utc_now()))


def _lost(job: CityJob, exc: BaseException) -> CityResult:
    """A city whose worker died (or whose task the pool or cluster could not run)."""
    return CityResult(
        folder=str(job.folder),
        city=job.folder.name or str(job.folder),
        lang=job.lang or DEFAULT_LANG,
        forecast=job.forecast_name,
        failure="crash",
        error="".join(traceback.format_exception_only(exc)).strip(),
    )


# ------------------------------------------------------------------------------ many cities


def ray_address() -> str | None:
    """``EMERGENCY_RAY_ADDRESS``, None when unset or empty."""
    return os.environ.get(RAY_ADDRESS_ENV, "").strip() or None


def solve_cities(
    jobs: Sequence[CityJob],
    *,
    workers: int | None = None,
    address: str | None = None,
    progress: Progress | None = None,
) -> ProvinceRun:
    """Solve every city; the results in the order of ``jobs``.

    Parameters
    ----------
    jobs
        One per city.
    workers
        Local processes (default: the CPU count; never more than there are cities).
    address
        A Ray cluster to solve on instead (``EMERGENCY_RAY_ADDRESS``, :func:`ray_address`).
    progress
        Called as ``progress(done, total)`` as cities finish.

    Raises
    ------
    InputError
        ``address`` given while Ray is not installed, or no Ray cluster answers there.
    """
    started = time.perf_counter()
    if address is not None:
        run = _on_ray(jobs, address, progress)
    else:
        run = _on_processes(jobs, workers or os.cpu_count() or 1, progress)
    run.seconds = time.perf_counter() - started
    return run


def _on_processes(jobs: Sequence[CityJob], workers: int, progress: Progress | None) -> ProvinceRun:
    n = max(1, min(workers, len(jobs)))
    results: list[CityResult | None] = [None] * len(jobs)
    if n == 1:  # one process: this one
        for i, job in enumerate(jobs):
            results[i] = solve_city(job)
            if progress:
                progress(i + 1, len(jobs))
        return ProvinceRun([r for r in results if r is not None], "local", 1)
    # spawn, not fork: the parent may run threads (a progress spinner), and OR-Tools' own
    # threads do not survive a fork
    with ProcessPoolExecutor(max_workers=n, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(solve_city, job): i for i, job in enumerate(jobs)}
        for done, future in enumerate(as_completed(futures), start=1):
            i = futures[future]
            try:
                results[i] = future.result()
            except Exception as exc:  # the worker died (BrokenProcessPool) or did not start
                results[i] = _lost(jobs[i], exc)
            if progress:
                progress(done, len(jobs))
    return ProvinceRun([r for r in results if r is not None], "local", n)


def _reachable(address: str) -> None:
    """Fail fast and clearly when nothing listens at ``host:port`` (Ray would retry for
    minutes); other forms (``auto``, ``local``) are left to Ray."""
    rest = address.removeprefix("ray://")
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(
            f"{RAY_ADDRESS_ENV}={address}: cannot reach a Ray cluster there ({reason})"
        ) from None


def _on_ray(jobs: Sequence[CityJob], address: str, progress: Progress | None) -> ProvinceRun:
    try:
        import ray
    except ImportError:
        raise InputError(
            f"{RAY_ADDRESS_ENV} is set ({address}) but Ray is not installed"
            " (pip install 'emergency[ray]')"
        ) from None
    own = not ray.is_initialized()
    if own:
        _reachable(address)
        try:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(
                f"{RAY_ADDRESS_ENV}={address}: cannot reach a Ray cluster there ({reason})"
            ) from None
    try:
        nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
        cpus = int(ray.cluster_resources().get("CPU", 0))
        # one CPU per city: CP-SAT runs one worker
        task = ray.remote(num_cpus=1)(solve_city)
        refs = [task.remote(job) for job in jobs]
        pending = list(refs)
        while pending:
            _, pending = ray.wait(pending, num_returns=1)
            if progress:
                progress(len(refs) - len(pending), len(refs))
        results = []
        for job, ref in zip(jobs, refs, strict=True):
            try:
                results.append(ray.get(ref))
            except ray.exceptions.RayError as exc:  # a worker or node lost
                results.append(_lost(job, exc))
        return ProvinceRun(results, "ray", cpus, nodes=nodes, address=address)
    finally:
        if own:
            ray.shutdown()
