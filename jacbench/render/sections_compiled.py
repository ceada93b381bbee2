"""Report sections on the compiled modes: compile time beside steady-state time and the calls
after which compiling pays off; and the fastest mode of every family at each point.

Every number comes from ``jacbench.analysis.compiled``.
"""

from __future__ import annotations

import math

import pandas as pd

from jacbench.analysis.compiled import FAMILY_ORDER, best_by_family, compiled_vs_eager
from jacbench.render.format import fmt_time
from jacbench.render.markdown import capped_table, rows_shown
from jacbench.results.point import AXES

__all__ = ["compiled", "fastest_of_all"]


def _sizes(row: pd.Series) -> list[int]:
    return [int(row[a]) for a in AXES]


def _calls(n: float) -> str:
    return "never" if math.isinf(n) else f"{max(1, math.ceil(n)):,}"


def compiled(ok: pd.DataFrame) -> list[str]:
    """Each compiled mode against the eager mode of the same algorithm, with its compile time."""
    pairs = compiled_vs_eager(ok)
    if pairs.empty:
        return []
    lines = ["", "## Compiled against eager",
             "", "Each compiled mode beside the eager torch mode of the same algorithm (JAX's "
             "jacrev/jacfwd beside torch.func's). The compile time is the first call's extra "
             "time over a warm call (`compile_s`), never part of the median; compiling pays off "
             "after compile time / time saved per call calls."]
    rows = [[*_sizes(r), r["mode"], r["eager"], fmt_time(r["eager_s"]),
             fmt_time(r["compiled_s"]), f"{r['speedup']:.2f}x",
             "-" if math.isnan(r["compile_s"]) else fmt_time(r["compile_s"]),
             _calls(r["break_even"])] for _, r in rows_shown(pairs).iterrows()]
    return lines + capped_table(["L", "D", "K", "P", "N", "compiled", "eager", "eager time",
                          "compiled time", "speed-up", "compile time", "pays off after (calls)"],
                         rows, total=len(pairs))


def fastest_of_all(ok: pd.DataFrame) -> list[str]:
    """Per point, the fastest mode of each family and how the best of jacbench's modes fares."""
    best = best_by_family(ok)
    if best.empty:
        return []
    present = [f for f in FAMILY_ORDER if best[f].notna().any()]
    lines = ["", "## Fastest mode of each family",
             "", "Per point: the fastest mode of all, then the fastest of each family; the last "
             "column is the best other mode's time over the best of jacbench's own modes "
             "(hand-written, native, and hand-written compiled): above 1, jacbench's is fastest."]

    def cell(row: pd.Series, family: str) -> str:
        if pd.isna(row[family]):  # no mode of this family measured ok here
            return "-"
        return f"{row[family]} {fmt_time(row[f'{family}_s'])}"

    rows = [[*_sizes(r), f"**{r['best']}**", *(cell(r, f) for f in present),
             "-" if math.isnan(r["jacbench_lead"]) else f"{r['jacbench_lead']:.2f}x"]
            for _, r in rows_shown(best).iterrows()]
    return lines + capped_table(["L", "D", "K", "P", "N", "fastest", *present,
                                 "best other / best jacbench"], rows, total=len(best))
