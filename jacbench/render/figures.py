"""The figures: each draws one question from an ok sweep table, or says why it cannot.

A drawer returns a ``Figure``, or a line saying why there is nothing to show (a plot is never
drawn empty). ``render.plots`` runs them all and saves the files. The numbers drawn come from
``jacbench.analysis``, the same ones the report states.
"""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from jacbench.analysis.crossover import ratio_series
from jacbench.analysis.fits import find_sweeps, fit_slopes, theory_curve
from jacbench.analysis.table import iqr_band
from jacbench.analysis.winners import BestGrid, best_grids
from jacbench.catalog import mode_order
from jacbench.render.axes import integer_ticks, log_axis, new_figure, time_axis, unique_legend
from jacbench.render.format import fmt_percent, fmt_point, fmt_si, fmt_time
from jacbench.results.point import AXIS_LABELS

#: Panels per figure at most: the largest groups are drawn, the rest left to the report's tables.
MAX_PANELS = 3
#: A mode's colour, the same in every figure.
Colours = dict[str, tuple[float, float, float]]


# --------------------------------------------------------------------------- 1. time vs axis


def time_vs_axis(ok: pd.DataFrame, axis: str, colours: Colours) -> Figure | str:
    """Time against one axis, a panel per group where only that axis varies."""
    sweeps = find_sweeps(ok, axis, limit=MAX_PANELS)
    if not sweeps:
        return f"no group of ok rows where only {axis} varies over 3 or more values"
    fig, axes = new_figure(7.0, 2.5 * len(sweeps), rows=len(sweeps))
    for ax, sweep in zip(axes, sweeps, strict=True):
        for fit in fit_slopes(sweep):
            colour = colours[fit.mode]
            rows = sweep.rows[sweep.rows["mode"] == fit.mode]
            bands = [iqr_band(rows[rows[axis] == x].iloc[0].to_dict()) for x in fit.x]
            slope = "-" if fit.measured is None else f"{fit.measured:.2f}"
            theory = fit.predicted if fit.predicted_s is not None else fit.theory
            model = "-" if theory is None else f"{theory:.2f}"
            ax.plot(fit.x, fit.time_s, "o-", color=colour, label=f"{fit.mode}: {slope} ({model})")
            ax.fill_between(fit.x, [b[0] for b in bands], [b[1] for b in bands], color=colour,
                            alpha=0.2, linewidth=0)
            curve = theory_curve(fit)
            if curve is not None:
                ax.plot(*curve, "--", color=colour, linewidth=0.9, alpha=0.9)
        handles, labels = ax.get_legend_handles_labels()
        handles.append(Line2D([], [], color="grey", linestyle="--", linewidth=0.9))
        predicted = any(f.predicted_s is not None for f in fit_slopes(sweep))
        labels.append("calibrated prediction" if predicted else "FLOP model × fitted const.")
        title = "slope: measured (predicted)" if predicted else "slope: measured (model)"
        ax.legend(handles, labels, title=title, loc="center left",
                  bbox_to_anchor=(1.01, 0.5), frameon=False)
        integer_ticks(ax, sweep.values)
        time_axis(ax)
        ax.set_xlabel(AXIS_LABELS[axis])
        ax.set_ylabel("median time per call")
        ax.set_title(f"time vs {axis} at {fmt_point(sweep.fixed)}")
    return fig


# --------------------------------------------------------------------------- 2. ratio vs D/P


