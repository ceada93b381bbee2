"""The time model's figure: predicted against measured time for every ok row, on log axes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from jacbench.analysis.prediction import BAND, predicted_rows
from jacbench.catalog import mode_order
from jacbench.render.axes import log_axis, new_figure
from jacbench.render.format import fmt_time

__all__ = ["predicted_vs_measured"]


def predicted_vs_measured(ok: pd.DataFrame,
                          colours: dict[str, tuple[float, float, float]]) -> Figure | str:
    """A point per ok row: measured median (x) against the calibrated prediction (y)."""
    rows = predicted_rows(ok)
    if rows.empty:
        return "no ok row has a predicted time (a table written before the time model)"
    fig, (ax,) = new_figure(5.2, 4.2)
    for mode in mode_order(rows["mode"].unique()):
        m = rows[rows["mode"] == mode]
        ax.plot(m["time_median_s"], m["predicted_s"].astype(float), "o", color=colours[mode],
                label=mode, alpha=0.75, markersize=3.5)
    values = np.concatenate([rows["time_median_s"].to_numpy(float),
                             rows["predicted_s"].to_numpy(float)])
    lo, hi = values.min() / 1.5, values.max() * 1.5
    line = np.geomspace(lo, hi, 50)
    ax.plot(line, line, color="black", linewidth=0.9, label="predicted = measured")
    ax.fill_between(line, line * (1 - BAND), line * (1 + BAND), color="grey", alpha=0.2,
                    linewidth=0, label=f"within {BAND:.0%}")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    log_axis(ax, fmt_time, "x")
    log_axis(ax, fmt_time)
    ax.set_xlabel("measured median per call")
    ax.set_ylabel("predicted by the calibrated time model")
    ax.set_title("predicted against measured, every ok row")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig
