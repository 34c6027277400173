"""A province at once (``emergency respond --cities``, emergency/province.py): each city's
list is the one it gets alone, a broken city is reported while the others are solved, on
local processes and on a real local Ray cluster."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from emergency.cli import app
from emergency.dataset import load_dataset
from emergency.forecast import load_forecast
from emergency.province import RAY_ADDRESS_ENV, CityJob, city_folders, solve_cities
from emergency.respond import plan_response
from emergency.rules import assess, choose_rule_set, city_standard
from emergency.synth import synthesize, write_city
from tests.test_messages import assert_chinese

ROOT = Path(__file__).resolve().parents[1]
ORANGE = ROOT / "examples" / "forecast-orange.json"
RED = ROOT / "examples" / "forecast-red.json"
NONE = ROOT / "examples" / "forecast-none.json"
CITIES = {"anyang": (60, 1), "hebi": (100, 2), "jiaozuo": (150, 3)}
"""Three small synthetic cities: folder → (sources, seed)."""
WIDE = {"COLUMNS": "1000"}
"""Wide enough that no line of the table or its summary is folded."""

runner = CliRunner()


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of three city data folders and a folder that is no city (``notes``)."""
    root = tmp_path_factory.mktemp("province")
    for name, (n, seed) in CITIES.items():
        write_city(synthesize(n, seed), root / name)
    (root / "notes").mkdir()
    (root / "notes" / "readme.txt").write_text("not a city", encoding="utf-8")
    return root


@cache
def alone(
    folder: Path, forecast: Path = ORANGE, rules: str | None = None, gap: float = 0.0
) -> dict[str, Any]:
    """The city's plan as ``respond --data FOLDER --json`` makes it, in this process."""
    loaded = load_forecast(forecast)
    warning = assess(loaded, choose_rule_set(loaded, rules, folder), city_standard(folder))
    plan = plan_response(load_dataset(folder), warning, time_limit_s=20.0, gap_limit=gap)
    return plan.model_dump(mode="json")


def same_list(got: dict[str, Any], expected: dict[str, Any]) -> None:
    """Equal plans but for the time the solve took."""
    assert {**got, "solve_seconds": 0} == {**expected, "solve_seconds": 0}


def single(args: list[str]) -> Any:
    """``emergency respond`` on one city."""
    return runner.invoke(app, ["respond", *args])


def broken_city(root: Path) -> Path:
    """A copy of a good city whose inventory names a grade that does not exist."""
    bad = root / "broken"
    write_city(synthesize(60, 4), bad)
    inventory = bad / "enterprises.csv"
    lines = inventory.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("grade")] = "E"
    lines[1] = ",".join(cells)
    inventory.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return bad


# --------------------------------------------------------------------------- local processes


def test_every_city_gets_the_list_it_gets_alone(province: Path) -> None:
    folders = [province / name for name in CITIES]
    result = runner.invoke(
        app,
        ["respond", "--cities", *map(str, folders), "-f", str(ORANGE), "--json", "--jobs", "3"],
    )
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert [city["folder"] for city in got] == [str(f) for f in folders]
    for city, folder in zip(got, folders, strict=True):
        assert city["error"] is None and city["forecast"] == str(ORANGE)
        assert city["sources"] == CITIES[folder.name][0]
        assert city["city"] == load_dataset(folder).city.name
        assert city["plan"]["status"] == "optimal" and city["plan"]["assignments"]
        same_list(city["plan"], alone(folder))
    costs = {city["plan"]["total_cost_yuan"] for city in got}
    assert len(costs) == 3, "three different cities, three different lists"


def test_the_pool_runs_the_cities_on_as_many_processes_and_keeps_their_order(
    province: Path,
) -> None:
    folders = [province / name for name in reversed(CITIES)]
    jobs = [CityJob(folder=f, forecast=load_forecast(ORANGE)) for f in folders]
    run = solve_cities(jobs, workers=2)
    assert (run.backend, run.workers, run.exit_code()) == ("local", 2, 0)
    assert [r.folder for r in run.results] == [str(f) for f in folders]
    for r, folder in zip(run.results, folders, strict=True):
        assert r.plan is not None
        same_list(r.plan.model_dump(mode="json"), alone(folder))
    one = solve_cities(jobs[:1], workers=4)
    assert (one.backend, one.workers) == ("local", 1), "never more processes than cities"


