"""The time model's figure: predicted against measured time for every ok row, on log axes, a
panel per family of modes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from jacbench.analysis.prediction import BAND, predicted_rows
from jacbench.render.axes import figure_legend, log_axis, outer_labels
from jacbench.render.format import fmt_time
from jacbench.render.panels import mode_panels
from jacbench.render.questions import question

__all__ = ["predicted_vs_measured"]


def predicted_vs_measured(ok: pd.DataFrame) -> Figure | str:
    """A point per ok row: measured median (x) against the calibrated prediction (y)."""
    rows = predicted_rows(ok)
    if rows.empty:
        return "no ok row has a predicted time (a table written before the time model)"
    rows = rows.assign(predicted_s=rows["predicted_s"].astype(float))
    fig, axes = mode_panels(rows, "time_median_s", "predicted_s")
    values = np.concatenate([rows["time_median_s"].to_numpy(float),
                             rows["predicted_s"].to_numpy(float)])
    lo, hi = values.min() / 1.5, values.max() * 1.5
    line = np.geomspace(lo, hi, 50)
    for ax in axes:
        ax.plot(line, line, color="black", linewidth=0.9, label="predicted = measured")
        ax.fill_between(line, line * (1 - BAND), line * (1 + BAND), color="grey", alpha=0.2,
                        linewidth=0, label=f"within {BAND:.0%}")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        log_axis(ax, fmt_time, "x")
        log_axis(ax, fmt_time)
    outer_labels(axes, "measured median per call", "predicted by the time model")
    fig.suptitle(question("predicted_vs_measured.png"))
    figure_legend(fig, axes, last=("predicted = measured", f"within {BAND:.0%}"))
    return fig
