"""render.markdown: the report's tables, escaped cells and right-aligned numeric columns."""

from __future__ import annotations

import doctest
import math

import pytest

import jacbench.render.markdown as markdown
from jacbench.render.markdown import cell, table


def test_cells_are_escaped_and_missing_values_read_as_a_dash() -> None:
    assert cell("a|b\nc") == "a\\|b c"
    assert cell(None) == "-" and cell(math.nan) == "-" and cell(3) == "3"


@pytest.mark.parametrize("text", ["3.12 ms", "**450 us**", "12%", "1e-05", "-", "",
                                  "_skipped_", "1..64", "2.00"])
def test_cells_that_read_as_numbers(text: str) -> None:
    assert markdown.NUMBER.match(text)


def test_numeric_columns_align_right() -> None:
    lines = table(["mode", "time", "note"], [["forward", "3 ms", "fast"], ["reverse", "-", ""]])
    assert lines[0] == ""
    assert lines[1] == "| mode | time | note |"
    assert lines[2] == "|---|---:|---|"
    assert lines[3:] == ["| forward | 3 ms | fast |", "| reverse | - |  |"]


def test_a_column_of_blanks_is_not_numeric() -> None:
    assert table(["a"], [[""], [""]])[2] == "|---|"


def test_the_example_in_the_docstring_runs() -> None:
    assert doctest.testmod(markdown).failed == 0