def test_a_folder_of_cities_stands_for_its_city_folders(province: Path) -> None:
    assert city_folders([province]) == [province / name for name in sorted(CITIES)]
    result = runner.invoke(
        app, ["respond", "--cities", str(province), "-f", str(ORANGE), "--lang", "en"], env=WIDE
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    for name in CITIES:
        cost = alone(province / name)["total_cost_yuan"]
        row = next(line for line in out.splitlines() if str(province / name) in line)
        assert "orange" in row and "optimal" in row and f"{cost:,.0f}" in row, row
    assert "notes" not in out
    total = sum(alone(province / name)["total_cost_yuan"] for name in CITIES)
    assert f"3 cities: 3 solved, 0 failed; total cost {total:,.0f} yuan;" in out
    workers = min(os.cpu_count() or 1, 3)
    assert (f"on {workers} local processes" if workers > 1 else "in this process") in out


def test_the_table_speaks_the_cities_language(province: Path) -> None:
    result = runner.invoke(
        app, ["respond", "--cities", str(province / "hebi"), "-f", str(ORANGE)], env=WIDE
    )
    assert result.exit_code == 0, result.output
    assert "城市" in result.stdout and "橙色" in result.stdout and "最优" in result.stdout
    assert "1 个城市：1 个已求解，0 个失败" in result.stdout
    assert "本进程" in result.stdout
    assert "orange" not in result.stdout and "optimal" not in result.stdout


def test_a_broken_city_is_reported_and_the_others_are_solved(
    province: Path, tmp_path: Path
) -> None:
    bad = broken_city(tmp_path)
    missing = tmp_path / "nowhere"
    good = province / "anyang"
    expected = {}
    for folder in (bad, missing):
        alone_run = single(["--data", str(folder), "-f", str(ORANGE), "--json"])
        assert alone_run.exit_code == 2, alone_run.output
        expected[folder] = alone_run.stderr.strip()
    assert "enterprises.csv:2: grade" in expected[bad], expected[bad]
    assert "no such data folder" in expected[missing] or "数据文件夹不存在" in expected[missing]

    args = ["respond", "--cities", str(bad), str(good), str(missing), "-f", str(ORANGE)]
    as_json = runner.invoke(app, [*args, "--json"])
    assert as_json.exit_code == 2, as_json.output
    got = {city["folder"]: city for city in json.loads(as_json.stdout)}
    assert got[str(bad)]["error"] == expected[bad] and got[str(bad)]["plan"] is None
    assert got[str(missing)]["error"] == expected[missing]
    assert got[str(good)]["error"] is None
    same_list(got[str(good)]["plan"], alone(good))
    assert f"{bad}: {expected[bad]}" in as_json.stderr

    table = runner.invoke(app, [*args, "--jobs", "1"], env=WIDE)  # in this process
    assert table.exit_code == 2
    out = table.stdout
    bad_row = next(line for line in out.splitlines() if str(bad) in line)
    assert "输入有误" in bad_row and "enterprises.csv:2: grade" in bad_row, bad_row
    good_row = next(line for line in out.splitlines() if str(good) in line)
    assert "最优" in good_row and f"{alone(good)['total_cost_yuan']:,.0f}" in good_row
    assert "3 个城市：1 个已求解，2 个失败" in out
    assert f"{missing}: {expected[missing]}" in table.stderr


def test_a_broken_city_inside_a_folder_of_cities_is_one_of_them(
    province: Path, tmp_path: Path
) -> None:
    root = tmp_path / "henan"
    shutil.copytree(province / "anyang", root / "anyang")
    (root / "zz" / "plans").mkdir(parents=True)  # a city without its files, not a container
    assert city_folders([root]) == [root / "anyang", root / "zz"]
    result = runner.invoke(app, ["respond", "--cities", str(root), "-f", str(ORANGE), "--json"])
    assert result.exit_code == 2
    got = json.loads(result.stdout)
    assert got[0]["error"] is None
    expected = single(["--data", str(root / "zz"), "-f", str(ORANGE)]).stderr.strip()
    assert got[1]["error"] == expected and "enterprises.csv" in expected


def test_each_city_its_own_forecast_without_forecast(province: Path, tmp_path: Path) -> None:
    for name, forecast in (("anyang", RED), ("hebi", NONE)):
        shutil.copytree(province / name, tmp_path / name)
        shutil.copy(forecast, tmp_path / name / "forecast.json")
    shutil.copytree(province / "jiaozuo", tmp_path / "jiaozuo")  # none of its own
    result = runner.invoke(app, ["respond", "--cities", str(tmp_path), "--json", "--lang", "en"])
    assert result.exit_code == 2
    got = {Path(city["folder"]).name: city for city in json.loads(result.stdout)}
    assert got["anyang"]["forecast"] == str(tmp_path / "anyang" / "forecast.json")
    assert got["anyang"]["plan"]["warning"]["level"] == "red"
    same_list(got["anyang"]["plan"], alone(province / "anyang", RED))
    assert got["hebi"]["plan"]["status"] == "no_warning"
    assert got["jiaozuo"]["error"] == (
        f"error: {tmp_path / 'jiaozuo'}: no forecast.json in the folder, and no --forecast"
    )
    shared = runner.invoke(
        app, ["respond", "--cities", str(tmp_path), "-f", str(ORANGE), "--json", "-j", "1"]
    )
    assert shared.exit_code == 0, shared.output
    for city in json.loads(shared.stdout):  # --forecast is every city's, their own unread
        assert city["forecast"] == str(ORANGE)
        same_list(city["plan"], alone(province / Path(city["folder"]).name))


def test_the_rule_set_given_is_every_citys(province: Path) -> None:
    folders = [province / "anyang", province / "hebi"]
    args = ["--cities", *map(str, folders), "-f", str(ORANGE), "--rules", "henan-2014"]
    result = single([*args, "--json", "-j", "1"])
    assert result.exit_code == 0, result.output
    for city, folder in zip(json.loads(result.stdout), folders, strict=True):
        assert city["plan"]["warning"]["level"] == "yellow"  # orange under henan-2019
        same_list(city["plan"], alone(folder, ORANGE, "henan-2014"))


def test_the_gap_given_is_every_citys(province: Path) -> None:
    folders = [province / "anyang", province / "hebi"]
    result = single(["--cities", *map(str, folders), "-f", str(ORANGE), "--gap", "50", "--json"])
    assert result.exit_code == 0, result.output
    for city, folder in zip(json.loads(result.stdout), folders, strict=True):
        assert city["plan"]["status"] == "feasible"  # stopped within 50 % of the bound
        same_list(city["plan"], alone(folder, ORANGE, None, 0.5))


def test_the_lists_are_written_as_the_single_city_command_writes_them(
    province: Path, tmp_path: Path
) -> None:
    out = tmp_path / "lists"
    names = ("anyang", "hebi")
    args = ["respond", "--cities", *(str(province / n) for n in names), "-f", str(ORANGE)]
    result = runner.invoke(app, [*args, "--csv", str(out)], env=WIDE)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["anyang.csv", "hebi.csv"]
    for name in names:
        one = tmp_path / f"{name}-alone.csv"
        made = single(["--data", str(province / name), "-f", str(ORANGE), "--csv", str(one)])
        assert made.exit_code == 0, made.output
        assert (out / f"{name}.csv").read_bytes() == one.read_bytes()
    xlsx = runner.invoke(app, [*args, "--xlsx", str(tmp_path / "books"), "--jobs", "1"])
    assert xlsx.exit_code == 0
    assert (tmp_path / "books" / "hebi.xlsx").read_bytes()[:2] == b"PK"


def test_two_cities_of_one_name_are_not_written_to_one_file(province: Path, tmp_path: Path) -> None:
    for side in ("a", "b"):
        shutil.copytree(province / "hebi", tmp_path / side / "hebi")
    args = [str(tmp_path / "a" / "hebi"), str(tmp_path / "b" / "hebi")]
    result = runner.invoke(
        app,
        ["respond", "--cities", *args, "-f", str(ORANGE), "--csv", str(tmp_path / "o")],
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"错误：--csv {tmp_path / 'o'}: {args[0]} 和 {args[1]} 将写入同一文件 hebi.csv"
    )
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("args", "english"),
    [
        (["--cities", "-f", "F"], "--cities: give the city data folders after it"),
        (["X", "-f", "F"], "X: unexpected argument (city folders go with --cities)"),
        (["--cities", "X", "--data", "X", "-f", "F"], "give at most one of --data, --cities"),
        (["-f", "F", "--jobs", "2"], "--jobs goes with --cities"),
        ([], "--forecast: missing (the forecast JSON, docs/FORMATS.md)"),
    ],
)
def test_usage_errors_in_both_languages(args: list[str], english: str) -> None:
    en = single([*args, "--lang", "en"])
    assert en.exit_code == 2
    assert en.stderr.startswith("error: " + english), en.stderr
    zh = single(args)
    assert zh.exit_code == 2 and zh.stderr.startswith("错误："), zh.stderr
    assert_chinese(zh.stderr)


