"""The package graph is a DAG of layers (docs/design.md "Layout"), read from the import statements of every module.

    core  <-  toy, theory (never each other)  <-  learned  <-  sweeps  <-  figures

``python tests/test_layers.py`` prints the graph: package -> the suite packages it imports, with the modules.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# package -> the suite packages it may import (besides itself)
ALLOWED = {
    "core": set(),
    "toy": {"core"},
    "theory": {"core"},
    "learned": {"core", "toy", "theory"},
    "sweeps": {"core", "toy", "theory", "learned"},
    "figures": {"core", "toy", "theory", "learned", "sweeps"},
}


def imported_packages(path: Path) -> set[str]:
    """The top-level suite packages a module imports (``import x.y``, ``from x.y import z``, ``from x import y``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names & set(ALLOWED)


def import_graph() -> dict[str, dict[str, set[str]]]:
    """package -> imported package -> the modules of ``package`` that import it."""
    graph: dict[str, dict[str, set[str]]] = {package: defaultdict(set) for package in ALLOWED}
    for package in ALLOWED:
        for path in sorted((ROOT / package).rglob("*.py")):
            for other in imported_packages(path) - {package}:
                graph[package][other].add(path.relative_to(ROOT).as_posix())
    return graph


def test_every_suite_package_has_a_layer():
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages == set(ALLOWED), f"packages and layers differ: {packages ^ set(ALLOWED)}"


def test_imports_follow_the_layers():
    violations = [f"{package} imports {other} in {', '.join(sorted(modules))}"
                  for package, edges in import_graph().items() for other, modules in edges.items()
                  if other not in ALLOWED[package]]
    assert not violations, "layering violations:\n" + "\n".join(violations)


def test_toy_and_theory_are_independent():
    graph = import_graph()
    assert "theory" not in graph["toy"] and "toy" not in graph["theory"]


if __name__ == "__main__":
    for package, edges in import_graph().items():
        print(f"{package} -> {', '.join(sorted(edges)) or '(nothing of the suite)'}")
        for other, modules in sorted(edges.items()):
            print(f"    {other}: {', '.join(sorted(modules))}")
