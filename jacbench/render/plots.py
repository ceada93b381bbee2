"""Measured scaling against the cost model, as PNG figures drawn from a stored results table.

``make_plots(RESULTS_DIR)`` reads ``results.parquet`` only (no re-running) and writes into
``RESULTS_DIR/_plots/`` (the ``_`` keeps ``pandas.read_parquet(RESULTS_DIR)`` reading the folder as
one table). A plot with nothing to show is not drawn empty: it is skipped with a line saying why.
The numbers drawn come from ``jacbench.analysis.table``, the same ones the report states.

Figures use matplotlib's object API (``Figure`` + Agg on save), so importing this module never
changes the pyplot backend of the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from jacbench import analysis
from jacbench.analysis.table import AXES, AXIS_LABELS, fmt_time

PLOTS_DIR = "_plots"
#: Panels per figure at most: the largest groups are drawn, the rest left to the report's tables.
MAX_PANELS = 3

STYLE = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 1.2,
    "lines.markersize": 4,
}

#: File name -> what it shows; the report uses these as captions.
CAPTIONS: dict[str, str] = {
    **{f"time_vs_{a}.png": f"Time against {AXIS_LABELS[a]}, with the FLOP model scaled by one "
       "fitted constant per mode (dashed)" for a in AXES},
    "ratio_forward_reverse.png": "Forward/reverse time ratio against D/P, measured and modelled",
    "best_mode_map.png": "Fastest mode at each (D, P), with the cost model's boundary",
    "efficiency.png": "Efficiency (floor / measured time) against problem size",
    "cpu_vs_cuda.png": "CPU and CUDA side by side: time against problem size",
}


@dataclass
class PlotResult:
    """What ``make_plots`` wrote, and a line for each plot it skipped and why."""

    paths: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"wrote {p}" for p in self.paths] + [f"skipped {s}" for s in self.skipped]


def make_plots(results_dir: str | Path, out_dir: str | Path | None = None, *,
               dpi: int = 150) -> PlotResult:
    """Draw every plot the table has data for into ``out_dir`` (default RESULTS_DIR/_plots).

    Raises ValueError (one line) for a missing folder, an empty table, or no ok sweep rows.
    """
    frame = analysis.load_results(results_dir)
    ok = analysis.ok_sweep(frame, f" in {results_dir}")
    out = Path(results_dir) / PLOTS_DIR if out_dir is None else Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    colours = mode_colours(frame["mode"].dropna().unique())
    drawers: list[tuple[str, Callable[[], Figure | str]]] = [
        *((f"time_vs_{a}.png", lambda a=a: time_vs_axis(ok, a, colours)) for a in AXES),
        ("ratio_forward_reverse.png", lambda: ratio_plot(ok)),
        ("best_mode_map.png", lambda: best_mode_map(ok, colours)),
        ("efficiency.png", lambda: efficiency_plot(ok, colours)),
        ("cpu_vs_cuda.png", lambda: cpu_vs_cuda(ok, colours)),
    ]
    result = PlotResult()
    with mpl.rc_context(STYLE):
        for name, draw in drawers:
            figure = draw()
            path = out / name
            if isinstance(figure, str):
                result.skipped.append(f"{name}: {figure}")
                path.unlink(missing_ok=True)  # a stale plot from an earlier table would mislead
                continue
            figure.savefig(path, dpi=dpi, bbox_inches="tight")
            result.paths.append(path)
    return result


def mode_colours(modes: Iterable[str]) -> dict[str, tuple[float, float, float]]:
    """One colour per mode, the same in every figure (registry order over tab10)."""
    palette = mpl.colormaps["tab10"].colors
    order = analysis.mode_order(str(m) for m in modes)
    return {m: to_rgb(palette[i % len(palette)]) for i, m in enumerate(order)}


# --------------------------------------------------------------------------- axes helpers


def _log_axis(ax: Axes, label: Callable[[float], str], which: str = "y") -> None:
    """Log axis (call after plotting) with plain labels, 1-2-5 ticks on short ranges.

    Powers of ten such as 2×10^1 are hard to read at column width; '20', '3 ms', '1.5G' are not.
    """
    axis = ax.yaxis if which == "y" else ax.xaxis
    (ax.set_yscale if which == "y" else ax.set_xscale)("log")
    lo, hi = ax.get_ylim() if which == "y" else ax.get_xlim()
    decades = np.log10(hi / lo)
    subs = (1.0, 2.0, 5.0) if decades < 1.3 else (1.0, 3.0) if decades < 2.5 else (1.0,)
    axis.set_major_locator(LogLocator(subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda v, _: label(v)))
    axis.set_minor_formatter(NullFormatter())


def _time_axis(ax: Axes) -> None:
    """Ticks in s / ms / us rather than powers of ten."""
    _log_axis(ax, fmt_time)


def _percent(value: float) -> str:
    return f"{100 * value:.3g}%"


def _si(value: float) -> str:
    """1.5e9 -> '1.5G': FLOP counts on an axis."""
    for suffix, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


def _integer_ticks(ax: Axes, values: list[int]) -> None:
    ax.set_xscale("log")
    if len(values) <= 8:
        ax.set_xticks(values)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())


def _figure(width: float, height: float, rows: int = 1, cols: int = 1,
            **kwargs: object) -> tuple[Figure, np.ndarray]:
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, **kwargs)
    return fig, axes.ravel()


# --------------------------------------------------------------------------- 1. time vs axis


def time_vs_axis(ok: pd.DataFrame, axis: str, colours: dict) -> Figure | str:
    """Time against one axis, a panel per group where only that axis varies."""
    sweeps = analysis.find_sweeps(ok, axis, limit=MAX_PANELS)
    if not sweeps:
        return f"no group of ok rows where only {axis} varies over 3 or more values"
    fig, axes = _figure(7.0, 2.5 * len(sweeps), rows=len(sweeps))
    for ax, sweep in zip(axes, sweeps, strict=True):
        for fit in analysis.fit_slopes(sweep):
            colour = colours[fit.mode]
            rows = sweep.rows[sweep.rows["mode"] == fit.mode]
            bands = [analysis.iqr_band(rows[rows[axis] == x].iloc[0].to_dict()) for x in fit.x]
            slope = "-" if fit.measured is None else f"{fit.measured:.2f}"
            model = "-" if fit.theory is None else f"{fit.theory:.2f}"
            ax.plot(fit.x, fit.time_s, "o-", color=colour, label=f"{fit.mode}: {slope} ({model})")
            ax.fill_between(fit.x, [b[0] for b in bands], [b[1] for b in bands], color=colour,
                            alpha=0.2, linewidth=0)
            curve = analysis.theory_curve(fit)
            if curve is not None:
                ax.plot(*curve, "--", color=colour, linewidth=0.9, alpha=0.9)
        handles, labels = ax.get_legend_handles_labels()
        handles.append(Line2D([], [], color="grey", linestyle="--", linewidth=0.9))
        labels.append("FLOP model × fitted const.")
        ax.legend(handles, labels, title="slope: measured (model)", loc="center left",
                  bbox_to_anchor=(1.01, 0.5), frameon=False)
        _integer_ticks(ax, sweep.values)
        _time_axis(ax)
        ax.set_xlabel(AXIS_LABELS[axis])
        ax.set_ylabel("median time per call")
        ax.set_title(f"time vs {axis} at {analysis.describe(sweep.fixed)}")
    return fig


# --------------------------------------------------------------------------- 2. ratio vs D/P


def ratio_plot(ok: pd.DataFrame, num: str = "forward", den: str = "reverse") -> Figure | str:
    """t(forward)/t(reverse) against D/P, one line per (L, K, batch), crossings marked."""
    series = analysis.ratio_series(ok, num, den)[:4]
    if not series:
        return (f"no (L, K, batch) group where both {num} and {den} measured ok "
                "at 2 or more values of D/P")
    fig, (ax,) = _figure(6.0, 3.2)
    palette = mpl.colormaps["Dark2"].colors
    for i, s in enumerate(series):
        colour = palette[i % len(palette)]
        name = analysis.describe(s.fixed)
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
    _log_axis(ax, lambda v: f"{v:g}", "x")
    _log_axis(ax, lambda v: f"{v:g}")
    ax.text(0.02, 0.97, f"{den} faster", transform=ax.transAxes, va="top")
    ax.text(0.98, 0.03, f"{num} faster", transform=ax.transAxes, ha="right", va="bottom")
    ax.set_xlabel("D / P (input size / output size)")
    ax.set_ylabel(f"time ratio {num} / {den}")
    ax.set_title(f"{num} against {den}: crossover (▼ measured, × model; dotted: D = P)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), frameon=False, ncol=1)
    return fig


# --------------------------------------------------------------------------- 3. best mode map


def best_mode_map(ok: pd.DataFrame, colours: dict) -> Figure | str:
    """The fastest mode at each (D, P) cell, measured times in the cells, model boundary on top."""
    grids = analysis.best_grids(ok)[:MAX_PANELS]
    if not grids:
        return "no (L, K, batch) group with 2 or more values of both D and P"
    present = analysis.mode_order({m for g in grids for m in g.best.values()})
    cmap = ListedColormap([colours[m] for m in present])
    norm = BoundaryNorm(np.arange(len(present) + 1) - 0.5, len(present))
    widths = [0.6 * len(g.D_values) + 0.9 for g in grids]
    height = 0.5 * max(len(g.P_values) for g in grids) + 1.4
    fig, axes = _figure(max(sum(widths), 3.5), height, cols=len(grids),
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
        ax.set_title(analysis.describe(grid.fixed, skip=("D", "P")))
    handles: list = [Patch(color=colours[m], label=m) for m in present]
    if model_drawn:
        handles.append(Line2D([], [], color="black", linewidth=2.2,
                              label="model boundary (fewest FLOPs, hand-written)"))
    handles.append(Line2D([], [], color="grey", linestyle=":", linewidth=1.5, label="D = P"))
    fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False)
    fig.suptitle("fastest mode at each (D, P); measured median in each cell", fontsize=8)
    return fig


def _draw_boundary(ax: Axes, grid: analysis.BestGrid) -> None:
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


def _draw_diagonal(ax: Axes, grid: analysis.BestGrid) -> None:
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


def efficiency_plot(ok: pd.DataFrame, colours: dict) -> Figure | str:
    """floor_s / time per mode against the model's FLOPs; a panel per device and dtype."""
    rows = ok.assign(efficiency=pd.to_numeric(ok["efficiency"], errors="coerce"),
                     flops=pd.to_numeric(ok["flops"], errors="coerce"))
    rows = rows[(rows["efficiency"] > 0) & (rows["flops"] > 0)]
    if rows.empty:
        return "no ok row has both an efficiency and a FLOP count (no ceilings measured?)"
    groups = list(rows.groupby(["device", "dtype"], sort=True))[:2]
    fig, axes = _figure(3.6 * len(groups) + 1.6, 3.0, cols=len(groups), sharey=True)
    for ax, ((device, dtype), group) in zip(axes, groups, strict=True):
        for mode in analysis.mode_order(group["mode"].unique()):
            m = group[group["mode"] == mode].sort_values("flops")
            ax.plot(m["flops"], m["efficiency"], "o", color=colours[mode], label=mode, alpha=0.8)
        _log_axis(ax, _si, "x")
        _log_axis(ax, _percent)
        ax.set_xlabel("problem size (FLOPs by the cost model)")
        ax.set_title(f"efficiency on {device} {dtype}")
    axes[0].set_ylabel("efficiency = floor / measured time")
    handles, labels = _unique_legend(axes)
    fig.legend(handles, labels, loc="outside right center", frameon=False)
    return fig


