"""The runnable examples in jacbench's docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import jacbench

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(jacbench.__path__, "jacbench.")
    if m.name != "jacbench.__main__"
)
#: Modules that import an optional dependency at the top: skipped where it is not installed.
OPTIONAL = {"jacbench.modes.triton_kernels": "triton"}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    if name in OPTIONAL:
        pytest.importorskip(OPTIONAL[name])
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
