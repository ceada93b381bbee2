"""Compiled against eager: each compiled mode's median against its eager mode's, point by point.

Below the diagonal compiling made the mode faster. The numbers come from
``jacbench.analysis.compiled``, the same ones the report's table states with compile times.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from jacbench.analysis.compiled import compiled_vs_eager
from jacbench.render.axes import figure_legend, log_axis, outer_labels
from jacbench.render.format import fmt_time
from jacbench.render.panels import mode_panels
from jacbench.render.questions import question

__all__ = ["compiled_against_eager"]


def compiled_against_eager(ok: pd.DataFrame) -> Figure | str:
    """Compiled median (y) against the eager median of the same algorithm (x), log-log, a panel
    per family of compiled modes (native, JAX, torch.compile and AOTInductor)."""
    pairs = compiled_vs_eager(ok)
    if pairs.empty:
        return "no point where a compiled mode and its eager mode both measured ok"
    fig, axes = mode_panels(pairs, "eager_s", "compiled_s", label="{mode} vs {eager}")
    times = pairs[["eager_s", "compiled_s"]].to_numpy(float)
    lo, hi = float(np.nanmin(times)) / 1.5, float(np.nanmax(times)) * 1.5
    line = np.geomspace(lo, hi, 20)
    for ax in axes:
        ax.fill_between(line, line / 2, line * 2, color="grey", alpha=0.15, linewidth=0,
                        label="within 2x", zorder=0)
        ax.plot(line, line, color="black", linewidth=0.8, label="as fast as eager", zorder=1)
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        log_axis(ax, fmt_time, "x")
        log_axis(ax, fmt_time, "y")
    outer_labels(axes, "eager torch mode, median per call", "compiled mode, median per call")
    fig.suptitle(f"{question('compiled_vs_eager.png')}\nbelow the diagonal: compiling helps")
    figure_legend(fig, axes, last=("within 2x", "as fast as eager"))
    return fig
