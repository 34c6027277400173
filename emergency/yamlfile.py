"""YAML files with line numbers: one reader for plans, rule sets and plans sent over HTTP.

:func:`read_yaml` parses one document (libyaml when present) typed as ``yaml.safe_load``
would, refusing duplicate keys, and keeps the node tree; :func:`locate` finds the line of a
field in it; :func:`format_problems` writes ``file:line: field: what``;
:func:`refuse_alias_bombs` refuses documents whose aliases expand past
:data:`MAX_YAML_NODES` values before anything reads them.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from emergency.errors import InputError, ValidationErrors, where

# libyaml is ~10x faster; the pure-Python loaders give the same nodes and marks
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseComposer: Any = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """A problem found in a YAML file: where (a path of keys and indices) and what."""

    path: PathKey
    message: str


def path_text(path: Sequence[str | int]) -> str:
    """``("measures", 1, "loads", "sinter-1")`` → ``measures[1].loads.sinter-1``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def locate(node: yaml.Node | None, path: Sequence[str | int]) -> int | None:
    """The 1-based YAML line of ``path`` in a composed document (the deepest part found)."""
    if node is None:
        return None
    line: int = node.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                    line, node = key_node.start_mark.line + 1, value_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def format_problems(name: str, problems: Iterable[Problem], node: yaml.Node | None) -> list[str]:
    """Messages ``file:line: field: what`` for problems of one file."""
    located = [(locate(node, p.path), p) for p in problems]
    located.sort(key=lambda item: item[0] or 0)
    return [f"{where(name, line, path_text(p.path) or None)}: {p.message}" for line, p in located]


