"""The calibrated time model against the measurements: errors, the advisor's picks, slopes.

Every number here comes from the table's ``predicted_s`` and ``predicted_bound`` columns, which
the sweep fills from the calibration it measured at its start (``jacbench.theory.time_model``);
a table written before them has none, and each function then says so by returning nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from jacbench.analysis.fits import find_sweeps, loglog_slope
from jacbench.analysis.table import Fixed, is_missing
from jacbench.catalog import CATALOG, HAND_WRITTEN, LIBRARY, mode_order
from jacbench.results.point import AXES, POINT_FIELDS

#: Targets of the time model (issue "Theory that predicts time"): the median |predicted/measured
#: - 1| of each family should stay within these.
TARGETS: dict[str, float] = {HAND_WRITTEN: 0.25, LIBRARY: 0.50}
#: The band the figures draw around predicted = measured: the hand-written target.
BAND = TARGETS[HAND_WRITTEN]

__all__ = [
    "ADVISOR_WITHIN",
    "BAND",
    "TARGETS",
    "AdvisorScore",
    "ModeError",
    "SlopeCheck",
    "advisor_score",
    "mode_errors",
    "predicted_rows",
    "slope_checks",
]

#: The advisor's pick counts as right when it is the fastest mode or this close to it.
ADVISOR_WITHIN = 0.10


def predicted_rows(ok: pd.DataFrame) -> pd.DataFrame:
    """The ok rows that carry a positive prediction, with ``error`` = predicted / measured - 1."""
    if "predicted_s" not in ok:
        return ok.iloc[0:0].assign(error=[])
    predicted = pd.to_numeric(ok["predicted_s"], errors="coerce")
    rows = ok[predicted > 0].copy()
    rows["error"] = predicted[predicted > 0] / rows["time_median_s"] - 1
    return rows


def family(mode: str) -> str:
    """The mode's catalogue family ("hand-written", "library", ...); "other" if unknown."""
    info = CATALOG.get(mode)
    return info.family if info is not None else "other"


@dataclass(frozen=True)
class ModeError:
    """How far one mode's predictions are from its measurements, over its ok rows."""

    mode: str
    family: str
    rows: int
    median: float  # median |predicted / measured - 1|
    p90: float
    bias: float  # median predicted / measured


def mode_errors(ok: pd.DataFrame) -> list[ModeError]:
    """Per mode (registry order), then per family ("all hand-written", ...) and over all rows."""
    rows = predicted_rows(ok)
    found = []

    def summary(name: str, fam: str, g: pd.DataFrame) -> ModeError:
        err = g["error"].abs()
        return ModeError(name, fam, len(g), float(err.median()), float(np.percentile(err, 90)),
                         float((g["error"] + 1).median()))

    for mode in mode_order(rows["mode"].unique()):
        found.append(summary(mode, family(mode), rows[rows["mode"] == mode]))
    families = rows["mode"].map(family)
    for fam in sorted(set(families)):
        found.append(summary(f"all {fam}", fam, rows[families == fam]))
    return found


@dataclass(frozen=True)
class AdvisorScore:
    """The advisor's pick (fastest predicted) against the fastest measured, point by point."""

    points: int
    right: int  # the pick is the fastest, or within ADVISOR_WITHIN of it
    misses: list[tuple[Fixed, str, str, float]]  # (point, pick, fastest, pick's slowdown)

    @property
    def share(self) -> float:
        return self.right / self.points if self.points else float("nan")


def advisor_score(ok: pd.DataFrame, modes: set[str] | None = None) -> AdvisorScore:
    """Over points where two or more modes (of ``modes``, default all) measured ok with a
    prediction: how often the predicted fastest is the measured fastest, or within 10%."""
    rows = predicted_rows(ok)
    if modes is not None:
        rows = rows[rows["mode"].isin(modes)]
    rows = rows.assign(predicted_s=pd.to_numeric(rows["predicted_s"], errors="coerce"))
    rows = rows.reset_index(drop=True)
    keys = list(POINT_FIELDS)
    rows = rows[rows.groupby(keys, dropna=False)["mode"].transform("size") >= 2]
    if rows.empty:
        return AdvisorScore(0, 0, [])
    by_point = rows.groupby(keys, dropna=False, sort=True)
    pick = rows.loc[by_point["predicted_s"].idxmin()].reset_index(drop=True)
    best = rows.loc[by_point["time_median_s"].idxmin()].reset_index(drop=True)
    slowdown = pick["time_median_s"].astype(float) / best["time_median_s"].astype(float)
    right = int((slowdown <= 1 + ADVISOR_WITHIN).sum())
    missed = pick["mode"] != best["mode"]
    misses = [(tuple((c, None if is_missing(v) else v) for c, v in zip(keys, point, strict=True)),
               str(p), str(b), float(x)) for point, p, b, x in zip(
                   best.loc[missed, keys].itertuples(index=False), pick.loc[missed, "mode"],
                   best.loc[missed, "mode"], slowdown[missed], strict=True)]
    misses.sort(key=lambda m: -m[3])
    return AdvisorScore(len(pick), right, misses)


@dataclass(frozen=True)
class SlopeCheck:
    """One mode along one sweep: measured, predicted and FLOP-model slopes, and why they differ
    (the dominant term at the two ends of the sweep)."""

    axis: str
    fixed: Fixed
    mode: str
    x: tuple[int, ...]
    measured: float
    predicted: float
    flop_model: float | None
    bound_low: str
    bound_high: str


def slope_checks(ok: pd.DataFrame) -> list[SlopeCheck]:
    """A check per (sweep of any axis, mode) where every point has a prediction."""
    rows = predicted_rows(ok)
    # Only the columns read below: slicing 10^4 rows of every column is what took seconds.
    rows = rows[[*POINT_FIELDS, "mode", "time_median_s", "predicted_s", "flops",
                 "predicted_bound"]]
    found = []
    for axis in AXES:
        for sweep in find_sweeps(rows, axis):
            # numpy arrays once per sweep, not pandas slices per mode: 10^4 points make
            # hundreds of sweeps, and per-mode frames took seconds.
            g = sweep.rows
            modes, x = g["mode"].to_numpy(), g[axis].to_numpy()
            measured, predicted = (g[c].to_numpy(float) for c in ("time_median_s",
                                                                   "predicted_s"))
            flops = pd.to_numeric(g["flops"], errors="coerce").to_numpy(float)
            bounds = g["predicted_bound"].to_numpy()
            for mode in mode_order(dict.fromkeys(modes)):
                at = np.flatnonzero(modes == mode)
                at = at[np.argsort(x[at], kind="stable")]
                xs = x[at]
                if len(at) < 3 or len(np.unique(xs)) != len(at):
                    continue
                model = loglog_slope(xs, flops[at]) if (flops[at] > 0).all() else None
                found.append(SlopeCheck(
                    axis, sweep.fixed, mode, tuple(int(v) for v in xs),
                    loglog_slope(xs, measured[at]), loglog_slope(xs, predicted[at]), model,
                    str(bounds[at[0]]), str(bounds[at[-1]])))
    return found


def hand_written_modes() -> set[str]:
    return {m for m, info in CATALOG.items() if info.family == HAND_WRITTEN}
