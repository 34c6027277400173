"""A validated data folder kept as one binary file, keyed by the digest of its files.

Reading and validating a city of 50,000 sources (as many YAML plans) takes about ten
seconds; reading it back from the cache about one. The key is a BLAKE2 digest of every
file the folder holds under ``enterprises.csv`` and ``plans/`` (names and bytes, through
symbolic links to folders as the loader reads through them) and of
the engine's own source code, so any change to the data or to the code that reads it
misses the cache and the folder is validated afresh. Only a folder that passed
validation is stored; a folder with errors is read (and refused) every time.

A folder this code has not stored from its place before is read at once, without a
digest first (nothing of an earlier read could be taken): the plan files are hashed as
they are parsed, from the bytes parsed, so the cold read reads each file once.

A folder edited since its last read (a plan or two changed, a source added) is not read
whole again: beside each entry the cache keeps the digest of every file it was read from
(one index per folder and code version), and the loader takes from that earlier entry what
was read from files whose bytes are unchanged (:class:`Earlier`) — only the edited files
are parsed again, and everything is cross-checked afresh, as on a first read.

The cache lives in ``$EMERGENCY_CACHE_DIR`` (default ``$XDG_CACHE_HOME/emergency`` or
``~/.cache/emergency``); ``EMERGENCY_CACHE_DIR=off`` turns it off. It holds pickles the
engine wrote itself: point it only at a folder no one else writes to. The newest
:data:`KEEP` entries are kept.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import posixpath
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

Loaded = TypeVar("Loaded")

FORMAT = 2
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


@functools.cache
def _code_digest() -> bytes:
    """The digest of the engine's code as this process loaded it."""
    package = Path(__file__).parent
    h = hashlib.blake2b(digest_size=16)
    for path in sorted(package.rglob("*.py")):
        h.update(str(path.relative_to(package)).encode())
        h.update(path.read_bytes())
    return h.digest()


def folder_digest(base: Path) -> str:
    """The digest of a data folder's files (``enterprises.csv``, everything under
    ``plans/``), of the engine's code and of the Python version."""
    return _digests(base)[0]


def file_digest(data: bytes) -> bytes:
    """A file's digest as a folder's key takes it, from its bytes."""
    return hashlib.blake2b(data, digest_size=16).digest()


Stamp = tuple[str, int, int]
"""A file's name, size and modification time: what tells that it changed."""


def _digests(
    base: Path, known: dict[str, bytes] | None = None
) -> tuple[str, dict[str, bytes], list[Stamp]]:
    """The folder's digest, each file's own by its name relative to the folder
    (``/``-separated), and the stamp of each file hashed here as it was read. The files
    ``known`` names are not read again: their digests are taken from it."""
    h = hashlib.blake2b(digest_size=20)
    h.update(_version_tag())
    files: dict[str, bytes] = {}
    stamps: list[Stamp] = []
    for name in _names(base):
        key = name.replace(os.sep, "/")
        digest = known.get(key) if known is not None else None
        if digest is None:
            try:
                with open(os.path.join(base, name), "rb") as f:
                    st = os.fstat(f.fileno())
                    digest = file_digest(f.read())
                stamps.append((name, st.st_size, st.st_mtime_ns))
            except OSError:
                digest = b"\0missing"
                stamps.append((name, -1, -1))
        files[key] = digest
        h.update(key.encode(errors="surrogateescape") + b"\0" + digest)
    return h.hexdigest(), files, stamps


def _names(base: Path) -> list[str]:
    """The files a folder's key covers: ``enterprises.csv`` and every file under ``plans/``."""
    return ["enterprises.csv", *sorted(_files_under(base, base / "plans"))]


def _stamps(base: Path, names: list[str] | None = None) -> list[Stamp]:
    """The stamps of ``names`` (default: every file the key covers): what tells that the
    folder changed while it was being read."""
    out = []
    for name in _names(base) if names is None else names:
        try:
            st = os.stat(os.path.join(base, name))
        except OSError:
            out.append((name, -1, -1))
        else:
            out.append((name, st.st_size, st.st_mtime_ns))
    return out


def _version_tag() -> bytes:
    """What an entry depends on besides the files: the stored form, Python, the code."""
    return f"{FORMAT}/{sys.version_info[0]}.{sys.version_info[1]}".encode() + _code_digest()


def _files_under(base: Path, top: Path) -> list[str]:
    """Every file under ``top``, relative to ``base``, through symbolic links to folders
    and files as the loader reads through them (a city's ``plans/enterprises`` may be a
    link to a shared folder), each folder once (a link back up is no loop)."""
    found: list[str] = []
    seen: set[str] = set()
    # os.scandir, not os.walk and a stat of each name: the kind of a plain entry comes
    # with the listing (a tenth of the time on 50,000 plan files, against Path.rglob).
    folders = [str(top)]
    while folders:
        folder = folders.pop()
        # By the folder's real path, not its inode: some file systems number none.
        real = os.path.normcase(os.path.realpath(folder))
        if real in seen:
            continue
        seen.add(real)
        inside = os.path.relpath(folder, base)
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:
            continue
        below = []
        for entry in entries:
            try:
                if entry.is_dir():
                    below.append(entry.path)
                elif entry.is_file():
                    found.append(os.path.join(inside, entry.name))
            except OSError:
                continue
        # A folder reached by two links is named the same way every time: first in order.
        folders += reversed(below)
    return found


@dataclass(frozen=True)
class Earlier:
    """What the last stored read of the same folder, by the same code, leaves to a new one:
    its dataset, and the names of the files (relative to the folder, ``/``-separated)
    whose bytes are the same now as when it was read."""

    dataset: Any
    unchanged: frozenset[str]


