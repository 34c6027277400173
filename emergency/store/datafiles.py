"""The data folder kept in the database, and the :class:`Dataset` read back from it.

The database holds the texts of the data folder's files (``enterprises.csv``,
``plans/city.yaml``, ``plans/rules/*.yaml``, ``plans/enterprises/*.yaml``). To use them,
the texts are written to a private folder and read with :func:`emergency.dataset.load_dataset`,
so the service validates and reads exactly what the files would give. Folders are
content-addressed and cached: the same texts are read once per process.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, String, func, literal_column, select
from sqlalchemy.orm import Session

from emergency.dataset import INVENTORY_FILE, load_dataset
from emergency.errors import InputError, ValidationErrors
from emergency.store.models import DataFile

if TYPE_CHECKING:
    from emergency.dataset import Dataset

PLAN_DIRS = ("plans",)
PLAN_SUFFIXES = (".yaml", ".yml")
CACHE_SIZE = 4


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_folder(data_dir: Path) -> dict[str, str]:
    """The data files of a folder, by path relative to it (``plans/city.yaml``)."""
    root = Path(data_dir)
    csv = root / INVENTORY_FILE
    if not csv.is_file():
        raise InputError(f"{csv}: not found (a data folder holds enterprises.csv and plans/)")
    paths = [csv]
    for folder in PLAN_DIRS:
        paths += [p for p in sorted((root / folder).rglob("*")) if p.suffix in PLAN_SUFFIXES]
    files: dict[str, str] = {}
    for path in paths:
        try:
            files[path.relative_to(root).as_posix()] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read: {exc}") from None
    return files


def stored_files(session: Session) -> dict[str, str]:
    """The data files stored in the database, by path."""
    rows = session.execute(select(DataFile.path, DataFile.content).order_by(DataFile.path))
    return {path: content for path, content in rows}


_cache: OrderedDict[str, Loaded] = OrderedDict()
_lock = threading.Lock()
"""Datasets read, by content address (a few, least recently used dropped)."""


def files_key(files: Mapping[str, str]) -> str:
    """A content address of a set of files."""
    return _key((path, sha256(text)) for path, text in files.items())


def _key(digests: Iterable[tuple[str, str]]) -> str:
    # one update of one string: this runs on every request that reads the dataset
    text = "".join(f"{path}\0{file_digest}\0" for path, file_digest in sorted(digests))
    return hashlib.sha256(text.encode()).hexdigest()


FILES_KEY_FUNCTION = "emergency_files_key"
"""The SQLite aggregate :class:`FilesKey`, registered on every connection (store.db)."""

PG_FILES_KEY = (
    "(SELECT encode(sha256(coalesce(string_agg("
    "convert_to(path, 'UTF8') || '\\x00'::bytea || convert_to(sha256, 'UTF8') || '\\x00'::bytea,"
    " ''::bytea ORDER BY path COLLATE \"C\"), ''::bytea)), 'hex') FROM data_files)"
)
""":func:`files_key` in PostgreSQL (11 or later: ``sha256``): the same bytes hashed in the
same order (``COLLATE "C"`` sorts UTF-8 bytes, i.e. Python's order of code points)."""


class FilesKey:
    """SQLite aggregate ``emergency_files_key(path, sha256)``: :func:`files_key` of the rows."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str]] = []

    def step(self, path: str, digest: str) -> None:
        self.rows.append((path, digest))

    def finalize(self) -> str:
        return _key(self.rows)


def stored_key(dialect: str) -> ColumnElement[str]:
    """The content address of the stored data files as one scalar subquery, computed by the
    database: a statement that needs the dataset carries it instead of reading every file's
    digest (3,000 rows in a 5,000-source city) and hashing them here."""
    if dialect == "postgresql":
        return literal_column(PG_FILES_KEY, String)
    column = func.emergency_files_key(DataFile.path, DataFile.sha256, type_=String)
    return select(column).scalar_subquery()


def cached(key: str) -> Loaded | None:
    """The dataset of content address ``key`` if this process has read it."""
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
        return hit


def load_stored(session: Session) -> Loaded:
    """The dataset stored in the database; one small query when it is cached."""
    dialect = session.get_bind().dialect.name
    key = session.connection().execute(select(stored_key(dialect))).scalar_one()
    return loaded_for_key(session, key)


def loaded_for_key(session: Session, key: str) -> Loaded:
    """The dataset whose content address the database just gave (:func:`stored_key`): from
    the cache, else read from the stored files."""
    return cached(key) or load_files(stored_files(session))


@dataclass
class Loaded:
    """A data folder written out and read: the folder (for rule sets) and the dataset."""

    key: str
    folder: Path
    dataset: Dataset
    _tmp: tempfile.TemporaryDirectory[str]


def _write(files: Mapping[str, str], root: Path) -> None:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _relative_errors(exc: ValidationErrors | InputError, root: Path) -> InputError:
    """Error messages naming the private folder name the data files instead."""
    prefixes = [str(root) + "/", str(root.resolve()) + "/"]
    pattern = re.compile("|".join(re.escape(p) for p in prefixes))
    if isinstance(exc, ValidationErrors):
        return ValidationErrors(pattern.sub("", e) for e in exc.errors)
    return InputError(pattern.sub("", exc.message))


def load_files(files: Mapping[str, str]) -> Loaded:
    """Write ``files`` to a private folder and read the dataset from it (cached).

    Raises
    ------
    ValidationErrors
        Every problem of the files, each naming the file (relative path), line and field.
    """
    key = files_key(files)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
        tmp = tempfile.TemporaryDirectory(prefix="emergency-data-")
        root = Path(tmp.name)
        _write(files, root)
        try:
            dataset = load_dataset(root)
        except InputError as exc:
            tmp.cleanup()
            raise _relative_errors(exc, root) from None
        loaded = Loaded(key=key, folder=root, dataset=dataset, _tmp=tmp)
        _cache[key] = loaded
        while len(_cache) > CACHE_SIZE:
            _, old = _cache.popitem(last=False)
            old._tmp.cleanup()
        return loaded


def replace_files(
    session: Session, files: Mapping[str, str], actor_label: str, now: Any
) -> dict[str, list[str]]:
    """Make the stored data files equal ``files``; returns the paths added/changed/removed."""
    rows = {row.path: row for row in session.scalars(select(DataFile))}
    summary: dict[str, list[str]] = {"added": [], "changed": [], "removed": [], "unchanged": []}
    for path, text in files.items():
        digest = sha256(text)
        row = rows.get(path)
        if row is None:
            session.add(
                DataFile(
                    path=path, content=text, sha256=digest, updated_at=now, updated_by=actor_label
                )
            )
            summary["added"].append(path)
        elif row.sha256 != digest:
            row.content, row.sha256 = text, digest
            row.updated_at, row.updated_by = now, actor_label
            summary["changed"].append(path)
        else:
            summary["unchanged"].append(path)
    for path in set(rows) - set(files):
        session.delete(rows[path])
        summary["removed"].append(path)
    session.flush()
    return {k: sorted(v) for k, v in summary.items()}


def put_file(session: Session, path: str, text: str, actor_label: str, now: Any) -> None:
    """Store one data file (insert or replace)."""
    row = session.get(DataFile, path)
    if row is None:
        row = DataFile(path=path, content=text, sha256=sha256(text))
        session.add(row)
    row.content, row.sha256 = text, sha256(text)
    row.updated_at, row.updated_by = now, actor_label
    session.flush()


def plan_path(enterprise_id: str) -> str:
    """Where an enterprise's plan lives in the data folder."""
    return f"plans/enterprises/{enterprise_id}.yaml"
