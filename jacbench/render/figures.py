"""The figures: each answers one question from an ok sweep table, or says why it cannot.

A drawer returns a ``Figure`` whose title asks its question (``render.questions``), or a line
saying why there is nothing to show (a plot is never drawn empty). ``render.plots`` runs them all
and saves the files. The numbers drawn come from ``jacbench.analysis``, the same ones the report
states; the scaling figures are in ``render.figures_scaling``, the GPU's in
``render.figures_gpu``.
"""

from __future__ import annotations

from collections.abc import Callable

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from jacbench.analysis.crossover import ratio_series
from jacbench.analysis.winners import BestGrid, best_grids
from jacbench.catalog import mode_order
from jacbench.render.axes import (
    figure_legend,
    legend_columns,
    log_axis,
    new_figure,
    outer_labels,
)
from jacbench.render.format import fmt_percent, fmt_point, fmt_si, fmt_time
from jacbench.render.panels import mode_panels
from jacbench.render.questions import question
from jacbench.render.style import mode_colours

__all__ = ["best_mode_map", "efficiency_plot", "ratio_plot"]

#: Panels per figure at most: the largest groups are drawn, the rest left to the report's tables.
MAX_PANELS = 3
#: Cells per side of a best-mode map above which its cells lose their times (unreadable) and
#: the figure stops growing: a 100 x 100 grid is drawn at the size of this many cells.
MAX_LABELLED_SIDE = 16
#: Forward/reverse ratio series (one (L, K, batch) group each) on the crossover figure at most.
MAX_SERIES = 3


# --------------------------------------------------------------------------- 1. ratio vs D/P


def ratio_plot(ok: pd.DataFrame, num: str = "forward", den: str = "reverse") -> Figure | str:
    """t(forward)/t(reverse) against D/P, one line per (L, K, batch), crossings marked."""
    series = ratio_series(ok, num, den)[:MAX_SERIES]
    if not series:
        return (f"no (L, K, batch) group where both {num} and {den} measured ok "
                "at 2 or more values of D/P")
    fig, (ax,) = new_figure(6.4, 3.8)
    palette = mpl.colormaps["Dark2"].colors
    for i, s in enumerate(series):
        colour = palette[i % len(palette)]
        name = fmt_point(s.fixed)
        cross = ", ".join(f"{x:.2g}" for x in s.measured_crossings) or "none"
        ax.scatter([p[0] / p[1] for p in s.points], [p[2] for p in s.points], s=8,
                   color=colour, alpha=0.35)
        ax.plot(s.d_over_p, s.ratio, "o-", color=colour,
                label=f"{name}: measured, crosses 1 at D/P = {cross}")
        ax.scatter(s.measured_crossings, [1] * len(s.measured_crossings), marker="v", s=64,
                   color=colour, edgecolors="black", zorder=3)
        if s.theory is not None:
            cross = ", ".join(f"{x:.2g}" for x in s.theory_crossings) or "none"
            ax.plot(s.d_over_p, s.theory, "--", color=colour, linewidth=1.0,
                    label=f"{name}: FLOP model, crosses at {cross}")
            ax.scatter(s.theory_crossings, [1] * len(s.theory_crossings), marker="x", s=64,
                       color=colour, linewidths=1.5, zorder=3)
    ax.axhline(1, color="black", linewidth=0.8)
    ax.axvline(1, color="grey", linewidth=0.8, linestyle=":")
    log_axis(ax, lambda v: f"{v:g}", "x")
    log_axis(ax, lambda v: f"{v:g}")
    ax.text(0.02, 0.97, f"{den} faster", transform=ax.transAxes, va="top")
    ax.text(0.98, 0.03, f"{num} faster", transform=ax.transAxes, ha="right", va="bottom")
    ax.set_xlabel("D / P (input size / output size)")
    ax.set_ylabel(f"time ratio {num} / {den}")
    fig.suptitle(f"{question('ratio_forward_reverse.png')}\n"
                 "▼ measured crossing, × the FLOP model's; dotted: D = P")
    fig.legend(loc="outside lower center", frameon=False, ncol=1)
    return fig


# --------------------------------------------------------------------------- 2. best mode map


