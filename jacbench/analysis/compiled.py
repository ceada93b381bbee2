"""Compiled against eager: each compiled mode beside the eager torch mode of the same algorithm,
its one-off compile time, and the calls after which compiling pays off; and, per point, the
fastest mode of each family.

Break-even: compiling costs ``compile_s`` once and saves ``eager_s - compiled_s`` per call, so it
pays off after ``compile_s / (eager_s - compiled_s)`` calls; never where the compiled mode is not
faster.
"""

from __future__ import annotations

import math

import pandas as pd

from jacbench.analysis.table import group_by
from jacbench.catalog import (
    CATALOG,
    COMPILED,
    COMPILED_PEER,
    GRAPH,
    HAND_WRITTEN,
    LIBRARY,
    NATIVE,
    TRITON,
    USER,
    compiled_pairs,
    jacbench_modes,
)
from jacbench.results.point import POINT_FIELDS

__all__ = ["FAMILY_ORDER", "best_by_family", "break_even_calls", "compiled_vs_eager"]

#: Families as the tables show them, eager first.
FAMILY_ORDER: tuple[str, ...] = (HAND_WRITTEN, NATIVE, GRAPH, TRITON, LIBRARY, COMPILED_PEER,
                                  COMPILED, USER)


def break_even_calls(compile_s: float, eager_s: float, compiled_s: float) -> float:
    """Calls after which the one-off compile has paid for itself; inf where it never does."""
    saved = eager_s - compiled_s
    if not saved > 0 or math.isnan(compile_s):
        return math.inf
    return max(compile_s, 0.0) / saved


def compiled_vs_eager(ok: pd.DataFrame) -> pd.DataFrame:
    """One row per (point, compiled mode) measured ok beside its eager mode: both medians, the
    speed-up (eager / compiled), the compile time and the break-even number of calls."""
    pairs = compiled_pairs()
    out = []
    for fixed, rows in group_by(ok, POINT_FIELDS):
        median = rows.groupby("mode")["time_median_s"].median()
        compile_s = rows.groupby("mode")["compile_s"].median()
        for mode, eager in pairs.items():
            if mode not in median or eager not in median:
                continue
            c, e = float(median[mode]), float(median[eager])
            spent = float(compile_s.get(mode, math.nan))
            out.append({**dict(fixed), "mode": mode, "eager": eager, "family":
                        CATALOG[mode].family, "compiled_s": c, "eager_s": e, "speedup": e / c,
                        "compile_s": spent, "break_even": break_even_calls(spent, e, c)})
    return pd.DataFrame(out)


def best_by_family(ok: pd.DataFrame) -> pd.DataFrame:
    """Per point: the fastest mode overall, the fastest of each family (mode and time), the
    fastest of jacbench's own modes (``jacbench``), and the best other mode's time over it
    (``jacbench_lead``; above 1: a jacbench mode is fastest)."""
    ours = jacbench_modes()
    out = []
    for fixed, rows in group_by(ok, POINT_FIELDS):
        median = rows.groupby("mode")["time_median_s"].median().sort_values()
        row = {**dict(fixed), "best": median.index[0], "best_s": float(median.iloc[0])}
        for family in FAMILY_ORDER:
            mine = [m for m in median.index if m in CATALOG and CATALOG[m].family == family]
            row[family] = mine[0] if mine else None
            row[f"{family}_s"] = float(median[mine[0]]) if mine else math.nan
        mine = [m for m in median.index if m in ours]
        others = [m for m in median.index if m not in ours]
        row["jacbench"] = mine[0] if mine else None
        row["jacbench_s"] = float(median[mine[0]]) if mine else math.nan
        row["jacbench_lead"] = (float(median[others[0]]) / row["jacbench_s"]
                                if mine and others else math.nan)
        out.append(row)
    return pd.DataFrame(out)


def has_compiled(ok: pd.DataFrame) -> bool:
    """Whether any compiled mode (CUDA graphs included) measured ok in the table."""
    families = {CATALOG[m].family for m in ok["mode"].dropna().unique() if m in CATALOG}
    return bool(families & {COMPILED, COMPILED_PEER, GRAPH})
