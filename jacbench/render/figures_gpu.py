"""The GPU's own pictures: each mode on the CPU against the GPU, what one program saves over
eager launches, and what each precision costs and loses. Each is drawn when the table has the
rows for it, and otherwise skipped with the reason; the numbers come from ``analysis.devices``.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from jacbench.analysis.devices import cpu_against_gpu, is_gpu, launch_savings, precision_point
from jacbench.catalog import mode_order
from jacbench.render.axes import figure_legend, log_axis, new_figure, outer_labels, time_axis
from jacbench.render.format import fmt_point, fmt_si, fmt_time
from jacbench.render.panels import mode_panels
from jacbench.render.questions import question
from jacbench.render.style import PER_PANEL, family_of, look

__all__ = ["cpu_vs_gpu", "launches", "precisions"]


def _ratio(v: float) -> str:
    return f"{v:g}x"


def cpu_vs_gpu(ok: pd.DataFrame) -> Figure | str:
    """CPU time / GPU time per mode against the cost model's FLOPs, a panel per family."""
    devices = ok["device"].fillna("").astype(str)
    if not (devices == "cpu").any() or not is_gpu(ok).any():
        have = ", ".join(sorted(set(devices))) or "none"
        return f"needs ok rows on both cpu and cuda (devices here: {have})"
    pairs = cpu_against_gpu(ok)
    pairs = pairs[pairs["flops"] > 0]
    if pairs.empty:
        return "no mode measured ok at the same point on both cpu and cuda"
    fig, axes = mode_panels(pairs, "flops", "speedup", joined=True)
    for ax in axes:
        ax.axhline(1, color="black", linewidth=0.8)
        log_axis(ax, fmt_si, "x")
        log_axis(ax, _ratio)
    outer_labels(axes, "problem size (FLOPs by the cost model)", "CPU time / GPU time")
    fig.suptitle(f"{question('cpu_vs_gpu.png')}\nabove 1: the GPU is faster")
    figure_legend(fig, axes)
    return fig


def launches(ok: pd.DataFrame) -> Figure | str:
    """Eager / one-program time on the GPU against the eager time, a panel per family."""
    pairs = launch_savings(ok)
    if pairs.empty:
        return ("no GPU point where a one-program mode (JAX jit, torch.compile, AOTInductor, "
                "CUDA graph) and the eager mode of its algorithm both measured ok")
    fig, axes = mode_panels(pairs, "eager_s", "speedup", joined=True,
                            label="{mode} over {eager}")
    for ax in axes:
        ax.axhline(1, color="black", linewidth=0.8)
        log_axis(ax, fmt_time, "x")
        log_axis(ax, _ratio)
    outer_labels(axes, "eager torch time per call", "eager time / one-program time")
    fig.suptitle(f"{question('launches.png')}\nabove 1: one program beats eager launches; "
                 "the gap at small times is mostly launches")
    figure_legend(fig, axes)
    return fig


def precisions(ok: pd.DataFrame) -> Figure | str:
    """Time and error per precision at one point, the best mode of each family."""
    found = precision_point(ok)
    if found is None:
        return "no point measured ok in two or more dtypes or matmul precisions"
    fixed, rows, order = found
    modes = _best_of_families(rows, order[0])
    fig, axes = new_figure(7.4, 3.4, cols=2, sharex=True)
    positions = {p: i for i, p in enumerate(order)}
    for mode in modes:
        mine = rows[rows["mode"] == mode].copy()
        mine["at"] = mine["precision"].map(positions)
        mine = mine.sort_values("at")
        style = look(mode)
        for ax, column in zip(axes, ("time_median_s", "rel_error"), strict=True):
            ax.plot(mine["at"], pd.to_numeric(mine[column], errors="coerce"), "-",
                    marker=style.marker, color=style.colour, label=mode)
    time_axis(axes[0])
    log_axis(axes[1], lambda v: f"{v:.0e}")
    for ax in axes:
        ax.set_xticks(range(len(order)), order, rotation=20, ha="right")
        ax.set_xlabel("dtype (matmul precision)")
    axes[0].set_ylabel("median time per call")
    axes[1].set_ylabel("relative error against float64")
    axes[0].set_title("time")
    axes[1].set_title("error")
    fig.suptitle(f"{question('precisions.png')}\nat {fmt_point(dict(fixed), skip=('dtype',))}; "
                 "the fastest mode of each family")
    figure_legend(fig, list(axes))
    return fig


def _best_of_families(rows: pd.DataFrame, reference: str) -> list[str]:
    """The fastest mode of each family at the most exact precision (others where it is absent),
    at most ``PER_PANEL``."""
    at_ref = rows[rows["precision"] == reference]
    source = at_ref if not at_ref.empty else rows
    median = source.groupby("mode")["time_median_s"].median().sort_values()
    best: dict[str, str] = {}
    for mode in median.index:
        best.setdefault(family_of(mode), mode)
    return mode_order(list(best.values())[:PER_PANEL])

