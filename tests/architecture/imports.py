"""The core's package import graph, read from the source (no imports executed)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = "okrbridge"


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """Modules imported at run time, inside functions too; `if TYPE_CHECKING:` blocks are not."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = module.split(".")
                base = parts if is_package else parts[:-1]
                base = base[: len(base) - (node.level - 1)]
                yield ".".join([*base, node.module] if node.module else base)
            elif node.module:
                yield node.module
        stack.extend(ast.iter_child_nodes(node))


def package_of(module: str, *, include_external: bool = False) -> str | None:
    """`okrbridge.sync.drain` -> `sync`; top-level modules (`okrbridge.domain`) are their own.
    With `include_external`, a module outside the core is named by its top-level package."""
    parts = module.split(".")
    if parts[0] != CORE:
        return parts[0] if include_external else None
    return parts[1] if len(parts) > 1 else None


def package_graph(*, include_external: bool = False) -> dict[str, set[str]]:
    """Core package -> the core packages it imports (and the other top-level packages too,
    with `include_external`)."""
    graph: dict[str, set[str]] = {}
    for path in sorted((ROOT / CORE).rglob("*.py")):
        relative = path.relative_to(ROOT).with_suffix("")
        is_package = relative.name == "__init__"
        parts = relative.parts[:-1] if is_package else relative.parts
        module = ".".join(parts)
        source = package_of(module)
        if source is None:
            continue
        targets = graph.setdefault(source, set())
        for imported in _imports(ast.parse(path.read_text()), module, is_package):
            target = package_of(imported, include_external=include_external)
            if target is not None and target != source:
                targets.add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one package (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)
