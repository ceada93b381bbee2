"""Scaling: how each mode's time grows along one axis, beside the cost model's slope.

One figure per axis, drawn from the table's largest sweep along it (the report's slope table
holds every sweep). One panel per family keeps each axes to a handful of lines; each mode's
label gives its measured slope and the cost model's, and a grey dashed guide with the cost
model's slope runs under the data, so a line steeper than its guide grows faster than the FLOPs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from jacbench.analysis.fits import SlopeFit, find_sweeps, fit_slopes
from jacbench.analysis.table import BAND_COLUMNS, iqr_band
from jacbench.render.axes import (
    figure_legend,
    integer_ticks,
    outer_labels,
    panel_figure,
    time_axis,
)
from jacbench.render.format import fmt_point
from jacbench.render.questions import question
from jacbench.render.style import family_panels, family_title, look
from jacbench.results.point import AXIS_LABELS

__all__ = ["time_vs_axis"]

#: Guide lines per panel at most: the steepest and the flattest of the cost model's slopes.
MAX_GUIDES = 2
GUIDE = "cost model's slope (guide)"


def time_vs_axis(ok: pd.DataFrame, axis: str) -> Figure | str:
    """Time against one axis for the largest sweep along it, a panel per family."""
    sweeps = find_sweeps(ok, axis, limit=1)
    if not sweeps:
        return f"no group of ok rows where only {axis} varies over 3 or more values"
    sweep = sweeps[0]
    fits = {f.mode: f for f in fit_slopes(sweep) if f.measured is not None}
    panels = family_panels(fits)
    fig, axes = panel_figure(len(panels), legend=len(fits) + 2, sharex=True, sharey=True)
    for ax, (family, modes) in zip(axes, panels, strict=True):
        for mode in modes:
            _draw_fit(ax, fits[mode], sweep.rows)
        _draw_guides(ax, [fits[m] for m in modes])
        ax.set_title(family_title(family))
    for ax in axes:
        integer_ticks(ax, sweep.values)
        time_axis(ax)
    outer_labels(axes, AXIS_LABELS[axis], "median time per call")
    name = f"time_vs_{axis}.png"
    fig.suptitle(f"{question(name)}\nlargest sweep: {fmt_point(sweep.fixed)}")
    figure_legend(fig, axes, title=f"slope of log time against log {axis}: measured (model)",
                  last=(GUIDE,))
    return fig


def _slope_label(fit: SlopeFit) -> str:
    model = "-" if fit.theory is None else f"{fit.theory:.2f}"
    return f"{fit.mode}: {fit.measured:.2f} ({model})"


def _draw_fit(ax: Axes, fit: SlopeFit, rows: pd.DataFrame) -> None:
    """The measured medians, their IQR band, the measured and modelled slope in the label."""
    style = look(fit.mode)
    mine = rows.loc[rows["mode"] == fit.mode, [fit.axis, *BAND_COLUMNS]]
    first = {row[fit.axis]: row for row in mine.drop_duplicates(fit.axis).to_dict("records")}
    bands = [iqr_band(first[x]) for x in fit.x]
    ax.plot(fit.x, fit.time_s, "-", marker=style.marker, color=style.colour,
            label=_slope_label(fit))
    ax.fill_between(fit.x, [b[0] for b in bands], [b[1] for b in bands], color=style.colour,
                    alpha=0.15, linewidth=0)


def _draw_guides(ax: Axes, fits: list[SlopeFit]) -> None:
    """Dashed grey lines with the cost model's slopes, from below the panel's lowest start, each
    named under its first quarter (where two guides are already apart)."""
    slopes = sorted({round(f.theory, 1) for f in fits if f.theory is not None})
    if not slopes:
        return
    if len(slopes) > MAX_GUIDES:
        slopes = [slopes[0], slopes[-1]]
    x0 = min(f.x[0] for f in fits)
    x1 = max(f.x[-1] for f in fits)
    y0 = min(t for f in fits for x, t in zip(f.x, f.time_s, strict=True) if x == x0) / 2
    xs = np.geomspace(x0, x1, 20)
    for slope in slopes:
        ys = y0 * (xs / x0) ** slope
        ax.plot(xs, ys, "--", color="0.4", linewidth=1.0, label=GUIDE, zorder=1)
        ax.annotate(f"model {slope:g}", (xs[5], ys[5]), textcoords="offset points",
                    xytext=(0, -2), fontsize=7.5, color="0.3", ha="left", va="top")
