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


#: Rows a table of points shows at most: a report on 10^4 points stays readable (and quick to
#: write); the rows left out are in the folder's parquet files.
MAX_ROWS = 200


def capped_table(headers: Sequence[str], rows: Sequence[Sequence[Any]],
                 total: int | None = None) -> list[str]:
    """``table`` of the first ``MAX_ROWS`` rows, then a line saying how many were left out;
    ``total`` counts the rows when the caller built only the first ones (``rows_shown``)."""
    total = len(rows) if total is None else total
    lines = table(headers, rows[:MAX_ROWS])
    if total <= MAX_ROWS:
        return lines
    return [*lines, "", f"The first {MAX_ROWS} of {total} rows are shown; every row is in the "
            "folder's parquet files (`pandas.read_parquet(folder)`)."]


def rows_shown(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``frame`` a ``capped_table`` shows: formatting only these keeps it quick."""
    return frame.head(MAX_ROWS)
