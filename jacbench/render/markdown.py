"""Markdown tables for the report: cells escaped, numeric columns aligned right.

>>> print("\\n".join(table(["mode", "time"], [["forward", "3 ms"], ["reverse", None]])))
<BLANKLINE>
| mode | time |
|---|---:|
| forward | 3 ms |
| reverse | - |
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

#: Cells of a right-aligned column: numbers with units (bold or not), ranges, statuses, blanks.
NUMBER = re.compile(
    r"^[*_]*[-+]?[\d.]+(e[-+]?\d+)?( ?[a-zA-Z%]+)?[*_]*$"
    r"|^-?$|^_[a-z]+_$|^[\d.]+\.\.[\d.]+$"
)


def cell(value: Any) -> str:
    """A value as a table cell: '-' when missing, pipes escaped, on one line."""
    text = "-" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """A markdown table (its lines, a blank one first); columns whose cells all read as numbers
    (with units) align right."""
    cells = [[cell(v) for v in row] for row in rows]
    numeric = [all(NUMBER.match(row[i]) for row in cells) and any(row[i] for row in cells)
               for i in range(len(headers))]
    lines = ["", "| " + " | ".join(headers) + " |",
             "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in cells]
