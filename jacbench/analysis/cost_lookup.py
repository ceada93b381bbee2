"""The cost model looked up by a table row: how many FLOPs a mode needs at a stored point.

Fits, crossovers and the best-mode map set measured times beside ``jacbench.theory.cost``. A mode
the model does not describe (a table written by another version) has no theory: ``theory_flops``
returns None, and ``stored_flops`` falls back to the ``flops`` column recorded with the rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import pandas as pd

from jacbench.catalog import DTYPE_BYTES
from jacbench.results.point import AXES
from jacbench.theory.cost import Cost, cost_at
from jacbench.theory.shape import Shape


@lru_cache(maxsize=65536)
def _cost(mode: str, L: int, D: int, K: int, P: int, batch: int, dtype: str) -> Cost | None:
    try:
        return cost_at(mode, Shape(L, D, K, P, batch), dtype_bytes=DTYPE_BYTES.get(dtype, 4))
    except ValueError:  # a mode the cost model does not describe
        return None


def theory_flops(mode: str, point: Mapping[str, Any]) -> float | None:
    """FLOPs of ``mode`` at ``point`` by the cost model; None where the model does not cover it."""
    try:
        sizes = [int(point[a]) for a in AXES]
    except (KeyError, TypeError, ValueError):
        return None
    result = _cost(mode, *sizes, str(point.get("dtype", "float32")))
    return None if result is None else float(result.flops)


def stored_flops(rows: pd.DataFrame) -> float | None:
    """The median of the rows' recorded ``flops`` column; None when none is positive."""
    values = pd.to_numeric(rows["flops"], errors="coerce").dropna()
    return float(values.median()) if len(values) and values.median() > 0 else None
