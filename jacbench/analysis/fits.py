"""Scaling: the measured exponent of time against one axis, beside the cost model's.

The sweep grid is a union of sub-grids (a D×P crossover grid, a depth sweep, a width sweep, a
batch sweep...), so "time against X" means: the groups of rows where only X varies (every other
axis and the context fixed) with at least three distinct X values. Along such a sweep each mode's
measured slope d log t / d log X is fitted by least squares, and the model's d log FLOPs / d log X
over the same points is set beside it, with the one constant (seconds per FLOP) that maps the
model onto the measurement, and the calibrated time model's predicted slope where the table has
predictions (``predicted_s``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from jacbench.analysis.cost_lookup import stored_flops, theory_flops
from jacbench.analysis.table import Fixed, group_by
from jacbench.catalog import mode_order
from jacbench.results.point import AXES, POINT_FIELDS


def loglog_slope(x: Iterable[float], y: Iterable[float]) -> float:
    """Least-squares slope of log y against log x (the measured scaling exponent)."""
    lx, ly = np.log(np.asarray(list(x), float)), np.log(np.asarray(list(y), float))
    if len(lx) < 2 or np.ptp(lx) == 0:
        raise ValueError("a slope needs at least two distinct x values")
    dx = lx - lx.mean()  # the normal equation of a line, not np.polyfit: a report fits 10^3
    return float(dx @ (ly - ly[0]) / (dx @ dx))  # a constant y gives exactly 0, not -0.00


@dataclass(frozen=True, eq=False)
class Sweep:
    """Rows (all modes) where only ``axis`` varies; ``fixed`` holds every other axis and context."""

    axis: str
    fixed: Fixed
    rows: pd.DataFrame = field(repr=False)

    @property
    def values(self) -> list[int]:
        return sorted(int(v) for v in self.rows[self.axis].unique())


def find_sweeps(ok: pd.DataFrame, axis: str, min_values: int = 3,
                limit: int | None = None) -> list[Sweep]:
    """The groups where only ``axis`` varies, largest (most distinct values, then rows) first."""
    if axis not in AXES:
        raise ValueError(f"unknown axis {axis!r}; choose one of {', '.join(AXES)}")
    others = [c for c in POINT_FIELDS if c != axis]
    if ok.empty:
        return []
    # Count values per group in one pass first: a grid of 10^4 points has 10^4 groups along
    # an axis it does not vary, and slicing each would take seconds.
    values = ok.groupby(others, dropna=False, sort=False)[axis].transform("nunique")
    found = [Sweep(axis, fixed, rows)
             for fixed, rows in group_by(ok[values >= min_values], others)]
    found.sort(key=lambda s: (-len(s.values), -len(s.rows)))
    return found[:limit]


@dataclass(frozen=True)
class SlopeFit:
    """One mode along one sweep: measured exponent against the cost model's.

    ``scale`` is the constant (seconds per FLOP) that best maps the model's FLOPs onto the
    measured times, fitted in log space: t ≈ scale · flops.
    """

    axis: str
    fixed: Fixed
    mode: str
    x: tuple[int, ...]
    time_s: tuple[float, ...]
    measured: float | None
    theory: float | None
    scale: float | None
    theory_flops: tuple[float, ...] | None
    #: The calibrated time model's prediction at each x (None where the table has none).
    predicted_s: tuple[float, ...] | None = None
    predicted: float | None = None  # its slope

    @property
    def point(self) -> dict[str, Any]:
        return dict(self.fixed)


def fit_slopes(sweep: Sweep) -> list[SlopeFit]:
    """A fit per mode of the sweep (modes measured at two or more values of the axis)."""
    by_mode = dict(list(sweep.rows.groupby("mode", sort=False)))
    return [_fit(sweep, mode, by_mode[mode]) for mode in mode_order(by_mode)]


def _fit(sweep: Sweep, mode: str, rows: pd.DataFrame) -> SlopeFit:
    medians = rows.groupby(sweep.axis)["time_median_s"].median()
    x = tuple(int(v) for v in medians.index)
    t = tuple(float(v) for v in medians.to_numpy())
    measured = loglog_slope(x, t) if len(x) >= 2 else None
    flops = []
    for v in x:
        value = theory_flops(mode, {**dict(sweep.fixed), sweep.axis: v})
        flops.append(value if value is not None else stored_flops(rows[rows[sweep.axis] == v]))
    theory = scale = model = None
    if all(f is not None and f > 0 for f in flops):
        model = tuple(float(f) for f in flops)  # type: ignore[arg-type]
        scale = float(np.exp(np.mean(np.log(t) - np.log(model))))
        theory = loglog_slope(x, model) if len(x) >= 2 else None
    predicted_s = predicted = None
    if "predicted_s" in rows:
        p = pd.to_numeric(rows["predicted_s"], errors="coerce").groupby(rows[sweep.axis]).median()
        values = p.reindex(medians.index).to_numpy(float)
        if np.all(values > 0):
            predicted_s = tuple(float(v) for v in values)
            predicted = loglog_slope(x, predicted_s) if len(x) >= 2 else None
    return SlopeFit(sweep.axis, sweep.fixed, mode, x, t, measured, theory, scale, model,
                    predicted_s, predicted)


def theory_curve(fit: SlopeFit, num: int = 40) -> tuple[np.ndarray, np.ndarray] | None:
    """The calibrated prediction at the measured points where the table has one; otherwise the
    scaled FLOP curve over the fit's range, dense where the cost model covers the mode."""
    if fit.predicted_s is not None:
        return np.asarray(fit.x, float), np.asarray(fit.predicted_s, float)
    if fit.scale is None or fit.theory_flops is None:
        return None
    lo, hi = min(fit.x), max(fit.x)
    dense = np.unique(np.round(np.geomspace(lo, hi, num)).astype(int))
    flops = [theory_flops(fit.mode, {**fit.point, fit.axis: int(v)}) for v in dense]
    if all(f is not None for f in flops):
        return dense.astype(float), fit.scale * np.asarray(flops, float)
    return np.asarray(fit.x, float), fit.scale * np.asarray(fit.theory_flops)


def all_slopes(ok: pd.DataFrame, limit: int | None = None) -> list[SlopeFit]:
    """Slope fits over every sweep of every axis."""
    return [fit for axis in AXES for sweep in find_sweeps(ok, axis, limit=limit)
            for fit in fit_slopes(sweep)]
