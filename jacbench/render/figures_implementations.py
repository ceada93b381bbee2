"""How far each implementation is from the fastest, in each precision: at every point, the
implementation's fastest mode, its time over the fastest of all (1: the winner) against that
fastest time, a panel per implementation, a marker per precision. Small times are where launches
decide, large ones where the products do. The numbers come from ``analysis.implementations``,
the same ones the report's table states.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from jacbench.analysis.devices import precision_rank
from jacbench.analysis.implementations import best_by_implementation, implementations_in
from jacbench.render.axes import figure_legend, log_axis, outer_labels, panel_figure
from jacbench.render.format import fmt_time
from jacbench.render.questions import question
from jacbench.render.style import precision_looks

__all__ = ["implementations"]


def implementations(ok: pd.DataFrame) -> Figure | str:
    """Time over the fastest (y) against the fastest time (x), log-log, a panel per
    implementation, a marker per precision."""
    best = best_by_implementation(ok)
    if best.empty or best["implementation"].nunique() < 2:
        return "no point where modes of two or more implementations measured ok"
    best = best.assign(best_s=best["time_s"] / best["ratio"])
    looks = precision_looks(sorted(best["precision"].unique(), key=precision_rank))
    present = implementations_in(best["implementation"])
    fig, axes = panel_figure(len(present), legend=len(looks) + 1, sharex=True, sharey=True)
    for ax, how in zip(axes, present, strict=True):
        mine = best[best["implementation"] == how]
        for precision, style in looks.items():
            rows = mine[mine["precision"] == precision]
            if not rows.empty:
                ax.plot(rows["best_s"].astype(float), rows["ratio"].astype(float),
                        linestyle="none", marker=style.marker, color=style.colour, alpha=0.85,
                        label=precision)
        ax.axhline(1, color="black", linewidth=0.8, label="the fastest")
        ax.set_title(how)
    for ax in axes:
        log_axis(ax, fmt_time, "x")
        log_axis(ax, lambda v: f"{v:g}x")
    outer_labels(axes, "the point's fastest time per call", "time / the fastest")
    fig.suptitle(f"{question('implementations.png')}\non the line: the point's winner; above "
                 "it: how many times slower the implementation's best mode is")
    figure_legend(fig, axes, last=("the fastest",))
    return fig