def _unique_legend(axes: np.ndarray) -> tuple[list, list[str]]:
    seen: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, handle)
    return list(seen.values()), list(seen)


# --------------------------------------------------------------------------- 5. cpu vs cuda


def cpu_vs_cuda(ok: pd.DataFrame, colours: dict) -> Figure | str:
    """Time against the model's FLOPs per mode, CPU and CUDA on shared axes."""
    device = ok["device"].fillna("").astype(str)
    cpu, cuda = ok[device == "cpu"], ok[device.str.startswith("cuda")]
    if cpu.empty or cuda.empty:
        have = ", ".join(sorted(set(device))) or "none"
        return f"needs ok rows on both cpu and cuda (devices here: {have})"
    flops = pd.to_numeric(ok["flops"], errors="coerce")
    if not (flops > 0).any():
        return "no ok row has a FLOP count to place it on a common axis"
    fig, axes = _figure(7.0, 3.0, cols=2, sharex=True, sharey=True)
    for ax, rows in zip(axes, (cpu, cuda), strict=True):
        for mode in analysis.mode_order(rows["mode"].unique()):
            m = rows[(rows["mode"] == mode) & (pd.to_numeric(rows["flops"], errors="coerce") > 0)]
            ax.plot(m["flops"], m["time_median_s"], "o", color=colours[mode], label=mode,
                    alpha=0.8)
        _log_axis(ax, _si, "x")
        _time_axis(ax)
        ax.set_xlabel("problem size (FLOPs by the cost model)")
        names = ", ".join(sorted(set(rows["device_name"].dropna().astype(str))))
        ax.set_title(f"{rows['device'].iloc[0]}: {names}" if names else rows["device"].iloc[0])
    axes[0].set_ylabel("median time per call")
    handles, labels = _unique_legend(axes)
    fig.legend(handles, labels, loc="outside right center", frameon=False)
    return fig
