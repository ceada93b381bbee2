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


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
