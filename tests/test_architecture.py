"""The architecture holds: each folder imports only what ARCHITECTURE.md allows, the read-side
folders never load torch, the package has no import circle, and modules and functions stay
small enough to read."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "jacbench"

#: The ground floor: top-level modules every folder may read, which import nothing of jacbench.
GROUND = {"catalog", "paths"}
#: Which jacbench folders (or single modules) each folder may import from (besides itself and the
#: ground floor): ARCHITECTURE.md's table. ``cli/`` and the package's ``__init__`` may import
#: anything.
ALLOWED: dict[str, set[str]] = {
    "model": set(),
    "theory": set(),
    "modes": {"model", "theory"},
    "results": {"theory"},
    "measure": {"theory", "results"},
    "run": {"model", "modes", "theory", "measure", "results", "render.format", "render.words"},
    "analysis": {"results", "theory"},
    "render": {"analysis", "results", "theory"},
}
#: Folders (and ground-floor modules) that never import torch, so results can be read and
#: rendered anywhere.
TORCH_FREE = ("results", "analysis", "render", "theory", *GROUND)
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def imported(path: Path) -> set[str]:
    """Every ``jacbench.*`` module a file imports, at any depth (function-level imports too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("jacbench.")}


def folder_of(path: Path) -> str | None:
    relative = path.relative_to(PACKAGE)
    if len(relative.parts) == 1:
        return path.stem if path.stem in GROUND else None
    return relative.parts[0]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(("jacbench", *(parts[:-1] if parts[-1] == "__init__" else parts)))


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_flow(path: Path) -> None:
    folder = folder_of(path)
    if folder in (None, "cli"):  # the command line and the package's __init__ may import all
        return
    allowed = set() if folder in GROUND else ALLOWED[folder] | GROUND | {folder}
    for name in imported(path):
        target = name.removeprefix("jacbench.")
        assert any(target == a or target.startswith(a + ".") for a in allowed), (
            f"{path.relative_to(PACKAGE)} imports {name}: {folder}/ may import only "
            f"{sorted(allowed)}")


def test_the_read_side_never_loads_torch() -> None:
    names = [module_name(p) for p in modules()
             if folder_of(p) in TORCH_FREE and p.stem != "__init__"]
    code = ("import sys\n" + "".join(f"import {n}\n" for n in names)
            + "import jacbench\nprint('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "False", f"torch was imported by one of {names}"


def _circle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle of ``graph`` (module -> modules it imports), or [] if there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node], path[len(path):] = 1, [node]
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state and (found := visit(target)):
                return found
        state[node] = 2
        path.pop()
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_the_package_has_no_import_circle() -> None:
    names = {module_name(p) for p in modules()}
    graph = {}
    for p in modules():
        if p.name == "__init__.py":  # a package's lazy public names are not an import order
            continue
        graph[module_name(p)] = {n for n in imported(p) if n in names
                                 and not (n != "jacbench" and module_name(p).startswith(n + "."))}
    assert _circle(graph) == [], " -> ".join(_circle(graph))


def test_the_circle_finder_finds_one() -> None:
    assert _circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _circle({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_and_functions_are_short(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{lines} lines: split this module by job"
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1  # type: ignore[operator]
            assert length <= MAX_FUNCTION_LINES, f"{node.name} is {length} lines"
