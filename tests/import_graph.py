"""The import graph of drot, read from the source with ``ast``, and its circles.

Every ``import`` / ``from ... import`` of a drot module is an edge, wherever it is written: at module
level, inside a function (a deferred import is still a dependency, and deferring is the usual way to
dodge a circle), or under ``if TYPE_CHECKING:`` (a type checker follows it). ``from pkg import name``
is an edge to ``pkg.name`` when that is a module, else to ``pkg`` (its ``__init__``). Importing a
module also runs its parents' ``__init__``; those implicit edges are left out, as every tool that
draws import graphs does, since a package's ``__init__`` importing its own modules would otherwise
be a circle with each of them.

A subpackage is part of its parent package here: its circles with the parent's modules show in the
module graph. Run ``python3 tests/import_graph.py [path/to/drot]`` for the circles found.
"""
from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_files(package_dir: Path = ROOT / "drot") -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package (``pkg/__init__.py`` is ``pkg``)."""
    files = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        files[".".join(parts)] = path
    return files


def _imported_names(node: ast.AST, module: str, is_package: bool) -> Iterable[str]:
    """The dotted names one import statement asks for (``from a import b`` gives ``a.b``)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    assert isinstance(node, ast.ImportFrom)
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - node.level + 1]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    yield source
    yield from (f"{source}.{alias.name}" for alias in node.names)


def import_graph(files: Mapping[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of ``files`` it imports, anywhere in its source."""
    graph = {}
    for module, path in files.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            names = list(_imported_names(node, module, path.name == "__init__.py"))
            if isinstance(node, ast.ImportFrom):
                # ``from pkg import name``: the submodule when ``name`` is one, else the package itself.
                source, members = names[0], names[1:]
                found = [m for m in members if m in files]
                targets.update(found)
                if len(found) < len(members) and source in files:
                    targets.add(source)
            else:
                targets.update(n for n in names if n in files)
        targets.discard(module)
        graph[module] = targets
    return graph


def package_graph(graph: Mapping[str, set[str]], packages: Iterable[str]) -> dict[str, set[str]]:
    """The module graph collapsed onto ``packages``: each module joins the longest one containing it."""
    by_length = sorted(packages, key=len, reverse=True)

    def package(module: str) -> str:
        return next((p for p in by_length if module == p or module.startswith(p + ".")), module)
    collapsed: dict[str, set[str]] = {}
    for module, targets in graph.items():
        edges = collapsed.setdefault(package(module), set())
        edges.update(package(t) for t in targets)
    for name, edges in collapsed.items():
        edges.discard(name)
    return collapsed


def circles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), each sorted, sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        # Recursion depth is the longest import chain: a few dozen for drot.
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def cycle_path(graph: Mapping[str, Iterable[str]], component: list[str]) -> list[str]:
    """One concrete circle through a component's first member, to name in a message."""
    members, start = set(component), component[0]
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph.get(node, ())):
                if target == start:
                    return paths[node] + [start]
                if target in members and target not in paths:
                    paths[target] = paths[node] + [target]
                    following.append(target)
        frontier = following
    return component


def report(graph: Mapping[str, Iterable[str]]) -> list[str]:
    """One line per circle: a path round it, and every module caught in it when there are more."""
    return [" -> ".join(cycle_path(graph, c)) + (f"  (all of: {', '.join(c)})" if len(c) > 2 else "")
            for c in circles(graph)]


def sections(files: Mapping[str, Path]) -> list[tuple[str, dict[str, set[str]]]]:
    """The graphs checked: modules (circles inside a package, subpackages included) and top-level
    packages (circles between packages: the layers of tests/test_architecture.py)."""
    graph = import_graph(files)
    top_level = [m for m in files if m.count(".") == 1]
    return [("modules", graph), ("top-level packages", package_graph(graph, top_level))]


def main(argv: list[str]) -> int:
    package_dir = Path(argv[0]) if argv else ROOT / "drot"
    total = 0
    for title, graph in sections(module_files(package_dir)):
        lines = report(graph)
        total += len(lines)
        print(f"circles among {title}: {len(lines)}")
        for line in lines:
            print("  " + line)
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
