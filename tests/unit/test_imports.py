"""The package's modules import each other without cycles (issue 14).

The graph is read from the source with :mod:`ast`: every ``import`` a module runs,
at its top or inside a function (a lazy import is still a dependency), and the
packages each import runs on the way (``a.b.c`` runs ``a/b/__init__``). Imports
under ``if TYPE_CHECKING:`` never run and are left out. The top-level package is
left out too: it imports nothing eagerly, and every module is under it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import fusion_jupyter

ROOT = Path(fusion_jupyter.__file__).parent
#: What the engine and the service never import (DESIGN §1: paths are passed in).
SERVER_SIDE = ("tornado", "jupyter_server", "jupyter_core")
TOP = "fusion_jupyter"


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _runtime_nodes(tree: ast.Module) -> Iterator[ast.AST]:
    """Every node except those under ``if TYPE_CHECKING:``."""
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for stmt in node.body
        for inner in ast.walk(stmt)
    }
    return (node for node in ast.walk(tree) if id(node) not in typing_only)


def _imported(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                targets.add(full if full in modules else base)
    deps = set()
    for target in targets:
        parts = target.split(".")
        # The module itself and each package its import runs, below the top one.
        deps.update(".".join(parts[:i]) for i in range(2, len(parts) + 1))
    return {d for d in deps if d in modules and d != name and not name.startswith(d + ".")}


def import_graph() -> dict[str, set[str]]:
    """``{module: modules it imports when it runs}`` for the whole package."""
    modules = _modules()
    return {name: _imported(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for dep in sorted(graph[node]):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_lazy_imports_and_packages() -> None:
    graph = import_graph()
    assert "fusion_jupyter.engine.hub" in graph["fusion_jupyter.engine.manager"]
    # The server imports the service; the service never imports the server.
    assert "fusion_jupyter.service.routes" in graph["fusion_jupyter.server.handlers"]
    assert not any(
        d.startswith("fusion_jupyter.server") for d in graph["fusion_jupyter.service.api"]
    )
    # Importing a widget module runs the client package's __init__.
    assert "fusion_jupyter.client" in graph["fusion_jupyter.widgets.base"]


def test_cycles_are_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycles_in_the_package() -> None:
    assert cycles(import_graph()) == []


def test_the_engine_and_the_service_import_nothing_from_jupyter_or_tornado() -> None:
    for name, path in _modules().items():
        if not name.startswith(("fusion_jupyter.service", "fusion_jupyter.engine")):
            continue
        tree = ast.parse(path.read_text())
        for node in _runtime_nodes(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                )
                bad = [n for n in names if n.split(".")[0] in SERVER_SIDE]
                assert not bad, f"{name} imports {bad}"
