"""The architecture holds: each folder imports only what ARCHITECTURE.md allows, the read-side
folders never load torch, and modules and functions stay small enough to read."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "jacbench"

#: Which jacbench folders each folder may import from (besides itself): ARCHITECTURE.md's table.
#: ``cli/`` and the package's ``__init__`` may import anything.
ALLOWED: dict[str, set[str]] = {
    "model": set(),
    "theory": set(),
    "modes": {"model", "theory"},
    "results": set(),
    "measure": {"theory", "results"},
    "run": {"model", "modes", "theory", "measure", "results"},
    "analysis": {"results", "theory", "modes.catalog"},
    "render": {"analysis", "results", "theory", "modes.catalog"},
}
#: Folders whose modules never import torch, so results can be read and rendered anywhere.
TORCH_FREE = ("results", "analysis", "render", "theory")
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
    return relative.parts[0] if len(relative.parts) > 1 else None


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_flow(path: Path) -> None:
    folder = folder_of(path)
    if folder in (None, "cli"):  # the command line and the package's __init__ may import all
        return
    allowed = ALLOWED[folder] | {folder}
    for name in imported(path):
        target = name.removeprefix("jacbench.")
        assert any(target == a or target.startswith(a + ".") for a in allowed), (
            f"{path.relative_to(PACKAGE)} imports {name}: {folder}/ may import only "
            f"{sorted(allowed)}")


def test_the_read_side_never_loads_torch() -> None:
    names = [".".join(("jacbench", *p.relative_to(PACKAGE).with_suffix("").parts))
             for p in modules() if folder_of(p) in TORCH_FREE and p.stem != "__init__"]
    code = ("import sys\n" + "".join(f"import {n}\n" for n in names)
            + "import jacbench\nprint('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "False", f"torch was imported by one of {names}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_and_functions_are_short(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{lines} lines: split this module by job"
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1  # type: ignore[operator]
            assert length <= MAX_FUNCTION_LINES, f"{node.name} is {length} lines"
