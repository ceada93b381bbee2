"""Compiled against eager: each compiled mode's median against its eager mode's, point by point.

Below the diagonal compiling made the mode faster. The numbers come from
``jacbench.analysis.compiled``, the same ones the report's table states with compile times.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from jacbench.analysis.compiled import compiled_vs_eager
from jacbench.catalog import mode_order
from jacbench.render.axes import log_axis, new_figure
from jacbench.render.format import fmt_time

__all__ = ["compiled_against_eager"]

Colours = dict[str, tuple[float, float, float]]


def compiled_against_eager(ok: pd.DataFrame, colours: Colours) -> Figure | str:
    """Compiled median (y) against the eager median of the same algorithm (x), log-log."""
    pairs = compiled_vs_eager(ok)
    if pairs.empty:
        return "no point where a compiled mode and its eager mode both measured ok"
    fig, (ax,) = new_figure(4.6, 3.8)
    markers = {"jacrev": "o", "jacfwd": "s", "reverse": "v", "forward": "^", "chain": "D"}
    for mode in mode_order(pairs["mode"].unique()):
        rows = pairs[pairs["mode"] == mode]
        eager = rows["eager"].iloc[0]
        ax.scatter(rows["eager_s"], rows["compiled_s"], color=colours.get(mode, (0.3, 0.3, 0.3)),
                   marker=markers.get(eager, "o"), label=f"{mode} vs {eager}", zorder=3)
    lo = float(np.nanmin(pairs[["eager_s", "compiled_s"]].to_numpy())) / 1.5
    hi = float(np.nanmax(pairs[["eager_s", "compiled_s"]].to_numpy())) * 1.5
    for factor, style in ((1.0, "-"), (0.5, ":"), (2.0, ":")):
        ax.plot([lo, hi], [lo * factor, hi * factor], color="grey", linestyle=style,
                linewidth=0.8, zorder=1)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    log_axis(ax, fmt_time, "x")
    log_axis(ax, fmt_time, "y")
    ax.set_xlabel("eager torch mode, median per call")
    ax.set_ylabel("compiled mode, median per call")
    ax.set_title("compiled against eager (below the line: compiling helps; dotted: 2x)")
    ax.legend(loc="upper left", frameon=False, fontsize=7)
    return fig
