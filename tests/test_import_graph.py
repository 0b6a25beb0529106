"""No import circles among the repository's own modules (tests excluded).

Every ``import`` and ``from ... import`` statement counts, at module level and inside functions
alike: a function-local import that closes a cycle is still a cycle, only deferred to run time.
An edge goes to the most specific repository module a statement names (``from a.b import c``
reaches ``a.b.c`` when that is a module, else ``a.b``'s ``__init__``); imports of anything outside
the repository are ignored. Run this file as a script to print the circles.
"""
from __future__ import annotations

import ast
import sys
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("supernas", "nni_plugins", "katib_suggestions", "trial_templates", "benchmarks")


def module_name(path: Path) -> str:
    """Dotted module name of ``path`` (a file under ``ROOT``); a package is its ``__init__``."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def repo_modules() -> dict[str, Path]:
    """Every module of the checked packages, by dotted name."""
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module a (possibly relative) ``from`` statement imports from."""
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _targets(node: ast.AST, module: str, is_package: bool, known: set[str]) -> list[str]:
    """Repository modules that one import statement reaches."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in known]
    if not isinstance(node, ast.ImportFrom):
        return []
    source = _absolute(node, module, is_package)
    found = [f"{source}.{a.name}" for a in node.names if f"{source}.{a.name}" in known]
    if len(found) < len(node.names) and source in known:
        found.append(source)
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> repository modules it imports (anywhere in its body)."""
    modules = repo_modules()
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        is_package = path.name == "__init__.py"
        edges = {t for node in ast.walk(tree) for t in _targets(node, name, is_package, known)}
        graph[name] = edges - {name}
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Components of ``graph`` with more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start not in index:
            _visit(start, graph, index, low, stack, on_stack, found)
    return sorted(sorted(c) for c in found if len(c) > 1)


def _visit(start: str, graph: dict[str, set[str]], index: dict[str, int], low: dict[str, int],
           stack: list[str], on_stack: set[str], found: list[list[str]]) -> None:
    work = [(start, iter(sorted(graph[start])))]
    index[start] = low[start] = len(index)
    stack.append(start)
    on_stack.add(start)
    while work:
        node, children = work[-1]
        child = next(children, None)
        if child is None:
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                found.append(_pop_component(node, stack, on_stack))
        elif child not in index:
            index[child] = low[child] = len(index)
            stack.append(child)
            on_stack.add(child)
            work.append((child, iter(sorted(graph[child]))))
        elif child in on_stack:
            low[node] = min(low[node], index[child])


def _pop_component(root: str, stack: list[str], on_stack: set[str]) -> list[str]:
    component: list[str] = []
    while True:
        node = stack.pop()
        on_stack.discard(node)
        component.append(node)
        if node == root:
            return component


def shortest_cycle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """One shortest cycle through the first module of ``component`` (breadth-first)."""
    members, start = set(component), component[0]
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(graph[node] & members):
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return list(reversed(path)) + [start]
            if child not in came_from:
                came_from[child] = node
                queue.append(child)
    return component


def describe(graph: dict[str, set[str]], components: list[list[str]]) -> str:
    """One paragraph per circle: its modules and one concrete cycle through them."""
    lines = []
    for c in components:
        lines.append(f"circle of {len(c)} modules: {', '.join(c)}")
        lines.append("  e.g. " + " -> ".join(shortest_cycle(graph, c)))
    return "\n".join(lines)


def test_checker_finds_a_known_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert shortest_cycle(graph, ["a", "b", "c"]) == ["a", "b", "c", "a"]


def test_checker_resolves_relative_and_local_imports() -> None:
    tree = ast.parse("def f():\n    from .b import c\n    import x.y\n")
    known = {"x.y", "p.b", "p.b.c"}
    targets = [t for n in ast.walk(tree) for t in _targets(n, "p.a", False, known)]
    assert sorted(targets) == ["p.b.c", "x.y"]


def test_no_import_circles() -> None:
    graph = import_graph()
    components = strongly_connected(graph)
    assert not components, "import circles:\n" + describe(graph, components)


if __name__ == "__main__":
    found = strongly_connected(import_graph())
    print(describe(import_graph(), found) or "no import circles")
    sys.exit(1 if found else 0)
