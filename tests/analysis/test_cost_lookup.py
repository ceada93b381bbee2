"""analysis.cost_lookup: the cost model's FLOPs at a stored point, and the stored fallback."""

from __future__ import annotations

import numpy as np
import pandas as pd
from factories import frame_of, grid, make_rows

from jacbench.analysis.cost_lookup import stored_flops, theory_flops
from jacbench.theory.cost import cost


def test_theory_flops_is_the_cost_model_at_the_rows_point() -> None:
    point = {"L": 3, "D": 16, "K": 32, "P": 8, "batch": 2, "dtype": "float64"}
    expected = cost("reverse", 3, 16, 32, 8, 2, dtype_bytes=8).flops
    assert theory_flops("reverse", point) == expected
    assert theory_flops("reverse", pd.Series(point)) == expected


def test_no_theory_for_unknown_modes_or_incomplete_points() -> None:
    point = {"L": 3, "D": 16, "K": 32, "P": 8, "batch": 1}
    assert theory_flops("a-mode-from-another-version", point) is None
    assert theory_flops("forward", {k: v for k, v in point.items() if k != "K"}) is None
    assert theory_flops("forward", {**point, "D": None}) is None


def test_stored_flops_falls_back_to_the_recorded_column() -> None:
    rows = frame_of(make_rows(grid(D=[8]), ("forward",)))
    assert stored_flops(rows) == cost("forward", 4, 8, 128, 64).flops
    assert stored_flops(rows.assign(flops=np.nan)) is None
    assert stored_flops(rows.assign(flops=0)) is None
