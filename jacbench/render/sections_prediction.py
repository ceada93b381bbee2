"""The report's section on the calibrated time model: its parameters, predicted against measured
per mode, the advisor's picks, and the slopes that depart from the FLOP model, explained.

Numbers come from ``jacbench.analysis.prediction`` (the table's ``predicted_s`` and
``predicted_bound`` columns) and the calibration the run stored in its folder.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from jacbench.analysis.prediction import (
    ADVISOR_WITHIN,
    TARGETS,
    advisor_score,
    hand_written_modes,
    mode_errors,
    predicted_rows,
    slope_checks,
)
from jacbench.render.format import fmt_percent, fmt_point, fmt_time
from jacbench.render.markdown import capped_table, table
from jacbench.results.folder import read_calibrations
from jacbench.theory.time_model import MachineModel

__all__ = ["prediction"]

#: A slope departs from the FLOP model's when they differ by more than this.
DEPARTS = 0.15
MISSES_SHOWN = 10


def prediction(ok: pd.DataFrame, results_dir: Path) -> list[str]:
    """The whole section; one line saying why when the table has no predictions."""
    lines = ["", "## Predicted against measured: the calibrated time model", ""]
    if predicted_rows(ok).empty:
        return [*lines, "No row carries a predicted time: this table was written before the "
                "time model (re-run the sweep to get predictions)."]
    lines.append(
        "Each row's prediction is the sum over the mode's operations (the list the cost model "
        "counts) of max(arithmetic, memory traffic) plus its calls, with the machine's "
        "parameters measured by short probes at the start of the run (formulas and assumptions: "
        "`jacbench/theory/time_model.py`). `python -m jacbench advise --from` this folder ranks "
        "the modes at any shape with the same calibration.")
    lines += _calibration(results_dir)
    return lines + _errors(ok) + _advisor(ok) + _slopes(ok)


def _calibration(results_dir: Path) -> list[str]:
    try:
        models = read_calibrations(results_dir)
    except ValueError as exc:
        return ["", f"The stored calibration could not be read: {exc}"]
    if not models:
        return []
    rows = [_parameters(m) for m in models.values()]
    return ["", *table(["device", "dtype", "threads", "a call", "GEMM peak", "GEMM n½",
                        "thread sync", "act' rate", "bandwidth in cache", "out of cache",
                        "calibrated in"], rows)]


def _parameters(m: MachineModel) -> list[object]:
    first, last = m.bandwidth[0], m.bandwidth[-1]
    return [m.device, m.dtype, m.threads, fmt_time(m.dispatch_s), f"{m.peak_flops / 1e9:.0f} "
            "GFLOP/s", f"{m.gemm_half_dim:.1f}",
            f"{fmt_time(m.sync_s)} + {fmt_time(m.handoff_s)} handoff",
            f"{m.elementwise_rate / 1e9:.1f} G/s",
            f"{first[1] / 1e9:.0f} GB/s at {first[0] / 2**20:.2g} MiB",
            f"{last[1] / 1e9:.0f} GB/s at {last[0] / 2**20:.0f} MiB", f"{m.calibration_s:.1f} s"]


def _errors(ok: pd.DataFrame) -> list[str]:
    found = mode_errors(ok)
    rows = [[e.mode, e.family, e.rows, fmt_percent(e.median), fmt_percent(e.p90),
             f"{e.bias:.2f}"] for e in found]
    lines = ["", "Error = |predicted / measured - 1| over the ok rows; bias is the median of "
             "predicted / measured (below 1: the model is optimistic).", "",
             *table(["mode", "family", "rows", "median error", "90th percentile", "bias"], rows)]
    for e in found:
        target = TARGETS.get(e.family)
        if e.mode.startswith("all ") and target is not None:
            verdict = "meets" if e.median <= target else "misses"
            lines += ["", f"- {e.family} modes: median error {fmt_percent(e.median)} over "
                      f"{e.rows} rows, {verdict} the target of {fmt_percent(target)}."]
    return lines


def _advisor(ok: pd.DataFrame) -> list[str]:
    lines = ["", "### The advisor's pick",
             "", f"At each point, the mode predicted fastest against the one measured fastest "
             f"(a pick within {ADVISOR_WITHIN:.0%} of the fastest counts as right; target: 90% "
             "of points)."]
    for name, modes in (("all measured modes", None), ("hand-written modes", hand_written_modes())):
        score = advisor_score(ok, modes)
        if score.points:
            lines.append(f"- among {name}: right at {score.right} of {score.points} points "
                         f"({fmt_percent(score.share)}).")
    misses = advisor_score(ok).misses
    if not misses:
        return [*lines, "", "The pick was the measured fastest at every point."]
    rows = [[fmt_point(dict(fixed)), pick, best, f"{slowdown:.2f}x"]
            for fixed, pick, best, slowdown in misses[:MISSES_SHOWN]]
    shown = "" if len(misses) <= MISSES_SHOWN else f" (the {MISSES_SHOWN} worst of {len(misses)})"
    return [*lines, "", f"Points where the pick was not the measured fastest{shown}:", "",
            *table(["point", "pick", "measured fastest", "pick / fastest"], rows)]


def _slopes(ok: pd.DataFrame) -> list[str]:
    checks = slope_checks(ok)
    if not checks:
        return []
    worst = max(abs(c.predicted - c.measured) for c in checks)
    lines = ["", "### Slopes the FLOP model misses, explained",
             "", f"Over {len(checks)} (sweep, mode) pairs the predicted log-log slope is within "
             f"{worst:.2f} of the measured one. Where the measured slope departs from the FLOP "
             f"model's by more than {DEPARTS}, the dominant term at the two ends of the sweep "
             "says why (calls are constant in size, so they flatten a slope; weights that leave "
             "the cache steepen it):", ""]
    rows = [[c.axis, fmt_point(dict(c.fixed), skip=(c.axis,)), c.mode,
             f"{min(c.x)}..{max(c.x)}", f"{c.measured:.2f}", f"{c.predicted:.2f}",
             "-" if c.flop_model is None else f"{c.flop_model:.2f}",
             f"{c.bound_low} → {c.bound_high}"]
            for c in checks
            if c.flop_model is not None and abs(c.measured - c.flop_model) > DEPARTS]
    if not rows:
        return [*lines, "No measured slope departs from the FLOP model's."]
    return lines + capped_table(["axis", "fixed", "mode", "range", "measured", "predicted",
                                 "FLOP model", "dominant term: small end → large end"], rows)
