"""The data-folder cache: the same dataset back while the files are unchanged, a fresh read
(and fresh validation) after any change, off when asked, and a broken entry rebuilt."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from emergency import dataset as dataset_module
from emergency.dataset import load_dataset
from emergency.errors import ValidationErrors
from tests.datafiles import write_small_dataset


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("EMERGENCY_CACHE_DIR", str(folder))
    return folder


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.dataset")) if folder.is_dir() else []


def refuse_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on the folder cannot be read from its files: only the cache can answer."""

    def unreadable(base: Path, progress: object, **_: object) -> None:
        raise AssertionError("read from the files, not from the cache")

    monkeypatch.setattr(dataset_module, "_load", unreadable)


def test_an_unchanged_folder_comes_back_from_the_cache(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = write_small_dataset(tmp_path / "data")
    first = load_dataset(data, cache=True)
    assert len(entries(cache)) == 1
    refuse_reading(monkeypatch)
    again = load_dataset(data, cache=True)
    assert again.sources == first.sources
    assert again.plans == first.plans
    assert again.city == first.city
    assert again.root == data


def test_a_changed_file_is_read_and_validated_again(tmp_path: Path, cache: Path) -> None:
    data = write_small_dataset(tmp_path / "data")
    load_dataset(data, cache=True)
    plan = next((data / "plans" / "enterprises").glob("*.yaml"))
    text = plan.read_text(encoding="utf-8")
    plan.write_text(text.replace("0391-000000", "0391-999999", 1), encoding="utf-8")
    changed = load_dataset(data, cache=True)
    contact = changed.plans[plan.stem].contact
    assert "0391-999999" in str(contact)
    assert len(entries(cache)) == 2
    # An edit that breaks the folder is refused, never answered from an older entry.
    plan.write_text(text.replace("lines:", "lines_misspelt:", 1), encoding="utf-8")
    with pytest.raises(ValidationErrors) as refused:
        load_dataset(data, cache=True)
    assert plan.name in str(refused.value)
    assert len(entries(cache)) == 2


def test_the_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "cache"
    monkeypatch.setenv("EMERGENCY_CACHE_DIR", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    data = write_small_dataset(tmp_path / "data")
    load_dataset(data, cache=True)
    assert not folder.exists()


def test_a_broken_entry_is_rebuilt(tmp_path: Path, cache: Path) -> None:
    data = write_small_dataset(tmp_path / "data")
    first = load_dataset(data, cache=True)
    (entry,) = entries(cache)
    entry.write_bytes(b"not a pickle")
    again = load_dataset(data, cache=True)
    assert again.sources == first.sources
    assert entry.read_bytes() != b"not a pickle"


def test_plans_read_by_processes_are_stored_as_they_pickled_them(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large folder's plans, read by several processes, go into the cache as the bytes
    those processes pickled — the plans are not pickled again — and come back the same
    plans in the same order; the bytes are let go once stored."""
    from emergency import datacache
    from emergency.paths import REPO_ROOT
    from emergency.plans import Plan

    serial = load_dataset(REPO_ROOT, cache=False)
    monkeypatch.setattr(dataset_module, "PARALLEL_FROM", 2)
    monkeypatch.setattr(dataset_module, "CHUNK", 7)
    monkeypatch.setattr(dataset_module.os, "cpu_count", lambda: 2)
    store = datacache._store

    def store_without_pickling_a_plan(folder: Path, path: Path, dataset: object) -> bool:
        def refuse(self: Plan) -> None:
            raise AssertionError("a plan pickled again")

        with monkeypatch.context() as patch:
            patch.setattr(Plan, "__getstate__", refuse)
            return store(folder, path, dataset)

    monkeypatch.setattr(datacache, "_store", store_without_pickling_a_plan)
    first = load_dataset(REPO_ROOT, cache=True)
    assert len(entries(cache)) == 1
    assert first.plans_pickled is None
    assert first.plans == serial.plans and list(first.plans) == list(serial.plans)
    refuse_reading(monkeypatch)
    again = load_dataset(REPO_ROOT, cache=True)
    assert len(serial.plans) > 100
    assert again.plans == serial.plans and list(again.plans) == list(serial.plans)
    assert again.sources == serial.sources and again.city == serial.city
    assert again.by_id.keys() == serial.by_id.keys()


def test_plans_behind_a_symbolic_link_are_in_the_key(tmp_path: Path, cache: Path) -> None:
    """A city whose plan folder is a link to a shared folder: an edit there is read, not
    answered from the cache; a link back up the tree is no loop."""
    data = write_small_dataset(tmp_path / "data")
    shared = tmp_path / "shared"
    (data / "plans" / "enterprises").rename(shared)
    (data / "plans" / "enterprises").symlink_to(shared, target_is_directory=True)
    (shared / "up").symlink_to(data / "plans", target_is_directory=True)
    load_dataset(data, cache=True)
    plan = next(shared.glob("*.yaml"))
    text = plan.read_text(encoding="utf-8")
    plan.write_text(text.replace("0391-000000", "0391-999999", 1), encoding="utf-8")
    changed = load_dataset(data, cache=True)
    assert "0391-999999" in str(changed.plans[plan.stem].contact)
    assert len(entries(cache)) == 2
    # Each file in the key once: the link back up is not walked again.
    from emergency.datacache import _files_under

    names = _files_under(data, data / "plans")
    assert sum(name.endswith(plan.name) for name in names) == 1


def count_parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The plan files parsed from now on, by name (the real parser does the work)."""
    parsed: list[str] = []
    plan_from_bytes = dataset_module.plan_from_bytes

    def counting(data: bytes, name: str) -> object:
        parsed.append(Path(name).name)
        return plan_from_bytes(data, name)

    monkeypatch.setattr(dataset_module, "plan_from_bytes", counting)
    return parsed


def edit_contact(plan: Path, phone: str) -> None:
    text = plan.read_text(encoding="utf-8")
    assert "0391-000000" in text
    plan.write_text(text.replace("0391-000000", phone, 1), encoding="utf-8")


def test_an_edited_folder_parses_only_the_edited_plans(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One plan edited since the last read: that file alone is parsed again, the others
    are taken from the last entry, and the dataset is the one a fresh read gives."""
    data = write_small_dataset(tmp_path / "data")
    load_dataset(data, cache=True)
    files = sorted((data / "plans" / "enterprises").glob("*.yaml"))
    assert len(files) >= 3
    edited = files[1]
    edit_contact(edited, "0391-999999")
    parsed = count_parsed(monkeypatch)
    again = load_dataset(data, cache=True)
    assert parsed == [edited.name]
    assert "0391-999999" in str(again.plans[edited.stem].contact)
    fresh = load_dataset(data, cache=False)
    assert again.plans == fresh.plans and list(again.plans) == list(fresh.plans)
    assert again.sources == fresh.sources and again.city == fresh.city
    assert len(entries(cache)) == 2
    # The new entry is the one the next edit starts from: the edit kept, one more parsed.
    edit_contact(files[2], "0391-888888")
    parsed.clear()
    third = load_dataset(data, cache=True)
    assert parsed == [files[2].name]
    assert "0391-999999" in str(third.plans[edited.stem].contact)
    assert "0391-888888" in str(third.plans[files[2].stem].contact)


def test_unchanged_plans_are_cross_checked_again(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan taken from the last entry is still held against today's inventory: a row
    changed under it is refused, naming the plan."""
    data = write_small_dataset(tmp_path / "data")
    first = load_dataset(data, cache=True)
    source = next(s for s in first.sources if first.plan(s.id) is not None)
    inventory = data / "enterprises.csv"
    lines = inventory.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    at = next(i for i, line in enumerate(lines) if line.startswith(f"{source.id},"))
    cells = lines[at].rstrip("\n").split(",")
    column = header.index("so2_kg_d")
    cells[column] = str(float(cells[column]) * 3 + 100)
    lines[at] = ",".join(cells) + "\n"
    inventory.write_text("".join(lines), encoding="utf-8")
    parsed = count_parsed(monkeypatch)
    with pytest.raises(ValidationErrors) as refused:
        load_dataset(data, cache=True)
    assert parsed == []
    assert f"{source.id}.yaml" in str(refused.value)
    assert "so2_kg_d" in str(refused.value)
    assert len(entries(cache)) == 1


def test_nothing_is_taken_from_an_entry_of_other_code_or_one_gone(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plans are taken again only from an entry the same code wrote, and only while the
    cache still has it: otherwise every plan is parsed, as on a first read."""
    from emergency import datacache

    data = write_small_dataset(tmp_path / "data")
    load_dataset(data, cache=True)
    files = sorted((data / "plans" / "enterprises").glob("*.yaml"))
    edit_contact(files[0], "0391-999999")
    parsed = count_parsed(monkeypatch)
    with monkeypatch.context() as patch:
        patch.setattr(datacache, "_code_digest", lambda: b"other code")
        load_dataset(data, cache=True)
    assert sorted(parsed) == [f.name for f in files]
    edit_contact(files[1], "0391-888888")
    for entry in entries(cache):
        entry.unlink()
    parsed.clear()
    again = load_dataset(data, cache=True)
    assert sorted(parsed) == [f.name for f in files]
    assert "0391-888888" in str(again.plans[files[1].stem].contact)


def test_a_damaged_index_is_no_error(tmp_path: Path, cache: Path) -> None:
    """The index of a folder's files damaged (any bytes): the folder is read whole, and the
    index written anew."""
    data = write_small_dataset(tmp_path / "data")
    first = load_dataset(data, cache=True)
    (index,) = cache.glob("*.files")
    index.write_bytes(b"\x80\x05K\x01)R.")  # a pickle that fails with a TypeError
    edit_contact(next((data / "plans" / "enterprises").glob("*.yaml")), "0391-999999")
    again = load_dataset(data, cache=True)
    assert again.sources == first.sources
    assert index.read_bytes() != b"\x80\x05K\x01)R."


def saving_meanwhile(monkeypatch: pytest.MonkeyPatch, save: Callable[[], None]) -> None:
    """From now on ``save`` runs just after the folder's files are read (the cache not
    yet written)."""
    load = dataset_module._load

    def saved_meanwhile(base: Path, progress: object, **kwargs: object) -> object:
        read = load(base, progress, **kwargs)  # type: ignore[arg-type]
        save()
        return read

    monkeypatch.setattr(dataset_module, "_load", saved_meanwhile)


def test_nothing_is_stored_when_a_file_changes_while_the_folder_is_read(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan saved while a folder read before is read again: the entry would be keyed by
    the digest taken before the read, of the old bytes, so none is stored, and the next
    read sees the new plan."""
    data = write_small_dataset(tmp_path / "data")
    plans = sorted((data / "plans" / "enterprises").glob("*.yaml"))
    load_dataset(data, cache=True)
    edit_contact(plans[0], "0391-777777")
    with monkeypatch.context() as patch:
        saving_meanwhile(patch, lambda: edit_contact(plans[1], "0391-999999"))
        read = load_dataset(data, cache=True)
    assert "0391-999999" not in str(read.plans[plans[1].stem].contact)
    assert len(entries(cache)) == 1
    fresh = load_dataset(data, cache=True)
    assert "0391-999999" in str(fresh.plans[plans[1].stem].contact)
    assert len(entries(cache)) == 2


def opened_plans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The plan files the cache opens itself (to hash them) from now on, by name."""
    from emergency import datacache

    opened: list[str] = []

    def counting(file: str, *args: Any, **kwargs: Any) -> Any:
        if "enterprises" in Path(file).parts:
            opened.append(Path(file).name)
        return open(file, *args, **kwargs)

    monkeypatch.setattr(datacache, "open", counting, raising=False)
    return opened


@pytest.mark.parametrize("processes", [False, True])
def test_a_first_read_reads_each_plan_file_once(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, processes: bool
) -> None:
    """A folder never stored from its place is not hashed before it is read: each plan
    file is hashed from the bytes parsed (here, or by the reading processes), so it is
    read once. The key is the one a digest taken first gives: the next read is the
    cache's, and hashes every file to say so."""
    data = write_small_dataset(tmp_path / "data")
    plans = sorted(p.name for p in (data / "plans" / "enterprises").glob("*.yaml"))
    if processes:
        monkeypatch.setattr(dataset_module, "PARALLEL_FROM", 2)
        monkeypatch.setattr(dataset_module, "CHUNK", 1)
        monkeypatch.setattr(dataset_module.os, "cpu_count", lambda: 2)
    opened = opened_plans(monkeypatch)
    parsed = count_parsed(monkeypatch)
    first = load_dataset(data, cache=True)
    assert opened == [] and sorted(parsed) == ([] if processes else plans)
    assert len(entries(cache)) == 1
    parsed.clear()
    again = load_dataset(data, cache=True)
    assert parsed == [] and sorted(opened) == plans
    assert again.plans == first.plans and again.sources == first.sources


def test_a_plan_saved_during_a_first_read_is_keyed_by_the_bytes_parsed(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a first read a plan is keyed by the bytes parsed: saved meanwhile, the entry
    stored is the old bytes' (what was read), and the next read, seeing other bytes, reads
    the new plan."""
    data = write_small_dataset(tmp_path / "data")
    plan = next((data / "plans" / "enterprises").glob("*.yaml"))
    with monkeypatch.context() as patch:
        saving_meanwhile(patch, lambda: edit_contact(plan, "0391-999999"))
        first = load_dataset(data, cache=True)
    assert "0391-999999" not in str(first.plans[plan.stem].contact)
    assert len(entries(cache)) == 1
    parsed = count_parsed(monkeypatch)
    fresh = load_dataset(data, cache=True)
    assert parsed == [plan.name]
    assert "0391-999999" in str(fresh.plans[plan.stem].contact)


@pytest.mark.parametrize("change", ["edit", "add", "remove"])
def test_nothing_is_stored_when_the_inventory_or_the_files_change_during_a_first_read(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """On a first read the files the loader does not hash as it parses them (the
    inventory here) are hashed after; a plan file added meanwhile was not read, one
    removed was: either way what was read may not be what the key says, and nothing is
    stored."""
    data = write_small_dataset(tmp_path / "data")
    inventory = data / "enterprises.csv"
    plans = data / "plans" / "enterprises"
    some = next(plans.glob("*.yaml"))

    def save() -> None:
        if change == "edit":
            inventory.write_text(inventory.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        elif change == "add":
            (plans / "ZZ-NEW.yaml").write_bytes(some.read_bytes())
        else:
            some.unlink()

    with monkeypatch.context() as patch:
        saving_meanwhile(patch, save)
        load_dataset(data, cache=True)
    assert entries(cache) == []


def test_plans_taken_again_and_read_by_processes_are_all_stored(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some plans taken from the last entry, the edited ones read by several processes:
    the entry stored holds every plan, not only the ones the processes pickled."""
    data = write_small_dataset(tmp_path / "data")
    first = load_dataset(data, cache=True)
    monkeypatch.setattr(dataset_module, "PARALLEL_FROM", 2)
    monkeypatch.setattr(dataset_module, "CHUNK", 1)
    monkeypatch.setattr(dataset_module.os, "cpu_count", lambda: 2)
    files = sorted((data / "plans" / "enterprises").glob("*.yaml"))
    assert len(files) >= 3
    edit_contact(files[0], "0391-999999")
    edit_contact(files[1], "0391-888888")
    parsed = count_parsed(monkeypatch)
    edited = load_dataset(data, cache=True)
    assert parsed == []  # read in the forked processes, not here
    assert edited.plans.keys() == first.plans.keys()
    refuse_reading(monkeypatch)
    again = load_dataset(data, cache=True)
    assert again.plans == edited.plans and list(again.plans) == list(edited.plans)
    assert "0391-888888" in str(again.plans[files[1].stem].contact)


def moving_out_while_listed(monkeypatch: pytest.MonkeyPatch, plan: Path) -> None:
    """From now on ``plan`` is moved out of the plans folder while the loader lists it and
    back after (a move keeps its size and time: its stamps do not tell)."""
    listing = dataset_module._plan_files
    aside = plan.parent.parent / f"{plan.name}.aside"

    def listed_without(folder: Path, reading: object = None) -> list[Path]:
        plan.rename(aside)
        try:
            return listing(folder, reading)  # type: ignore[arg-type]
        finally:
            aside.rename(plan)

    monkeypatch.setattr(dataset_module, "_plan_files", listed_without)


@pytest.mark.parametrize("first", [True, False])
def test_a_plan_missed_by_the_loaders_listing_stores_nothing(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, first: bool
) -> None:
    """A plan file out of its folder just while the loader lists it: the dataset read lacks
    its plan while the key, listed before and after, has its file. Nothing is stored (on a
    first read and on a read after an edit alike), and the next read has the plan."""
    data = write_small_dataset(tmp_path / "data")
    plans = sorted((data / "plans" / "enterprises").glob("*.yaml"))
    site = site_plan(data)  # a site may go without a plan: the folder is valid either way
    if not first:
        load_dataset(data, cache=True)
        edit_contact(plans[1], "0391-777777")
    stored = len(entries(cache))
    with monkeypatch.context() as patch:
        moving_out_while_listed(patch, site)
        read = load_dataset(data, cache=True)
    assert site.stem not in read.plans
    assert len(entries(cache)) == stored
    again = load_dataset(data, cache=True)
    assert site.stem in again.plans


def site_plan(data: Path) -> Path:
    """A plan for the construction site JY-S001 of the small city (its one line the
    inventory row's totals), written in the plans folder."""
    from tests.datafiles import _line, dump_yaml

    plan = {
        "enterprise": "JY-S001",
        "lines": [_line("earthwork", "土方", nox_kg_d=20, pm_kg_d=120, vocs_kg_d=5)],
        "contact": {"person": "周工", "phone": "0391-0000009"},
    }
    plan["lines"][0]["value_added_yuan_d"] = 60000
    path = data / "plans" / "enterprises" / "JY-S001.yaml"
    path.write_text(dump_yaml(plan), encoding="utf-8")
    return path


def test_a_hit_keeps_the_folders_index(tmp_path: Path, cache: Path) -> None:
    """An entry read from the cache keeps its folder's index as new as itself: the indexes
    are pruned by age like the entries, and a folder without one is read whole."""
    import os

    data = write_small_dataset(tmp_path / "data")
    load_dataset(data, cache=True)
    (index,) = cache.glob("*.files")
    (entry,) = entries(cache)
    for file in (index, entry):
        os.utime(file, (1_000_000, 1_000_000))
    load_dataset(data, cache=True)
    assert index.stat().st_mtime > 1_000_000 and entry.stat().st_mtime > 1_000_000
