"""Figure and axis helpers shared by the figures: plain tick labels on log axes, one legend.

Powers of ten such as 2×10^1 are hard to read at column width; '20', '3 ms', '1.5G' are not, so
log axes are labelled through ``render.format``. Figures use matplotlib's object API (``Figure``,
Agg on save), so drawing never changes the pyplot backend of the caller.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from jacbench.render.format import fmt_time


def new_figure(width: float, height: float, rows: int = 1, cols: int = 1,
               **kwargs: object) -> tuple[Figure, np.ndarray]:
    """A constrained-layout figure (inches) and its axes, flat."""
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, **kwargs)
    return fig, axes.ravel()


def log_axis(ax: Axes, label: Callable[[float], str], which: str = "y") -> None:
    """Log axis (call after plotting) with plain labels, 1-2-5 ticks on short ranges."""
    axis = ax.yaxis if which == "y" else ax.xaxis
    (ax.set_yscale if which == "y" else ax.set_xscale)("log")
    lo, hi = ax.get_ylim() if which == "y" else ax.get_xlim()
    decades = np.log10(hi / lo)
    subs = (1.0, 2.0, 5.0) if decades < 1.3 else (1.0, 3.0) if decades < 2.5 else (1.0,)
    axis.set_major_locator(LogLocator(subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda v, _: label(v)))
    axis.set_minor_formatter(NullFormatter())


def time_axis(ax: Axes) -> None:
    """A log y axis of times, ticks in s / ms / us rather than powers of ten."""
    log_axis(ax, fmt_time)


def integer_ticks(ax: Axes, values: list[int]) -> None:
    """A log x axis with a tick at each measured value, when there are few."""
    ax.set_xscale("log")
    if len(values) <= 8:
        ax.set_xticks(values)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())


def unique_legend(axes: np.ndarray) -> tuple[list, list[str]]:
    """The handles and labels of several panels, each label once: for one figure legend."""
    seen: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, handle)
    return list(seen.values()), list(seen)