def ratio_plot(ok: pd.DataFrame, num: str = "forward", den: str = "reverse") -> Figure | str:
    """t(forward)/t(reverse) against D/P, one line per (L, K, batch), crossings marked."""
    series = ratio_series(ok, num, den)[:4]
    if not series:
        return (f"no (L, K, batch) group where both {num} and {den} measured ok "
                "at 2 or more values of D/P")
    fig, (ax,) = new_figure(6.0, 3.2)
    palette = mpl.colormaps["Dark2"].colors
    for i, s in enumerate(series):
        colour = palette[i % len(palette)]
        name = fmt_point(s.fixed)
        cross = ", ".join(f"{x:.2g}" for x in s.measured_crossings) or "none"
        ax.plot([p[0] / p[1] for p in s.points], [p[2] for p in s.points], ".", color=colour,
                alpha=0.35)
        ax.plot(s.d_over_p, s.ratio, "o-", color=colour,
                label=f"{name}: measured, crosses 1 at D/P = {cross}")
        for x in s.measured_crossings:
            ax.plot([x], [1], "v", color=colour, markersize=8, markeredgecolor="black")
        if s.theory is not None:
            cross = ", ".join(f"{x:.2g}" for x in s.theory_crossings) or "none"
            ax.plot(s.d_over_p, s.theory, "--", color=colour, linewidth=0.9,
                    label=f"{name}: FLOP model, crosses at {cross}")
            for x in s.theory_crossings:
                ax.plot([x], [1], "x", color=colour, markersize=8, markeredgewidth=1.5)
    ax.axhline(1, color="black", linewidth=0.8)
    ax.axvline(1, color="grey", linewidth=0.8, linestyle=":")
    log_axis(ax, lambda v: f"{v:g}", "x")
    log_axis(ax, lambda v: f"{v:g}")
    ax.text(0.02, 0.97, f"{den} faster", transform=ax.transAxes, va="top")
    ax.text(0.98, 0.03, f"{num} faster", transform=ax.transAxes, ha="right", va="bottom")
    ax.set_xlabel("D / P (input size / output size)")
    ax.set_ylabel(f"time ratio {num} / {den}")
    ax.set_title(f"{num} against {den}: crossover (▼ measured, × model; dotted: D = P)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), frameon=False, ncol=1)
    return fig


# --------------------------------------------------------------------------- 3. best mode map


def best_mode_map(ok: pd.DataFrame, colours: Colours) -> Figure | str:
    """The fastest mode at each (D, P) cell, measured times in the cells, model boundary on top."""
    grids = best_grids(ok)[:MAX_PANELS]
    if not grids:
        return "no (L, K, batch) group with 2 or more values of both D and P"
    present = mode_order({m for g in grids for m in g.best.values()})
    cmap = ListedColormap([colours[m] for m in present])
    norm = BoundaryNorm(np.arange(len(present) + 1) - 0.5, len(present))
    widths = [0.6 * len(g.D_values) + 0.9 for g in grids]
    height = 0.5 * max(len(g.P_values) for g in grids) + 1.4
    fig, axes = new_figure(max(sum(widths), 3.5), height, cols=len(grids),
                        gridspec_kw={"width_ratios": widths})
    model_drawn = False
    for ax, grid in zip(axes, grids, strict=True):
        nD, nP = len(grid.D_values), len(grid.P_values)
        codes = np.full((nP, nD), np.nan)
        for (D, P), mode in grid.best.items():
            codes[grid.P_values.index(P), grid.D_values.index(D)] = present.index(mode)
        ax.imshow(np.ma.masked_invalid(codes), cmap=cmap, norm=norm, origin="lower",
                  aspect="auto")
        for (D, P), t in grid.time_s.items():
            i, j = grid.D_values.index(D), grid.P_values.index(P)
            shade = sum(colours[grid.best[(D, P)]]) / 3
            ax.text(i, j, fmt_time(t, compact=True), ha="center", va="center", fontsize=8,
                    color="white" if shade < 0.5 else "black")
        if grid.theory is not None:
            model_drawn = True
            _draw_boundary(ax, grid)
        _draw_diagonal(ax, grid)
        ax.set_xticks(range(nD), [str(d) for d in grid.D_values])
        ax.set_yticks(range(nP), [str(p) for p in grid.P_values])
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
    fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False)
    fig.suptitle("fastest mode at each (D, P); measured median in each cell", fontsize=8)
    return fig


