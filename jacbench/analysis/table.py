"""The numbers behind the plots and the report, computed from a stored results table only.

Plots and report state the same slopes, crossovers, winners and drift, so both read them from
here. Nothing here times anything: analysis can be redone from the parquet file on any machine.

The sweep grid is a union of sub-grids (a D×P crossover grid, a depth sweep, a width sweep, a
batch sweep...), so "time against X" means: the groups of rows where only X varies (every other
axis, dtype, device and activation fixed) with at least three distinct X values.

The theory comes from ``jacbench.theory.cost`` (a mode it does not model, from a table written by another
version, simply has no theory line), falling back to the ``flops`` column stored with each row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jacbench import storage
from jacbench.theory.cost import cost
from jacbench.modes.registry import MODES

AXES: tuple[str, ...] = ("L", "D", "K", "P", "batch")
CONTEXT: tuple[str, ...] = ("dtype", "device", "activation", "bias")
POINT: tuple[str, ...] = (*AXES, *CONTEXT)
AXIS_LABELS: dict[str, str] = {
    "L": "depth L (activation layers)",
    "D": "input size D",
    "K": "hidden width K",
    "P": "output size P",
    "batch": "batch N (inputs per call)",
}
DTYPE_BYTES: dict[str, int] = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2}
#: Relative change beyond which a stability reference point is listed as drifting.
DRIFT_LIMIT = 0.10

Fixed = tuple[tuple[str, Any], ...]


# --------------------------------------------------------------------------- loading


def load_results(results_dir: str | Path) -> pd.DataFrame:
    """Every stored row of a results folder; ValueError (one line) when there is nothing to read."""
    directory = Path(results_dir)
    if not directory.is_dir():
        raise ValueError(f"no results folder at {directory}")
    try:
        frame = storage.read_results(directory)
    except storage.ResultsError as exc:
        raise ValueError(str(exc)) from None
    if frame.empty:
        raise ValueError(f"{directory} holds no results ({storage.RESULTS_FILE} missing or empty)")
    return frame


def ok_sweep(frame: pd.DataFrame, where: str = "") -> pd.DataFrame:
    """The rows plots and fits use: role 'sweep', status 'ok', a positive median time."""
    sweep = frame[frame["role"] == "sweep"]
    times = pd.to_numeric(sweep["time_median_s"], errors="coerce")
    ok = sweep[(sweep["status"] == "ok") & (times > 0)]
    if ok.empty:
        counts = sweep["status"].fillna("?").value_counts()
        seen = ", ".join(f"{status}: {n}" for status, n in counts.items())
        raise ValueError(f"no sweep rows with status ok{where} "
                         f"({seen or 'the table holds stability reference rows only'})")
    return ok.reset_index(drop=True)


# --------------------------------------------------------------------------- small helpers


def fmt_time(seconds: float | None, compact: bool = False) -> str:
    """Seconds with a unit a reader takes in at once: '3.12 ms', '450 us' ('3.1ms' compact)."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if abs(seconds) >= scale or unit == "ns":
            value = seconds / scale
            break
    if compact:
        text = f"{value:.2g}" if value < 10 else f"{value:.0f}"
        return f"{text}{unit}"
    return f"{value:.3g} {unit}"


