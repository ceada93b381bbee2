"""Figure and axis helpers shared by the figures: plain tick labels on log axes, panels, one legend.

Powers of ten such as 2×10^1 are hard to read at column width; '20', '3 ms', '1.5G' are not, so
log axes are labelled through ``render.format``. Figures use matplotlib's object API (``Figure``,
Agg on save), so drawing never changes the pyplot backend of the caller.
"""

from __future__ import annotations

from collections.abc import Callable

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from jacbench.render.format import fmt_time

_TEXT = TextToPath()


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


def panel_figure(panels: int, panel_width: float = 2.85, panel_height: float = 2.5,
                 legend: int = 0, **kwargs: object) -> tuple[Figure, list[Axes]]:
    """A figure of ``panels`` axes, at most three a row, each about the given size (inches),
    with room below for a legend of ``legend`` entries; the grid's unused cells removed."""
    cols = 2 if panels == 4 else min(panels, 3)
    rows = -(-panels // cols)
    below = 0.2 * -(-legend // 3) + 0.3 if legend else 0.0
    fig, axes = new_figure(panel_width * cols + 0.6, panel_height * rows + 0.9 + below,
                           rows=rows, cols=cols, **kwargs)
    for ax in axes[panels:]:
        ax.remove()
    return fig, list(axes[:panels])


def figure_legend(fig: Figure, axes: list[Axes], title: str | None = None,
                  ncol: int | None = None, last: tuple[str, ...] = ()) -> None:
    """One legend for the whole figure, below the panels (constrained layout keeps it clear of
    every axes), each label once; the labels in ``last`` (guides, references) after the modes."""
    handles, labels = unique_legend(np.asarray(axes, dtype=object))
    if not handles:
        return
    order = sorted(range(len(labels)), key=lambda i: labels[i] in last)
    fig.legend([handles[i] for i in order], [labels[i] for i in order],
               loc="outside lower center", ncol=ncol or legend_columns(fig, labels),
               frameon=False, title=title)


def legend_columns(fig: Figure, labels: list[str], most: int = 3) -> int:
    """As many legend columns (up to ``most``) as fit the figure's width: the widest label at
    the legend's font, and 0.6 inch for the handle and the gaps."""
    font = FontProperties(size=mpl.rcParams["legend.fontsize"])
    widest = max((_TEXT.get_text_width_height_descent(label, font, ismath=False)[0]
                  for label in labels), default=0.0) / 72 + 0.6
    return max(1, min(most, len(labels), int(fig.get_figwidth() / widest)))


def outer_labels(axes: list[Axes], xlabel: str, ylabel: str) -> None:
    """Axis labels on the outer panels only (the bottom of each column, the first column)."""
    for ax in axes:
        spec = ax.get_subplotspec()
        if spec is None:
            continue
        below = [other for other in axes if other.get_subplotspec() is not None
                 and other.get_subplotspec().colspan.start == spec.colspan.start
                 and other.get_subplotspec().rowspan.start > spec.rowspan.start]
        if not below:
            ax.set_xlabel(xlabel)
            ax.xaxis.set_tick_params(labelbottom=True)
        if spec.colspan.start == 0:
            ax.set_ylabel(ylabel)
