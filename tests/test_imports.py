"""The house's import graph: no cycle in ``emergency`` and ``api``, and the core stands alone.

Data flows one way (files → models → duties → rows → solver → checker → service →
API/pages); an import cycle, or the core importing the web layer, is where that starts to
bend. The graph is read from the source (every import, function-level and type-only ones
included), so neither a lazy import nor an ``if TYPE_CHECKING:`` block can hide a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("emergency", "api")
SERVE = "emergency.cli.cmd_service"
"""The one core module that may import the web layer: ``emergency serve`` starts it."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                out.add(candidate if candidate in known else base)
        stack.extend(ast.iter_child_nodes(node))
    return {m for m in out if m in known and m != name}


def graph() -> nx.DiGraph:
    found = modules()
    known = set(found)
    g = nx.DiGraph()
    g.add_nodes_from(known)
    for name, path in found.items():
        for target in imports_of(name, path, known):
            g.add_edge(name, target)
    return g


def test_the_graph_is_read() -> None:
    g = graph()
    assert g.number_of_nodes() > 60
    assert g.has_edge("emergency.duties", "emergency.measures")
    assert g.has_edge("api.main", "emergency.service.enterprises")


def test_no_import_cycle() -> None:
    cycles = list(nx.simple_cycles(graph()))
    assert cycles == [], "\n".join(" → ".join([*c, c[0]]) for c in cycles[:10])


def test_the_core_does_not_import_the_web_layer() -> None:
    g = graph()
    wrong = sorted(
        (source, target)
        for source, target in g.edges
        if source.startswith("emergency") and target.startswith("api") and source != SERVE
    )
    assert wrong == []