def best_mode_map(ok: pd.DataFrame) -> Figure | str:
    """The fastest mode at each (D, P) cell, measured times in the cells, model boundary on top."""
    grids = best_grids(ok)[:MAX_PANELS]
    colours = mode_colours({m for g in grids for m in g.best.values()})
    if not grids:
        return "no (L, K, batch) group with 2 or more values of both D and P"
    present = mode_order({m for g in grids for m in g.best.values()})
    cmap = ListedColormap([colours[m] for m in present])
    norm = BoundaryNorm(np.arange(len(present) + 1) - 0.5, len(present))
    widths = [0.75 * min(len(g.D_values), MAX_LABELLED_SIDE) + 0.9 for g in grids]
    height = (0.6 * min(max(len(g.P_values) for g in grids), MAX_LABELLED_SIDE) + 1.4
              + 0.2 * ((len(present) + 3) // 2))
    fig, axes = new_figure(max(sum(widths), 4.5), height, cols=len(grids),
                        gridspec_kw={"width_ratios": widths})
    model_drawn = labelled = False
    for ax, grid in zip(axes, grids, strict=True):
        nD, nP = len(grid.D_values), len(grid.P_values)
        column = {D: i for i, D in enumerate(grid.D_values)}
        row = {P: j for j, P in enumerate(grid.P_values)}
        codes = np.full((nP, nD), np.nan)
        for (D, P), mode in grid.best.items():
            codes[row[P], column[D]] = present.index(mode)
        ax.imshow(np.ma.masked_invalid(codes), cmap=cmap, norm=norm, origin="lower",
                  aspect="auto")
        if max(nD, nP) <= MAX_LABELLED_SIDE:
            labelled = True
            for (D, P), t in grid.time_s.items():
                shade = sum(colours[grid.best[(D, P)]]) / 3
                ax.text(column[D], row[P], fmt_time(t, compact=True), ha="center",
                        va="center", fontsize=8.5, color="white" if shade < 0.5 else "black")
        if grid.theory is not None:
            model_drawn = True
            _draw_boundary(ax, grid)
        _draw_diagonal(ax, grid)
        _cell_ticks(ax.set_xticks, grid.D_values)
        _cell_ticks(ax.set_yticks, grid.P_values)
        ax.set_xlim(-0.5, nD - 0.5)
        ax.set_ylim(-0.5, nP - 0.5)
        ax.grid(False)
        ax.set_xlabel("input size D")
        ax.set_ylabel("output size P")
        ax.set_title(fmt_point(grid.fixed, skip=("D", "P")))
    handles: list = [Patch(color=colours[m], label=m) for m in present]
    if model_drawn:
        handles.append(Line2D([], [], color="black", linewidth=2.2,
                              label="model boundary (fewest FLOPs, hand-written)"))
    handles.append(Line2D([], [], color="grey", linestyle=":", linewidth=1.5, label="D = P"))
    fig.legend(handles=handles, loc="outside lower center", frameon=False,
               ncol=legend_columns(fig, [h.get_label() for h in handles], most=2))
    said = ("the measured median in each cell" if labelled else
            f"the fastest mode's colour in each cell (times only on grids up to "
            f"{MAX_LABELLED_SIDE} a side)")
    fig.suptitle(f"{question('best_mode_map.png')}\n{said}")
    return fig


def _cell_ticks(set_ticks: Callable[..., object], values: tuple[int, ...]) -> None:
    """A tick per cell, or per few cells on a grid too big to name them all."""
    step = -(-len(values) // MAX_LABELLED_SIDE)
    set_ticks(range(0, len(values), step), [str(v) for v in values[::step]])


def _draw_boundary(ax: Axes, grid: BestGrid) -> None:
    """Cell edges where the cost model's cheapest hand-written mode changes, as one line."""
    assert grid.theory is not None
    xs: list[float] = []
    ys: list[float] = []
    column = {D: i for i, D in enumerate(grid.D_values)}
    row = {P: j for j, P in enumerate(grid.P_values)}
    for (D, P), mode in grid.theory.items():
        i, j = column[D], row[P]
        right = (grid.D_values[i + 1], P) if i + 1 < len(grid.D_values) else None
        above = (D, grid.P_values[j + 1]) if j + 1 < len(grid.P_values) else None
        if right in grid.theory and grid.theory[right] != mode:
            xs += [i + 0.5, i + 0.5, np.nan]
            ys += [j - 0.5, j + 0.5, np.nan]
        if above in grid.theory and grid.theory[above] != mode:
            xs += [i - 0.5, i + 0.5, np.nan]
            ys += [j + 0.5, j + 0.5, np.nan]
    if xs:
        ax.plot(xs, ys, color="black", linewidth=2.2)


def _draw_diagonal(ax: Axes, grid: BestGrid) -> None:
    """The D = P line in cell coordinates (cells are evenly spaced, values log-spaced)."""
    lo = max(grid.D_values[0], grid.P_values[0])
    hi = min(grid.D_values[-1], grid.P_values[-1])
    if lo >= hi:
        return
    v = np.log(np.geomspace(lo, hi, 50))
    x = np.interp(v, np.log(grid.D_values), np.arange(len(grid.D_values)))
    y = np.interp(v, np.log(grid.P_values), np.arange(len(grid.P_values)))
    ax.plot(x, y, ":", color="grey", linewidth=1.5)


# --------------------------------------------------------------------------- 3. efficiency


def efficiency_plot(ok: pd.DataFrame) -> Figure | str:
    """floor_s / time per mode against the model's FLOPs, a panel per family, on the device and
    dtype with the most rows (the GPU's own figures compare devices and precisions)."""
    rows = ok.assign(efficiency=pd.to_numeric(ok["efficiency"], errors="coerce"),
                     flops=pd.to_numeric(ok["flops"], errors="coerce"))
    rows = rows[(rows["efficiency"] > 0) & (rows["flops"] > 0)]
    if rows.empty:
        return "no ok row has both an efficiency and a FLOP count (no ceilings measured?)"
    groups = sorted(rows.groupby(["device", "dtype"], sort=True), key=lambda g: -len(g[1]))
    (device, dtype), group = groups[0]
    fig, axes = mode_panels(group, "flops", "efficiency")
    for ax in axes:
        log_axis(ax, fmt_si, "x")
        log_axis(ax, fmt_percent)
    outer_labels(axes, "problem size (FLOPs by the cost model)", "floor / measured time")
    fig.suptitle(f"{question('efficiency.png')}\non {device} {dtype}; 100% = at the measured "
                 "ceiling")
    figure_legend(fig, axes)
    return fig
