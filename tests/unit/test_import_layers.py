"""Imports go one way: contracts → workflows → services, and no module imports itself back round a
cycle. Workflow code must replay without the services it is deployed beside, and a cycle makes
import order decide what works (a lazy import inside a function counts: it runs sooner or later).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("contracts", "workflows", "services")


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in LAYERS:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            found[name] = path
    return found


def _imported(path: Path) -> Iterator[str]:
    """Every absolute import in the file, at any depth, with ``from m import x`` giving ``m.x`` too
    (``x`` may be a module)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def import_graph() -> dict[str, set[str]]:
    """Module → the project modules it imports (package ``__init__``s that hold nothing but a
    docstring are left out: importing ``services.x`` runs ``services/__init__.py``, which is not a
    dependency on the rest of ``services``)."""
    modules = _modules()
    return {
        name: {
            target
            for target in _imported(path)
            if target in modules and target != name and target not in LAYERS
        }
        for name, path in modules.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_imports_go_from_contracts_to_workflows_to_services() -> None:
    graph = import_graph()
    rank = {layer: n for n, layer in enumerate(LAYERS)}
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        for target in targets
        if rank[target.split(".")[0]] > rank[module.split(".")[0]]
    )
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


def test_no_import_cycles() -> None:
    assert _cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


# The services one deploys, each its own process; what they share is a library outside them.
DEPLOYABLES = ("services.intake", "services.registry", "services.notifier", "services.console")
# Tools that start, document or seed the deployables, and so may import them.
TOOLS = (
    "services.asyncapi",
    "services.cli",
    "services.devstack",
    "services.serve",
    "services.rulebook",
    "services.demos",
    # The Temporal UI's codec endpoint runs behind the console's sign-in and is served with it.
    "services.codec_server",
)


def _deployable(module: str) -> str | None:
    return next((d for d in DEPLOYABLES if module == d or module.startswith(d + ".")), None)


def test_no_deployable_and_no_library_imports_another_deployable() -> None:
    graph = import_graph()
    crossing = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if not module.startswith(TOOLS)
        for target in targets
        if _deployable(target) is not None and _deployable(target) != _deployable(module)
    )
    assert not crossing, "imports of another deployable's modules:\n" + "\n".join(crossing)
