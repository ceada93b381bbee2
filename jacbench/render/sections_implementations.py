"""Report section: the fastest mode of each implementation, per shape and precision, and how
often each implementation was fastest in each precision.

Every number comes from ``jacbench.analysis.implementations``; the figure of the same numbers is
``render.figures_implementations``.
"""

from __future__ import annotations

import pandas as pd

from jacbench.analysis.devices import precision_rank
from jacbench.analysis.implementations import best_by_implementation, implementations_in
from jacbench.render.format import fmt_time
from jacbench.render.markdown import MAX_ROWS, capped_table, table
from jacbench.results.point import AXES, POINT_FIELDS

__all__ = ["fastest_per_implementation"]

_POINT = [c for c in POINT_FIELDS if c != "dtype"]


def _cell(row: pd.Series) -> str:
    """The implementation's fastest mode and its time: bold for the point's winner, else with
    its time over the winner's."""
    if row["fastest"]:
        return f"**{row['mode']}** {fmt_time(row['time_s'])}"
    return f"{row['mode']} {fmt_time(row['time_s'])} ({row['ratio']:.2f}x)"


def fastest_per_implementation(ok: pd.DataFrame) -> list[str]:
    """A row per point and precision: each implementation's fastest mode and time; then the
    points each implementation won, per precision."""
    best = best_by_implementation(ok)
    if best.empty or best["implementation"].nunique() < 2:
        return []
    present = implementations_in(best["implementation"])
    devices = best["device"].nunique() > 1
    lines = ["", "## Fastest of each implementation, per shape and precision",
             "", "Per point and precision (dtype, and matmul precision where it is not the "
             "dtype's own), the fastest mode of each implementation: how a Jacobian is launched "
             "(eager torch, one native call, JAX's jit, torch.compile, AOTInductor, ...) against "
             "what it computes. The point's fastest is in bold; the others give their time over "
             "it. A cell is '-' where no mode of that implementation measured ok."]
    point = best.groupby([*_POINT, "precision"], sort=False, dropna=False).ngroup()
    shown = best[point < MAX_ROWS]
    rows = []
    for _, group in shown.groupby([*_POINT, "precision"], sort=False, dropna=False):
        first = group.iloc[0]
        cells = {r["implementation"]: _cell(r) for _, r in group.iterrows()}
        rows.append([*(int(first[a]) for a in AXES), *([first["device"]] if devices else []),
                     first["precision"], *(cells.get(i, "-") for i in present)])
    lines += capped_table(["L", "D", "K", "P", "N", *(["device"] if devices else []),
                           "precision", *present], rows, total=int(point.max()) + 1)
    return lines + _wins(best, present)


def _wins(best: pd.DataFrame, present: list[str]) -> list[str]:
    """Per precision: the points each implementation was fastest at, of the points measured."""
    winners = best[best["fastest"]]
    precisions = sorted(best["precision"].unique(), key=precision_rank)
    rows = []
    for precision in precisions:
        mine = winners[winners["precision"] == precision]
        counts = mine["implementation"].value_counts()
        rows.append([precision, len(mine), *(int(counts.get(i, 0)) for i in present)])
    return ["", "Points won by each implementation, per precision:",
            *table(["precision", "points", *present], rows)]