def describe(fixed: Fixed | Mapping[str, Any], skip: Iterable[str] = ()) -> str:
    """A point's fixed axes as a title: 'L=8, K=256, P=1 (cpu float32 tanh)'."""
    items = dict(fixed)
    skip = set(skip)
    axes = [f"{'N' if a == 'batch' else a}={_int(items[a])}" for a in AXES
            if a in items and a not in skip and not _missing(items[a])]
    context = [str(items[c]) for c in ("device", "dtype", "activation")
               if c in items and c not in skip and not _missing(items[c])]
    if items.get("bias") is True and "bias" not in skip:
        context.append("bias")
    text = ", ".join(axes)
    return f"{text} ({' '.join(context)})" if context else text


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _int(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _group(frame: pd.DataFrame, keys: Iterable[str]) -> Iterable[tuple[Fixed, pd.DataFrame]]:
    keys = list(keys)
    for key, rows in frame.groupby(keys, dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        yield tuple(zip(keys, (_none_if_nan(k) for k in key), strict=True)), rows


def select(frame: pd.DataFrame, fixed: Fixed | Mapping[str, Any]) -> pd.DataFrame:
    """The rows matching every (column, value) of ``fixed``; None matches a missing value."""
    mask = pd.Series(True, index=frame.index)
    for column, value in dict(fixed).items():
        mask &= frame[column].isna() if value is None else frame[column] == value
    return frame[mask]


def _none_if_nan(value: Any) -> Any:
    return None if _missing(value) else value


def loglog_slope(x: Iterable[float], y: Iterable[float]) -> float:
    """Least-squares slope of log y against log x (the measured scaling exponent)."""
    lx, ly = np.log(np.asarray(list(x), float)), np.log(np.asarray(list(y), float))
    if len(lx) < 2 or np.ptp(lx) == 0:
        raise ValueError("a slope needs at least two distinct x values")
    return float(np.polyfit(lx, ly, 1)[0])


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


def iqr_band(row: Mapping[str, Any]) -> tuple[float, float]:
    """The quartiles of a row's per-call times (median ± IQR/2 when the raw times are absent)."""
    raw = row.get("raw_times_s")
    if raw is not None and len(raw) >= 2:
        q25, q75 = np.percentile(np.asarray(raw, float), [25, 75])
        return float(q25), float(q75)
    median = float(row["time_median_s"])
    half = row.get("time_iqr_s")
    half = 0.0 if _missing(half) else float(half) / 2
    return max(median - half, median * 1e-3), median + half


# --------------------------------------------------------------------------- the cost model


@lru_cache(maxsize=1)
@lru_cache(maxsize=65536)
def _theory(mode: str, L: int, D: int, K: int, P: int, batch: int, dtype: str) -> Any:
    try:
        return cost(mode, L, D, K, P, batch, dtype_bytes=DTYPE_BYTES.get(dtype, 4))
    except ValueError:  # a mode this jacbench does not model (a table from another version)
        return None  # a mode the cost model does not describe


def theory_flops(mode: str, point: Mapping[str, Any]) -> float | None:
    """FLOPs of ``mode`` at ``point`` by jacbench.theory.cost; None when the model does not cover it."""
    try:
        args = [int(point[a]) for a in AXES]
    except (KeyError, TypeError, ValueError):
        return None
    result = _theory(mode, *args, str(point.get("dtype", "float32")))
    return None if result is None else float(result.flops)


def _row_flops(rows: pd.DataFrame) -> float | None:
    values = pd.to_numeric(rows["flops"], errors="coerce").dropna()
    return float(values.median()) if len(values) and values.median() > 0 else None


def hand_written_modes() -> frozenset[str]:
    """Names of the hand-written modes (the candidates for the theoretical best)."""
    return frozenset(m.name for m in MODES.values() if m.family == "hand-written")


def mode_order(names: Iterable[str]) -> list[str]:
    """Modes in registry order (hand-written first), unknown names after, sorted."""
    names = set(names)
    try:
        from jacbench.modes.registry import MODES
        known = [m for m in MODES if m in names]
    except ImportError:
        known = []
    return known + sorted(names - set(known))


# --------------------------------------------------------------------------- scaling


@dataclass(frozen=True, eq=False)
class Sweep:
    """Rows (all modes) where only ``axis`` varies; ``fixed`` holds every other axis and context."""

    axis: str
    fixed: Fixed
    rows: pd.DataFrame = field(repr=False)

    @property
    def values(self) -> list[int]:
        return sorted(int(v) for v in self.rows[self.axis].unique())

    @property
    def title(self) -> str:
        return describe(self.fixed)


def find_sweeps(ok: pd.DataFrame, axis: str, min_values: int = 3,
                limit: int | None = None) -> list[Sweep]:
    """The groups where only ``axis`` varies, largest (most distinct values, then rows) first."""
    if axis not in AXES:
        raise ValueError(f"unknown axis {axis!r}; choose one of {', '.join(AXES)}")
    others = [c for c in POINT if c != axis]
    found = [Sweep(axis, fixed, rows) for fixed, rows in _group(ok, others)
             if rows[axis].nunique() >= min_values]
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

    @property
    def point(self) -> dict[str, Any]:
        return dict(self.fixed)


def fit_slopes(sweep: Sweep) -> list[SlopeFit]:
    """A fit per mode of the sweep (modes measured at two or more values of the axis)."""
    fits = []
    for mode in mode_order(sweep.rows["mode"].unique()):
        rows = sweep.rows[sweep.rows["mode"] == mode]
        by_x = rows.groupby(sweep.axis)
        x = tuple(int(v) for v in by_x.groups)
        t = tuple(float(by_x["time_median_s"].median()[v]) for v in x)
        measured = loglog_slope(x, t) if len(x) >= 2 else None
        flops = []
        for v in x:
            value = theory_flops(mode, {**dict(sweep.fixed), sweep.axis: v})
            flops.append(value if value is not None else _row_flops(by_x.get_group(v)))
        theory = scale = None
        model = None
        if all(f is not None and f > 0 for f in flops):
            model = tuple(float(f) for f in flops)  # type: ignore[arg-type]
            scale = float(np.exp(np.mean(np.log(t) - np.log(model))))
            theory = loglog_slope(x, model) if len(x) >= 2 else None
        fits.append(SlopeFit(sweep.axis, sweep.fixed, mode, x, t, measured, theory, scale, model))
    return fits


def theory_curve(fit: SlopeFit, num: int = 40) -> tuple[np.ndarray, np.ndarray] | None:
    """The scaled FLOP curve over the fit's range: dense where jacbench.theory.cost is available."""
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


# --------------------------------------------------------------------------- forward / reverse


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

    @property
    def title(self) -> str:
        return describe(self.fixed)


def _round_ratio(a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
    """Median of per-round ratios when both rows kept matching rounds, else ratio of medians."""
    ra, rb = a.get("round_medians_s"), b.get("round_medians_s")
    if ra is not None and rb is not None and len(ra) == len(rb) and len(ra) > 0:
        pairs = np.asarray(ra, float) / np.asarray(rb, float)
        if np.all(np.isfinite(pairs)) and np.all(pairs > 0):
            return float(np.median(pairs))
    return float(a["time_median_s"]) / float(b["time_median_s"])


def ratio_series(ok: pd.DataFrame, num: str = "forward", den: str = "reverse",
                 min_points: int = 2) -> list[RatioSeries]:
    """One series per (L, K, batch, context), over the points where both modes measured ok.

    Points with the same D/P are merged by their geometric mean; crossings are found by
    log-log interpolation, for the measurement and for the cost model at the same points.
    """
    both = ok[ok["mode"].isin([num, den])]
    series = []
    for fixed, rows in _group(both, ("L", "K", "batch", *CONTEXT)):
        points: list[tuple[int, int, float]] = []
        theory: dict[tuple[int, int], float | None] = {}
        for (D, P), cell in rows.groupby(["D", "P"]):
            a, b = cell[cell["mode"] == num], cell[cell["mode"] == den]
            if a.empty or b.empty:
                continue
            D, P = int(D), int(P)
            points.append((D, P, _round_ratio(a.iloc[0].to_dict(), b.iloc[0].to_dict())))
            point = {**dict(fixed), "D": D, "P": P}
            fn, fd = theory_flops(num, point), theory_flops(den, point)
            theory[(D, P)] = fn / fd if fn and fd else None
        x = sorted({D / P for D, P, _ in points})
        if len(x) < min_points:
            continue
        ratio = [_geomean(r for D, P, r in points if v == D / P) for v in x]
        model: list[float] | None = None
        if all(v is not None for v in theory.values()):
            model = [_geomean(theory[(D, P)] for D, P, _ in points if v == D / P) for v in x]
        series.append(RatioSeries(
            fixed, num, den, tuple(x), tuple(ratio), tuple(model) if model else None,
            tuple(crossings(x, ratio)), tuple(crossings(x, model)) if model else (),
            tuple(points)))
    series.sort(key=lambda s: -len(s.points))
    return series


def _geomean(values: Iterable[float | None]) -> float:
    return float(np.exp(np.mean(np.log(np.asarray(list(values), float)))))


# --------------------------------------------------------------------------- winners


def winners(ok: pd.DataFrame) -> pd.DataFrame:
    """Per point: the fastest mode, its time, the runner-up, their ratio and how many competed."""
    out = []
    for fixed, rows in _group(ok, POINT):
        times = rows.groupby("mode")["time_median_s"].median().sort_values()
        second = times.iloc[1] if len(times) > 1 else math.nan
        out.append({**dict(fixed), "best": times.index[0], "best_s": float(times.iloc[0]),
                    "second": times.index[1] if len(times) > 1 else None,
                    "margin": float(second / times.iloc[0]), "modes": len(times)})
    return pd.DataFrame(out)


@dataclass(frozen=True)
class BestGrid:
    """The fastest mode at each (D, P) of a grid at fixed L, K, batch and context.

    ``theory`` holds the cost model's cheapest (fewest FLOPs) among the hand-written modes
    measured in the grid, where the model covers them all.
    """

    fixed: Fixed
    D_values: tuple[int, ...]
    P_values: tuple[int, ...]
    best: dict[tuple[int, int], str]
    time_s: dict[tuple[int, int], float]
    theory: dict[tuple[int, int], str] | None

    @property
    def title(self) -> str:
        return describe(self.fixed)


def best_grids(ok: pd.DataFrame, min_side: int = 2) -> list[BestGrid]:
    """Grids with at least ``min_side`` distinct D and P values, the biggest first.

    A D (or P) value met at a single cell is dropped: it is a point of another sub-grid (the
    depth sweep's D = P = 64, say), and would leave an empty row and column in the map.
    """
    table = winners(ok)
    if table.empty:
        return []
    hand = hand_written_modes()
    grids = []
    for fixed, rows in _group(table, ("L", "K", "batch", *CONTEXT)):
        for _ in range(2):  # drop stray points from other sub-grids (a D seen at one P only)
            rows = rows[rows.groupby("D")["P"].transform("size") >= 2]
            rows = rows[rows.groupby("P")["D"].transform("size") >= 2]
        Ds = sorted(int(v) for v in rows["D"].unique())
        Ps = sorted(int(v) for v in rows["P"].unique())
        if len(Ds) < min_side or len(Ps) < min_side:
            continue
        best = {(int(r.D), int(r.P)): str(r.best) for r in rows.itertuples()}
        time_s = {(int(r.D), int(r.P)): float(r.best_s) for r in rows.itertuples()}
        key = dict(fixed)
        # Pure modes first: on a tie (chain's plan is pure forward or reverse) the map names the
        # pure mode, so the boundary shows where the model says chain's bracketing pays.
        candidates = sorted(hand & set(select(ok, fixed)["mode"]), key=lambda m: (m == "chain", m))
        theory: dict[tuple[int, int], str] | None = {}
        for cell in best:
            costs = {m: theory_flops(m, {**key, "D": cell[0], "P": cell[1]}) for m in candidates}
            if not candidates or any(c is None for c in costs.values()):
                theory = None
                break
            theory[cell] = min(costs, key=lambda m: costs[m])  # type: ignore[index]
        grids.append(BestGrid(fixed, tuple(Ds), tuple(Ps), best, time_s, theory))
    grids.sort(key=lambda g: -len(g.best))
    return grids


#: Shape regions for "which mode wins where", as predicates on a point (D, P, K, batch).
REGIONS: tuple[tuple[str, Callable[[Mapping[str, Any]], bool]], ...] = (
    ("D < P (D ≤ P/2), single input", lambda p: p["batch"] == 1 and 2 * p["D"] <= p["P"]),
    ("D ≈ P (within 2x), single input",
     lambda p: p["batch"] == 1 and p["P"] < 2 * p["D"] and p["D"] < 2 * p["P"]),
    ("D > P (D ≥ 2P), single input", lambda p: p["batch"] == 1 and p["D"] >= 2 * p["P"]),
    ("K < min(D, P), single input", lambda p: p["batch"] == 1 and p["K"] < min(p["D"], p["P"])),
    ("batched (N > 1)", lambda p: p["batch"] > 1),
)


@dataclass(frozen=True)
class RegionSummary:
    """How often each mode was fastest in a shape region, among points where 2+ modes ran ok."""

    region: str
    points: int
    wins: dict[str, int]
    median_margin: float | None  # winner's speed-up over the runner-up, median over points


def best_by_region(ok: pd.DataFrame) -> list[RegionSummary]:
    table = winners(ok)
    out = []
    for name, inside in REGIONS:
        rows = table[table["modes"] >= 2] if len(table) else table
        rows = rows[[bool(inside(r)) for r in rows.to_dict("records")]] if len(rows) else rows
        wins = rows["best"].value_counts().to_dict() if len(rows) else {}
        margin = float(rows["margin"].median()) if len(rows) else None
        out.append(RegionSummary(name, len(rows), {str(k): int(v) for k, v in wins.items()},
                                 margin))
    return out


# --------------------------------------------------------------------------- stability


@dataclass(frozen=True)
class Drift:
    """A reference measurement repeated at the start and end of a run."""

    mode: str
    point: Fixed
    start_s: float
    end_s: float

    @property
    def change(self) -> float:
        return self.end_s / self.start_s - 1


@dataclass(frozen=True)
class Stability:
    """Per run: the drift of the reference points; ``within`` is max |end/start - 1|."""

    run_id: str
    pairs: tuple[Drift, ...]
    unmatched: int  # reference rows without an ok partner

    @property
    def within(self) -> float | None:
        return max((abs(d.change) for d in self.pairs), default=None)

    def within_above(self, seconds: float) -> float | None:
        return max((abs(d.change) for d in self.pairs if d.start_s >= seconds), default=None)

    @property
    def beyond(self) -> list[Drift]:
        return [d for d in self.pairs if abs(d.change) > DRIFT_LIMIT]


def stability(frame: pd.DataFrame) -> list[Stability]:
    """Drift of each run's stability reference points (role 'stability-start' / '-end')."""
    refs = frame[frame["role"].isin(["stability-start", "stability-end"])]
    out = []
    for run_id, rows in refs.groupby(refs["run_id"].fillna(""), sort=True):
        pairs, unmatched = [], 0
        for fixed, cell in _group(rows, ("mode", *POINT)):
            start = cell[(cell["role"] == "stability-start") & (cell["status"] == "ok")]
            end = cell[(cell["role"] == "stability-end") & (cell["status"] == "ok")]
            if start.empty or end.empty:
                unmatched += len(cell)
                continue
            key = dict(fixed)
            mode = str(key.pop("mode"))
            pairs.append(Drift(mode, tuple(key.items()), float(start["time_median_s"].iloc[0]),
                               float(end["time_median_s"].iloc[0])))
        out.append(Stability(str(run_id), tuple(pairs), unmatched))
    return out


def stability_sentence(s: Stability) -> str:
    """'medians reproduced within 4.2% (over 6 (mode, point) pairs; 3.0% at points above 1 ms)'."""
    if not s.pairs:
        return f"no reference point was measured ok at both start and end ({s.unmatched} rows)"
    text = (f"medians reproduced within {100 * s.within:.1f}% "
            f"(over {len(s.pairs)} (mode, point) pairs")
    above = s.within_above(1e-3)
    if above is not None and above != s.within:
        text += f"; {100 * above:.1f}% at points above 1 ms"
    if s.unmatched:
        text += f"; {s.unmatched} rows without an ok partner"
    return text + ")"