class _Loader(_SafeLoader):
    """Safe loader that refuses duplicate keys (PyYAML would silently keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    raise _duplicate(key_node)
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def _duplicate(key_node: yaml.Node) -> yaml.constructor.ConstructorError:
    return yaml.constructor.ConstructorError(
        None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
    )


# Fast path. Composing with the base loader and typing each *distinct* plain scalar once
# (cached) is about twice as fast as the safe loader's per-node construction, which matters
# for tens of thousands of plan files. Anything unusual (explicit tags, merge keys,
# recursive aliases, unhashable keys) falls back to the safe loader above.
_PLAIN = "tag:emergency.invalid,2024:plain"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_STR = "tag:yaml.org,2002:str"
_IMPLICIT = yaml.resolver.Resolver.yaml_implicit_resolvers
_CONSTRUCTORS = yaml.constructor.SafeConstructor.yaml_constructors
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


class _Composer(_BaseComposer):
    """Composes nodes and marks plain scalars for :func:`_plain` instead of resolving them."""

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return _PLAIN
        return super().resolve(kind, value, implicit)

    # no path resolvers are registered: skip the per-node bookkeeping
    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


class _Fallback(Exception):
    """The fast path met YAML it does not handle; use the safe loader."""


@functools.lru_cache(maxsize=1 << 16)
def _plain(value: str) -> Any:
    """A plain scalar typed exactly as the safe loader would (int, float, bool, date, ...)."""
    for tag, regexp in _IMPLICIT.get(value[:1], []) + _IMPLICIT.get(None, []):
        if regexp.match(value):
            if tag == _STR:
                return value
            construct = _CONSTRUCTORS.get(tag)
            if construct is None:  # the merge key "<<"
                raise _Fallback
            try:
                return construct(_CONSTRUCTOR, yaml.ScalarNode(tag, value))
            except (ValueError, yaml.YAMLError):  # e.g. the date 2016-13-45: keep the text
                return value
    return value


_SCALAR = yaml.ScalarNode
_KEYS = (str, int, float, bool, dt.date, type(None))


def _build(node: yaml.Node) -> Any:
    # The plain scalars (most of a plan's nodes) typed in their parent's loop: no call of
    # this function for each.
    kind = node.__class__
    if kind is _SCALAR:
        if node.tag == _PLAIN:
            return _plain(node.value)
        if node.tag == _STR:
            return node.value
    elif kind is yaml.SequenceNode and node.tag == _SEQ:
        return [
            _plain(item.value) if item.__class__ is _SCALAR and item.tag == _PLAIN else _build(item)
            for item in node.value
        ]
    elif kind is yaml.MappingNode and node.tag == _MAP:
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.__class__ is _SCALAR and key_node.tag == _PLAIN:
                key = _plain(key_node.value)
            else:
                key = _build(key_node)
            if not isinstance(key, _KEYS):
                raise _Fallback
            if key in mapping:
                raise _duplicate(key_node)
            if value_node.__class__ is _SCALAR and value_node.tag == _PLAIN:
                mapping[key] = _plain(value_node.value)
            else:
                mapping[key] = _build(value_node)
        return mapping
    raise _Fallback


def _yaml_error(exc: yaml.YAMLError, name: str) -> ValidationErrors:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        detail = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        line = mark.line + 1 if mark is not None else None
        return ValidationErrors([f"{where(name, line)}: YAML: {detail}"])
    return ValidationErrors([f"{where(name)}: YAML: {exc}"])


def read_yaml(text: str, name: str) -> tuple[Any, yaml.Node | None]:
    """Parse one YAML document; return the data and its node tree (for line numbers).

    Data are typed as by ``yaml.safe_load``; duplicate keys are refused.

    Raises
    ------
    ValidationErrors
        On a syntax error, with the line where the parser stopped.
    """
    composer = _Composer(text)
    try:
        node = composer.get_single_node()
        if node is None:
            return None, None
        return _build(node), node
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, name) from None
    except (_Fallback, RecursionError):
        pass
    finally:
        composer.dispose()
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return loader.construct_document(node), node
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, name) from None
    except ValueError as exc:  # e.g. an explicit !!timestamp that is no date
        raise ValidationErrors([f"{where(name)}: YAML: {exc}"]) from None
    finally:
        loader.dispose()


def compose_file(path: Path) -> yaml.Node | None:
    """The node tree of a YAML file, or None if it cannot be read or parsed."""
    try:
        return read_yaml(path.read_text(encoding="utf-8"), str(path))[1]
    except (OSError, UnicodeDecodeError, ValidationErrors):
        return None


def compose(text: str) -> yaml.Node | None:
    """The node tree of a YAML text, or None when it does not parse."""
    try:
        return yaml.compose(text, Loader=_SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return None


def line_of(text: str, path: Sequence[str | int]) -> int | None:
    """The 1-based line of ``path`` (the deepest part found) in a YAML text."""
    return locate(compose(text), path)


MAX_YAML_NODES = 100_000
"""A plan is a few hundred YAML nodes; more, once aliases are expanded, is an attack."""


def refuse_alias_bombs(text: str, what: str) -> None:
    """Refuse YAML whose aliases expand to more than :data:`MAX_YAML_NODES` nodes.

    A document of nine anchors each repeating the previous one nine times ("billion
    laughs") is under a kilobyte, parses at once, and expands to 400 million values when
    the plan is read: several minutes of a worker's CPU for one request. The node graph
    is sized without expanding it (each node's size counted once).

    Raises
    ------
    InputError
        Naming ``what``.
    """
    root = compose(text)  # a text that does not parse is reported, with its line, by the reader
    size: dict[int, int] = {}
    visiting: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)] if root is not None else []
    while stack:
        node, children_done = stack.pop()
        if id(node) in size:
            continue
        if not children_done and id(node) in visiting:  # an alias inside its own anchor
            raise InputError(f"{what}: YAML alias refers to a node that contains it")
        if isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        if children_done:
            size[id(node)] = 1 + sum(size[id(child)] for child in children)
            if size[id(node)] > MAX_YAML_NODES:
                raise InputError(
                    f"{what}: YAML aliases expand to more than {MAX_YAML_NODES} values"
                )
            continue
        visiting.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in size)