@dataclass
class Reading:
    """What a read of the folder tells the cache of the files it read, by name relative to
    the folder (``/``-separated)."""

    listed: dict[str, set[str]] = field(default_factory=dict)
    """Each folder the reader listed to read its files (``plans/enterprises``): every file
    it found there, hidden ones included."""
    hashed: dict[str, bytes] = field(default_factory=dict)
    """The digest (:func:`file_digest`) of each file parsed, from the very bytes parsed."""

    def as_listed(self, files: dict[str, bytes]) -> bool:
        """Each folder listed holds, among ``files`` (the key's), just the files the reader
        found there: none came or went between the key's listing and the reader's, which
        a file's stamps do not show (a plan moved out and back keeps them)."""
        for folder, names in self.listed.items():
            if {n for n in files if posixpath.dirname(n) == folder} != names:
                return False
        return True


Load = Callable[[Earlier | None, Reading | None], Loaded]
"""``load(earlier, reading)`` reads and validates the folder, and, when ``reading`` is
given, records in it what it listed and the digests of what it parsed."""


def load_cached(base: Path, load: Load[Loaded]) -> Loaded:
    """The folder's dataset from the cache, else ``load(earlier, reading)`` (which
    validates) stored there — ``earlier`` the last entry stored for this folder, if the
    cache still has it (None otherwise): what ``load`` takes from it must come from
    unchanged files. What is stored has a ``root`` (the folder, set anew on reading: it
    may have moved)."""
    folder = cache_dir()
    if folder is None:
        return load(None, None)
    index = folder / f"{_place(base)}.files"
    if not index.is_file():
        return _first_read(base, folder, index, load)
    key, files, stamps = _digests(base)
    path = folder / f"{key}.dataset"
    dataset: Any = _read_entry(path)
    if dataset is not None:
        dataset.root = base
        # the newest used stays longest, and its index with it (without it the next read
        # would be a first read, the entry unseen)
        path.touch()
        with contextlib.suppress(OSError):  # removed meanwhile: the next is a first read
            os.utime(index)
        return dataset
    reading = Reading()
    dataset = load(_earlier(folder, index, files), reading)
    # A file saved, added or removed while the folder was being read: what was read may
    # not be what the key says, so nothing is stored (the next read starts afresh).
    if _stamps(base) == stamps and reading.as_listed(files):
        _keep(folder, index, key, files, dataset)
    return dataset


def _first_read(base: Path, folder: Path, index: Path, load: Load[Loaded]) -> Loaded:
    """A folder this code has not stored from its place: read it at once, then key it.

    Nothing of an earlier read can be taken, and an entry for the same files is there only
    if they were read from another place or the folder's index was let go (those cases
    read the folder again). The files the loader parsed are keyed by the digests of the
    bytes it parsed; the others (the inventory, the city plan, files it skips) are hashed
    after, and must be as they were before the read began, the same files in all, and the
    folders the loader listed must hold just what it found, or nothing is stored."""
    names = _names(base)
    before = dict(zip(names, _stamps(base, names), strict=True))
    reading = Reading()
    dataset = load(None, reading)
    key, files, stamps = _digests(base, known=reading.hashed)
    same = (
        list(files) == [name.replace(os.sep, "/") for name in names]
        and all(before.get(stamp[0]) == stamp for stamp in stamps)
        and reading.as_listed(files)
    )
    if same:
        _keep(folder, index, key, files, dataset)
    return dataset


def _keep(folder: Path, index: Path, key: str, files: dict[str, bytes], dataset: Any) -> None:
    """Store the entry under ``key`` and, once it is written, the folder's index of its
    files' digests (what a read after an edit takes unchanged plans by)."""
    if _store(folder, folder / f"{key}.dataset", dataset):
        _store(folder, index, (key, files))


def _read_entry(path: Path) -> Any:
    """The entry's content, or None (absent, or unreadable: then removed, to be rebuilt)."""
    try:
        with path.open("rb") as f:
            return pickle.load(f)
    except FileNotFoundError:
        return None
    except Exception:  # a damaged pickle raises almost anything
        path.unlink(missing_ok=True)  # unreadable or from another code version: rebuilt
        return None


def _place(base: Path) -> str:
    """The name of a folder's index: its real path, with the code that reads it."""
    h = hashlib.blake2b(digest_size=20)
    h.update(_version_tag())
    h.update(os.path.realpath(base).encode(errors="surrogateescape"))
    return h.hexdigest()


def _earlier(folder: Path, index: Path, files: dict[str, bytes]) -> Earlier | None:
    """The folder's last stored read and which of its files are unchanged since, or None."""
    stored = _read_entry(index)
    if not (isinstance(stored, tuple) and len(stored) == 2):
        return None
    key, before = stored
    if not isinstance(key, str) or not isinstance(before, dict):
        return None
    dataset = _read_entry(folder / f"{key}.dataset")
    if dataset is None:
        return None
    unchanged = frozenset(name for name, digest in files.items() if before.get(name) == digest)
    return Earlier(dataset, unchanged)


def _store(folder: Path, path: Path, content: object) -> bool:
    """Write atomically (a reader never sees half a file), and keep the newest
    :data:`KEEP` files of the same kind; whether it was written (a cache that cannot be
    written is no error)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as f:
            pickle.dump(content, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(f.name, path)
    except OSError:
        return False
    # The oldest beyond KEEP removed; another process may be removing them too.
    aged = []
    for entry in folder.glob(f"*{path.suffix}"):
        try:
            aged.append((entry.stat().st_mtime, entry))
        except OSError:
            continue
    for _, old in sorted(aged)[:-KEEP]:
        try:
            old.unlink(missing_ok=True)
        except OSError:
            continue
    return True


__all__ = ["Earlier", "Reading", "cache_dir", "file_digest", "folder_digest", "load_cached"]
