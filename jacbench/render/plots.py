"""Measured scaling against the cost model, as PNG figures drawn from a stored results table.

``make_plots(RESULTS_DIR)`` reads ``results.parquet`` only (no re-running) and writes into
``RESULTS_DIR/_plots/`` (the ``_`` keeps ``pandas.read_parquet(RESULTS_DIR)`` reading the folder as
one table). A plot with nothing to show is not drawn empty: it is skipped with a line saying why,
and a stale file of that name from an earlier table is removed. The figures themselves are in
``render.figures``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib as mpl
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from jacbench.analysis.prediction import BAND
from jacbench.analysis.table import load_results, ok_sweep
from jacbench.catalog import mode_order
from jacbench.render.figures import (
    Colours,
    best_mode_map,
    cpu_vs_cuda,
    efficiency_plot,
    ratio_plot,
    time_vs_axis,
)
from jacbench.render.figures_compiled import compiled_against_eager
from jacbench.render.figures_prediction import predicted_vs_measured
from jacbench.results.point import AXES, AXIS_LABELS

PLOTS_DIR = "_plots"

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
    **{f"time_vs_{a}.png": f"Time against {AXIS_LABELS[a]}, with the calibrated time model's "
       "prediction (dashed; the FLOP model scaled by one fitted constant per mode for a table "
       "without predictions)" for a in AXES},
    "predicted_vs_measured.png": "Predicted against measured time, every ok row (log axes; "
    f"the band is ±{BAND:.0%})",
    "ratio_forward_reverse.png": "Forward/reverse time ratio against D/P, measured and modelled",
    "best_mode_map.png": "Fastest mode at each (D, P), with the cost model's boundary",
    "efficiency.png": "Efficiency (floor / measured time) against problem size",
    "cpu_vs_cuda.png": "CPU and CUDA side by side: time against problem size",
    "compiled_vs_eager.png": "Compiled modes (JAX, torch.compile, AOTInductor) against the eager "
    "torch mode of the same algorithm, point by point",
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

    Raises ``ResultsError`` (one line) for a missing folder, an empty table, or no ok sweep rows,
    before anything is drawn.
    """
    frame = load_results(results_dir)
    ok = ok_sweep(frame, f" in {results_dir}")
    out = Path(results_dir) / PLOTS_DIR if out_dir is None else Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    colours = mode_colours(frame["mode"].dropna().unique())
    drawers: list[tuple[str, Callable[[], Figure | str]]] = [
        *((f"time_vs_{a}.png", lambda a=a: time_vs_axis(ok, a, colours)) for a in AXES),
        ("ratio_forward_reverse.png", lambda: ratio_plot(ok)),
        ("best_mode_map.png", lambda: best_mode_map(ok, colours)),
        ("efficiency.png", lambda: efficiency_plot(ok, colours)),
        ("cpu_vs_cuda.png", lambda: cpu_vs_cuda(ok, colours)),
        ("compiled_vs_eager.png", lambda: compiled_against_eager(ok, colours)),
        ("predicted_vs_measured.png", lambda: predicted_vs_measured(ok, colours)),
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


def mode_colours(modes: Iterable[str]) -> Colours:
    """One colour per mode, the same in every figure (registry order over tab10, over tab20
    when there are more than ten modes)."""
    order = mode_order(str(m) for m in modes)
    palette = mpl.colormaps["tab10" if len(order) <= 10 else "tab20"].colors
    return {m: to_rgb(palette[i % len(palette)]) for i, m in enumerate(order)}