def _draw_boundary(ax: Axes, grid: BestGrid) -> None:
    """Cell edges where the cost model's cheapest hand-written mode changes."""
    assert grid.theory is not None
    for (D, P), mode in grid.theory.items():
        i, j = grid.D_values.index(D), grid.P_values.index(P)
        right = (grid.D_values[i + 1], P) if i + 1 < len(grid.D_values) else None
        above = (D, grid.P_values[j + 1]) if j + 1 < len(grid.P_values) else None
        if right in grid.theory and grid.theory[right] != mode:
            ax.plot([i + 0.5, i + 0.5], [j - 0.5, j + 0.5], color="black", linewidth=2.2)
        if above in grid.theory and grid.theory[above] != mode:
            ax.plot([i - 0.5, i + 0.5], [j + 0.5, j + 0.5], color="black", linewidth=2.2)


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


# --------------------------------------------------------------------------- 4. efficiency


def efficiency_plot(ok: pd.DataFrame, colours: Colours) -> Figure | str:
    """floor_s / time per mode against the model's FLOPs; a panel per device and dtype."""
    rows = ok.assign(efficiency=pd.to_numeric(ok["efficiency"], errors="coerce"),
                     flops=pd.to_numeric(ok["flops"], errors="coerce"))
    rows = rows[(rows["efficiency"] > 0) & (rows["flops"] > 0)]
    if rows.empty:
        return "no ok row has both an efficiency and a FLOP count (no ceilings measured?)"
    groups = list(rows.groupby(["device", "dtype"], sort=True))[:2]
    fig, axes = new_figure(3.6 * len(groups) + 1.6, 3.0, cols=len(groups), sharey=True)
    for ax, ((device, dtype), group) in zip(axes, groups, strict=True):
        for mode in mode_order(group["mode"].unique()):
            m = group[group["mode"] == mode].sort_values("flops")
            ax.plot(m["flops"], m["efficiency"], "o", color=colours[mode], label=mode, alpha=0.8)
        log_axis(ax, fmt_si, "x")
        log_axis(ax, fmt_percent)
        ax.set_xlabel("problem size (FLOPs by the cost model)")
        ax.set_title(f"efficiency on {device} {dtype}")
    axes[0].set_ylabel("efficiency = floor / measured time")
    handles, labels = unique_legend(axes)
    fig.legend(handles, labels, loc="outside right center", frameon=False)
    return fig


# --------------------------------------------------------------------------- 5. cpu vs cuda


def cpu_vs_cuda(ok: pd.DataFrame, colours: Colours) -> Figure | str:
    """Time against the model's FLOPs per mode, CPU and CUDA on shared axes."""
    device = ok["device"].fillna("").astype(str)
    cpu, cuda = ok[device == "cpu"], ok[device.str.startswith("cuda")]
    if cpu.empty or cuda.empty:
        have = ", ".join(sorted(set(device))) or "none"
        return f"needs ok rows on both cpu and cuda (devices here: {have})"
    flops = pd.to_numeric(ok["flops"], errors="coerce")
    if not (flops > 0).any():
        return "no ok row has a FLOP count to place it on a common axis"
    fig, axes = new_figure(7.0, 3.0, cols=2, sharex=True, sharey=True)
    for ax, rows in zip(axes, (cpu, cuda), strict=True):
        for mode in mode_order(rows["mode"].unique()):
            m = rows[(rows["mode"] == mode) & (pd.to_numeric(rows["flops"], errors="coerce") > 0)]
            ax.plot(m["flops"], m["time_median_s"], "o", color=colours[mode], label=mode,
                    alpha=0.8)
        log_axis(ax, fmt_si, "x")
        time_axis(ax)
        ax.set_xlabel("problem size (FLOPs by the cost model)")
        names = ", ".join(sorted(set(rows["device_name"].dropna().astype(str))))
        ax.set_title(f"{rows['device'].iloc[0]}: {names}" if names else rows["device"].iloc[0])
    axes[0].set_ylabel("median time per call")
    handles, labels = unique_legend(axes)
    fig.legend(handles, labels, loc="outside right center", frameon=False)
    return fig