def test_a_city_named_twice_is_refused(province: Path) -> None:
    hebi = province / "hebi"
    result = single(["--cities", str(hebi), str(province), "-f", str(ORANGE), "--lang", "en"])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {hebi}: given twice (also as {hebi})"


def test_a_bad_shared_forecast_is_one_error_before_any_city(province: Path) -> None:
    missing = province / "nope.json"
    result = single(["--cities", str(province), "-f", str(missing), "--lang", "en"])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {missing}: cannot read: No such file or directory"
    assert result.stdout == ""


# --------------------------------------------------------------------------- Ray


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    """Skip on a developer's machine; in CI the Ray tests must run (ray is in the dev extra)."""
    if in_ci():
        pytest.fail(f"{reason}: the Ray tests must run in CI (pip install -e '.[dev]')")
    pytest.skip(f"{reason} (pip install 'ray>=2.9'; in CI this fails)")


RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
"""The test cluster and its driver: no usage report, and no token (a throw-away cluster on
this machine; Ray's token lives in the home folder, which the tests leave alone)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_without_ray_installed_the_address_is_a_clear_error(
    province: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    monkeypatch.setenv(RAY_ADDRESS_ENV, "10.0.0.9:6379")
    result = single(["--cities", str(province), "-f", str(ORANGE), "--lang", "en"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: EMERGENCY_RAY_ADDRESS is set (10.0.0.9:6379) but Ray is not installed"
        " (pip install 'emergency[ray]')"
    )
    zh = single(["--cities", str(province), "-f", str(ORANGE)])
    assert zh.stderr.strip() == (
        "错误：已设置 EMERGENCY_RAY_ADDRESS（10.0.0.9:6379），但未安装 Ray"
        "（pip install 'emergency[ray]'）"
    )


def test_an_address_where_no_cluster_listens_is_a_clear_error(
    province: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        unavailable("ray is not installed")
    port = free_port()  # closed again: nothing listens there
    monkeypatch.setenv(RAY_ADDRESS_ENV, f"127.0.0.1:{port}")
    started = time.perf_counter()
    result = single(["--cities", str(province), "-f", str(ORANGE), "--lang", "en"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: EMERGENCY_RAY_ADDRESS=127.0.0.1:{port}: cannot reach a Ray cluster there"
        " (Connection refused)"
    )
    assert time.perf_counter() - started < 60, "refused at once, not after Ray's retries"


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """A real Ray cluster on this machine (``ray start --head --block``, 2 CPUs), stopped
    afterwards by its own process group; its address."""
    try:
        import ray  # noqa: F401
    except ImportError:
        unavailable("ray is not installed")
    ray_cli = Path(sys.executable).with_name("ray")
    if not ray_cli.exists():
        unavailable(f"{ray_cli} is missing")
    temp = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # short: socket paths ≤ 107
    port = free_port()
    env = {**os.environ, **RAY_ENV}
    env.pop("RAY_ADDRESS", None)
    log = (temp / "start.log").open("wb")
    command = [
        str(ray_cli),
        "start",
        "--head",
        "--block",
        "--num-cpus=2",
        "--node-ip-address=127.0.0.1",
        f"--port={port}",
        f"--dashboard-agent-listen-port={free_port()}",
        f"--metrics-export-port={free_port()}",
        "--include-dashboard=false",
        "--disable-usage-stats",
        f"--temp-dir={temp}",
    ]
    proc = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 90
        while b"Ray runtime started" not in (temp / "start.log").read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                text = (temp / "start.log").read_text(errors="replace")
                pytest.fail(f"ray start --head did not come up:\n{text[-3000:]}")
            time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)  # --block: ray start stops its node's processes
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
        with_group_gone(proc.pid)
        log.close()
        shutil.rmtree(temp, ignore_errors=True)


def with_group_gone(pgid: int) -> None:
    """Kill what is left of the cluster's process group (only the processes it started)."""
    for _ in range(20):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            return
        time.sleep(0.25)


