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

from jacbench.analysis.table import mode_medians
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
    columns = [*POINT_FIELDS, "mode", "eager", "family", "compiled_s", "eager_s", "speedup",
               "compile_s", "break_even"]
    pairs = pd.DataFrame(list(compiled_pairs().items()), columns=["mode", "eager"])
    ranked = mode_medians(ok[ok["mode"].isin(set(pairs["mode"]) | set(pairs["eager"]))],
                          POINT_FIELDS, ("time_median_s", "compile_s")) if len(ok) else None
    if ranked is None or ranked.empty:
        return pd.DataFrame(columns=columns)
    eager = ranked[["point", "mode", "time_median_s"]].rename(
        columns={"mode": "eager", "time_median_s": "eager_s"})
    found = ranked.merge(pairs, on="mode").merge(eager, on=["point", "eager"])
    if found.empty:
        return pd.DataFrame(columns=columns)
    found = found.rename(columns={"time_median_s": "compiled_s"})
    found = found.sort_values(["point", "mode"], key=lambda c: c.map(_PAIR_ORDER)
                              if c.name == "mode" else c, kind="stable")
    found["family"] = [CATALOG[m].family for m in found["mode"]]
    found["speedup"] = found["eager_s"] / found["compiled_s"]
    found["break_even"] = [break_even_calls(float(c), e, m) for c, e, m in
                           zip(found["compile_s"], found["eager_s"], found["compiled_s"],
                               strict=True)]
    return found[columns].reset_index(drop=True)


#: The order of ``compiled_pairs``, which the rows of each point follow.
_PAIR_ORDER = {mode: i for i, mode in enumerate(compiled_pairs())}


def best_by_family(ok: pd.DataFrame) -> pd.DataFrame:
    """Per point: the fastest mode overall, the fastest of each family (mode and time), the
    fastest of jacbench's own modes (``jacbench``), and the best other mode's time over it
    (``jacbench_lead``; above 1: a jacbench mode is fastest)."""
    if ok.empty:
        return pd.DataFrame()
    ranked = mode_medians(ok, POINT_FIELDS)
    ranked["family"] = [CATALOG[m].family if m in CATALOG else None for m in ranked["mode"]]
    ranked["ours"] = ranked["mode"].isin(jacbench_modes())
    first = ranked[ranked["rank"] == 0].set_index("point")
    table = first[list(POINT_FIELDS)].assign(best=first["mode"],
                                            best_s=first["time_median_s"].astype(float))

    def fastest(rows: pd.DataFrame, name: str) -> None:
        top = rows.groupby("point").first().reindex(table.index)
        table[name] = top["mode"].astype(object).where(top["mode"].notna(), None)
        table[f"{name}_s"] = top["time_median_s"].astype(float)

    for family in FAMILY_ORDER:
        fastest(ranked[ranked["family"] == family], family)
    fastest(ranked[ranked["ours"]], "jacbench")
    others = ranked[~ranked["ours"]].groupby("point")["time_median_s"].first()
    table["jacbench_lead"] = others.reindex(table.index).astype(float) / table["jacbench_s"]
    return table.reset_index(drop=True)


def has_compiled(ok: pd.DataFrame) -> bool:
    """Whether any compiled mode (CUDA graphs included) measured ok in the table."""
    families = {CATALOG[m].family for m in ok["mode"].dropna().unique() if m in CATALOG}
    return bool(families & {COMPILED, COMPILED_PEER, GRAPH})
