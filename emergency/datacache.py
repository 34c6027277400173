"""A validated data folder kept as one binary file, keyed by the digest of its files.

Reading and validating a city of 50,000 sources (as many YAML plans) takes about ten
seconds; reading it back from the cache about one. The key is a BLAKE2 digest of every
file the folder holds under ``enterprises.csv`` and ``plans/`` (names and bytes, through
symbolic links to folders as the loader reads through them) and of
the engine's own source code, so any change to the data or to the code that reads it
misses the cache and the folder is read and validated afresh. Only a folder that passed
validation is stored; a folder with errors is read (and refused) every time.

The cache lives in ``$EMERGENCY_CACHE_DIR`` (default ``$XDG_CACHE_HOME/emergency`` or
``~/.cache/emergency``); ``EMERGENCY_CACHE_DIR=off`` turns it off. It holds pickles the
engine wrote itself: point it only at a folder no one else writes to. The newest
:data:`KEEP` entries are kept.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

Loaded = TypeVar("Loaded")

FORMAT = 1
"""Bumped when the stored form changes in a way the code digest would not show."""
KEEP = 8
OFF = ("", "off", "0", "no", "false")


def cache_dir() -> Path | None:
    """Where cached data folders are kept, or None when the cache is off."""
    configured = os.environ.get("EMERGENCY_CACHE_DIR")
    if configured is not None:
        return None if configured.strip().lower() in OFF else Path(configured)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "emergency"


def _code_digest() -> bytes:
    package = Path(__file__).parent
    h = hashlib.blake2b(digest_size=16)
    for path in sorted(package.rglob("*.py")):
        h.update(str(path.relative_to(package)).encode())
        h.update(path.read_bytes())
    return h.digest()


def folder_digest(base: Path) -> str:
    """The digest of a data folder's files (``enterprises.csv``, everything under
    ``plans/``), of the engine's code and of the Python version."""
    h = hashlib.blake2b(digest_size=20)
    h.update(f"{FORMAT}/{sys.version_info[0]}.{sys.version_info[1]}".encode())
    h.update(_code_digest())
    # os.walk and plain names, not Path.rglob: a tenth of the time on 50,000 plan files.
    names = ["enterprises.csv"]
    names += sorted(
        name for name in _files_under(base, base / "plans") if os.path.isfile(base / name)
    )
    for name in names:
        h.update(name.replace(os.sep, "/").encode() + b"\0")
        try:
            with open(os.path.join(base, name), "rb") as f:
                data = f.read()
        except OSError:
            data = b"\0missing"
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def _files_under(base: Path, top: Path) -> list[str]:
    """Every file under ``top``, relative to ``base``, through symbolic links to folders
    as the loader reads through them (a city's ``plans/enterprises`` may be a link to a
    shared folder), each folder once (a link back up is no loop)."""
    found: list[str] = []
    seen: set[str] = set()
    for folder, dirs, files in os.walk(top, followlinks=True):
        # By the folder's real path, not its inode: some file systems number none.
        real = os.path.normcase(os.path.realpath(folder))
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()  # a folder reached by two links is named the same way every time
        inside = os.path.relpath(folder, base)
        found += [os.path.join(inside, name) for name in files]
    return found


def load_cached(base: Path, load: Callable[[], Loaded]) -> Loaded:
    """The folder's dataset from the cache, else ``load()`` (which validates) stored there.
    What is stored has a ``root`` (the folder, set anew on reading: it may have moved)."""
    folder = cache_dir()
    if folder is None:
        return load()
    path = folder / f"{folder_digest(base)}.dataset"
    try:
        with path.open("rb") as f:
            dataset: Any = pickle.load(f)
        dataset.root = base
        path.touch()  # the newest used stays longest
        return dataset
    except FileNotFoundError:
        pass
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        path.unlink(missing_ok=True)  # unreadable or from another code version: rebuilt
    dataset = load()
    _store(folder, path, dataset)
    return dataset


def _store(folder: Path, path: Path, dataset: object) -> None:
    """Write atomically (a reader never sees half a file); a cache that cannot be written
    is no error."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as f:
            pickle.dump(dataset, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(f.name, path)
        entries = sorted(folder.glob("*.dataset"), key=lambda p: p.stat().st_mtime)
        for old in entries[:-KEEP]:
            old.unlink(missing_ok=True)
    except OSError:
        return


__all__ = ["cache_dir", "folder_digest", "load_cached"]