def emergency_cli(args: list[str], cwd: Path, address: str) -> subprocess.CompletedProcess[str]:
    """``emergency`` in its own process, pointed at the Ray cluster."""
    env = {**os.environ, RAY_ADDRESS_ENV: address, **RAY_ENV, **WIDE}
    script = Path(sys.executable).with_name("emergency")
    return subprocess.run(
        [str(script), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_on_a_ray_cluster_every_city_gets_the_list_it_gets_alone(
    ray_cluster: str, province: Path, tmp_path: Path
) -> None:
    bad = broken_city(province.parent / f"{province.name}-bad")
    expected_bad = single(["--data", str(bad), "-f", str(ORANGE)]).stderr.strip()
    # relative folders: Ray's workers start elsewhere and work from the command's folder
    names = [*CITIES, os.path.relpath(bad, province)]
    done = emergency_cli(
        ["respond", "--cities", *names, "-f", str(ORANGE), "--json"], province, ray_cluster
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout.startswith("["), done.stderr
    got = json.loads(done.stdout)
    assert [city["folder"] for city in got] == names
    for city in got[:3]:
        assert city["error"] is None
        same_list(city["plan"], alone(province / city["folder"]))
    assert got[3]["error"] == expected_bad and got[3]["plan"] is None

    table = emergency_cli(
        ["respond", "--cities", *CITIES, "-f", str(ORANGE), "--lang", "en"], province, ray_cluster
    )
    assert table.returncode == 0, table.stderr
    assert f"on the Ray cluster at {ray_cluster} (nodes: 1, CPUs: 2)" in table.stdout
    total = sum(alone(province / name)["total_cost_yuan"] for name in CITIES)
    assert f"3 cities: 3 solved, 0 failed; total cost {total:,.0f} yuan;" in table.stdout


def test_a_fault_of_the_engine_in_one_city_exits_1_and_the_others_are_solved(
    province: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # one process (-j 1: this one), so the fault put into the engine here is the city's
    from emergency import respond as engine

    real = engine.plan_response

    def faulty(dataset: Any, *args: Any, **kwargs: Any) -> Any:
        if dataset.root.name == "hebi":
            raise RuntimeError("a fault of the engine")
        return real(dataset, *args, **kwargs)

    monkeypatch.setattr(engine, "plan_response", faulty)
    cities = [str(province / "anyang"), str(province / "hebi")]
    result = runner.invoke(
        app, ["respond", "--cities", *cities, "-f", str(ORANGE), "--json", "-j", "1"]
    )
    assert result.exit_code == 1, result.output  # no input was bad: 1, not 2
    got = {Path(city["folder"]).name: city for city in json.loads(result.stdout)}
    assert got["hebi"]["error"] == "RuntimeError: a fault of the engine"
    assert got["hebi"]["plan"] is None
    same_list(got["anyang"]["plan"], alone(province / "anyang"))
