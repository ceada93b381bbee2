"""Measured scaling against the cost model, as PNG figures drawn from a stored results table.

``make_plots(RESULTS_DIR)`` reads ``results.parquet`` only (no re-running) and writes into
``RESULTS_DIR/_plots/`` (the ``_`` keeps ``pandas.read_parquet(RESULTS_DIR)`` reading the folder as
one table). A plot with nothing to show is not drawn empty: it is skipped with a line saying why,
and a stale file of that name from an earlier table is removed. The figures themselves are in
``render.figures*`` modules; their questions in ``render.questions``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib as mpl
import pandas as pd
from matplotlib.figure import Figure

from jacbench.analysis.table import load_results, ok_sweep
from jacbench.render.figures import best_mode_map, efficiency_plot, ratio_plot
from jacbench.render.figures_compiled import compiled_against_eager
from jacbench.render.figures_gpu import cpu_vs_gpu, launches, precisions
from jacbench.render.figures_implementations import implementations
from jacbench.render.figures_prediction import predicted_vs_measured
from jacbench.render.figures_scaling import time_vs_axis
from jacbench.render.style import RC
from jacbench.results.point import AXES

PLOTS_DIR = "_plots"

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
    result = PlotResult()
    with mpl.rc_context(RC):
        for name, draw in drawers(ok):
            figure = draw()
            path = out / name
            if isinstance(figure, str):
                result.skipped.append(f"{name}: {figure}")
                path.unlink(missing_ok=True)  # a stale plot from an earlier table would mislead
                continue
            figure.savefig(path, dpi=dpi)  # constrained layout fits it: "tight" redrew it
            result.paths.append(path)
    return result


def drawers(ok: pd.DataFrame) -> list[tuple[str, Callable[[], Figure | str]]]:
    """Each figure's file name and the call that draws it from the ok rows, in report order."""
    return [
        *((f"time_vs_{a}.png", lambda a=a: time_vs_axis(ok, a)) for a in AXES),
        ("ratio_forward_reverse.png", lambda: ratio_plot(ok)),
        ("best_mode_map.png", lambda: best_mode_map(ok)),
        ("efficiency.png", lambda: efficiency_plot(ok)),
        ("cpu_vs_gpu.png", lambda: cpu_vs_gpu(ok)),
        ("launches.png", lambda: launches(ok)),
        ("precisions.png", lambda: precisions(ok)),
        ("implementations.png", lambda: implementations(ok)),
        ("compiled_vs_eager.png", lambda: compiled_against_eager(ok)),
        ("predicted_vs_measured.png", lambda: predicted_vs_measured(ok)),
    ]
