"""Forward against reverse: the time ratio of two modes against D/P, and where it crosses 1.

The cost model says forward and reverse cost the same at D = P. Per group at fixed L, K, batch
and context, the measured ratio is taken within each interleaved round (so a slow spell slows
both), points with the same D/P are merged by their geometric mean, and the crossings of 1 are
found by log-log interpolation, for the measurement and for the model at the same points.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from jacbench.analysis.cost_lookup import theory_flops
from jacbench.analysis.table import Fixed, group_by
from jacbench.results.point import CONTEXT


def crossings(x: Iterable[float], ratio: Iterable[float]) -> list[float]:
    """Where a ratio sorted by x crosses 1, each found by linear interpolation in log-log."""
    lx = np.log(np.asarray(list(x), float))
    lr = np.log(np.asarray(list(ratio), float))
    found: list[float] = []
    for i in range(len(lx)):
        if lr[i] == 0 and (not found or found[-1] != math.exp(lx[i])):
            found.append(float(math.exp(lx[i])))
        if i + 1 < len(lx) and lr[i] * lr[i + 1] < 0:
            t = lr[i] / (lr[i] - lr[i + 1])
            found.append(float(math.exp(lx[i] + t * (lx[i + 1] - lx[i]))))
    return found


def round_ratio(a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
    """Median of per-round ratios when both rows kept matching rounds, else ratio of medians."""
    ra, rb = a.get("round_medians_s"), b.get("round_medians_s")
    if ra is not None and rb is not None and len(ra) == len(rb) and len(ra) > 0:
        # Plain floats, not numpy: a report computes 10^4 of these from a handful of rounds.
        pairs = [float(x) / float(y) if y else math.inf for x, y in zip(ra, rb, strict=True)]
        if all(math.isfinite(r) and r > 0 for r in pairs):
            return float(statistics.median(pairs))
    return float(a["time_median_s"]) / float(b["time_median_s"])


@dataclass(frozen=True)
class RatioSeries:
    """t(num)/t(den) against D/P at fixed L, K, batch and context, and where it crosses 1."""

    fixed: Fixed
    num: str
    den: str
    d_over_p: tuple[float, ...]
    ratio: tuple[float, ...]
    theory: tuple[float, ...] | None
    measured_crossings: tuple[float, ...]
    theory_crossings: tuple[float, ...]
    points: tuple[tuple[int, int, float], ...]  # (D, P, measured ratio) before averaging


def ratio_series(ok: pd.DataFrame, num: str = "forward", den: str = "reverse",
                 min_points: int = 2) -> list[RatioSeries]:
    """One series per (L, K, batch, context) where both modes measured ok at ``min_points``
    or more values of D/P, the series with the most points first."""
    both = ok[ok["mode"].isin([num, den])]
    series = [_series(fixed, rows, num, den)
              for fixed, rows in group_by(both, ("L", "K", "batch", *CONTEXT))]
    series = [s for s in series if len(s.d_over_p) >= min_points]
    series.sort(key=lambda s: -len(s.points))
    return series


def _series(fixed: Fixed, rows: pd.DataFrame, num: str, den: str) -> RatioSeries:
    wanted = ["D", "P", "time_median_s", "round_medians_s"]

    def by_cell(mode: str) -> dict[tuple[int, int], dict[str, Any]]:
        mine = rows.loc[rows["mode"] == mode, wanted].drop_duplicates(["D", "P"])
        return {(int(r["D"]), int(r["P"])): r for r in mine.to_dict("records")}

    a, b = by_cell(num), by_cell(den)
    points: list[tuple[int, int, float]] = []
    measured: dict[float, list[float]] = {}
    modelled: dict[float, list[float | None]] = {}
    for D, P in sorted(a.keys() & b.keys()):
        ratio = round_ratio(a[(D, P)], b[(D, P)])
        points.append((D, P, ratio))
        point = {**dict(fixed), "D": D, "P": P}
        fn, fd = theory_flops(num, point), theory_flops(den, point)
        measured.setdefault(D / P, []).append(ratio)
        modelled.setdefault(D / P, []).append(fn / fd if fn and fd else None)
    x = sorted(measured)
    ratio = [_geomean(measured[v]) for v in x]
    model: list[float] | None = None
    if all(r is not None for v in x for r in modelled[v]):
        model = [_geomean(modelled[v]) for v in x]
    return RatioSeries(
        fixed, num, den, tuple(x), tuple(ratio), tuple(model) if model else None,
        tuple(crossings(x, ratio)), tuple(crossings(x, model)) if model else (), tuple(points))


def _geomean(values: Iterable[float | None]) -> float:
    return float(np.exp(np.mean(np.log(np.asarray(list(values), float)))))
