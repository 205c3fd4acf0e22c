"""The layers, checked over every module: the domain imports nothing of ours but itself, the application no
database driver and no adapter, and no module of ours imports itself back through others (issue 9, point 1).

Imports are read from the source (top level, outside `if TYPE_CHECKING:`), so a new module is covered without
being listed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("domain", "application", "infrastructure", "interfaces")
DRIVERS = ("psycopg", "psycopg_pool", "sqlite3")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_level_imports(path: Path) -> set[str]:
    """What a module imports when it is loaded: its top-level imports, not those under TYPE_CHECKING or in
    functions."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If):
                if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)

    visit(tree.body)
    return found


MODULES = {module_name(path): path for layer in LAYERS for path in sorted((ROOT / layer).rglob("*.py"))}
IMPORTS = {name: top_level_imports(path) for name, path in MODULES.items()}


def ours(imported: set[str]) -> set[str]:
    return {name for name in imported if name in MODULES}


def layer(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("name", [n for n in MODULES if layer(n) == "domain"])
def test_the_domain_imports_nothing_of_ours_but_the_domain(name: str) -> None:
    assert {layer(n) for n in IMPORTS[name] if layer(n) in LAYERS} <= {"domain"}, sorted(IMPORTS[name])


@pytest.mark.parametrize("name", [n for n in MODULES if layer(n) == "application"])
def test_the_application_imports_no_driver_and_no_adapter(name: str) -> None:
    drivers = {n for n in IMPORTS[name] if n.split(".")[0] in DRIVERS}
    outward = {n for n in IMPORTS[name] if layer(n) in ("infrastructure", "interfaces")}
    assert not drivers and not outward, sorted(drivers | outward)


def test_no_module_imports_itself_back_through_others() -> None:
    graph = {name: ours(imported) - {name} for name, imported in IMPORTS.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(name: str) -> None:
        state[name] = 1
        path.append(name)
        for nxt in sorted(graph[name]):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                walk(nxt)
        path.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name)
    # a package's __init__ importing its own modules is how a package presents itself, not a cycle of jobs
    cycles = [c for c in cycles if not any(c[i + 1].startswith(c[i] + ".") for i in range(len(c) - 1))]
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)
