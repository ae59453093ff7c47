"""No import cycle among the project's modules, counting imports inside functions (grimp's graph, the
one import-linter checks): a cycle is how one module comes to know everything."""

from __future__ import annotations

import sys
from pathlib import Path

import grimp
import pytest

PROJECT_PACKAGES = ("canvascraft", "jobs", "components", "pages")


def import_cycles(*packages: str) -> list[list[str]]:
    """Each group of modules that import one another in a ring (strongly connected, Tarjan)."""
    graph = grimp.build_graph(*packages, cache_dir=None)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while (member := stack.pop()) != module:
                on_stack.discard(member)
                group.append(member)
            on_stack.discard(module)
            if group:
                cycles.append(sorted([module, *group]))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return cycles


def test_the_project_has_no_import_cycle() -> None:
    assert import_cycles(*PROJECT_PACKAGES) == []


def test_a_cycle_through_a_function_level_import_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "ringed"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "first.py").write_text("from ringed import second\n")
    (package / "second.py").write_text("def later():\n    from ringed import first\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "ringed", raising=False)
    assert import_cycles("ringed") == [["ringed.first", "ringed.second"]]
