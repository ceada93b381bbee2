"""analysis/ and render/ never import torch, so a report can be redone on any machine."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import jacbench.analysis
import jacbench.render


def modules() -> list[str]:
    return [f"{package.__name__}.{m.name}" for package in (jacbench.analysis, jacbench.render)
            for m in pkgutil.iter_modules(package.__path__)]


def test_every_analysis_and_render_module_imports_without_torch() -> None:
    names = modules()
    assert "jacbench.analysis.compare" in names and "jacbench.render.report" in names
    code = ("import importlib, sys\n"
            f"for name in {names!r}:\n"
            "    importlib.import_module(name)\n"
            "    assert 'torch' not in sys.modules, name\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
