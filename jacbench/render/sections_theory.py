"""The report's sections on the measurements against the cost model: medians, slopes, the
forward/reverse crossover, winners per region, efficiency, peak memory, and what was not ok.

Each section takes the table (or its ok sweep rows) and returns its markdown lines (a blank line
before each block). Every number comes from ``jacbench.analysis``, the same ones the plots draw.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from jacbench.analysis.crossover import RatioSeries, ratio_series
from jacbench.analysis.fits import find_sweeps, fit_slopes
from jacbench.analysis.table import is_missing
from jacbench.analysis.winners import best_by_region
from jacbench.catalog import mode_order
from jacbench.render.format import fmt_bytes, fmt_percent, fmt_point, fmt_time
from jacbench.render.markdown import capped_table, table
from jacbench.results.point import AXES, POINT_FIELDS, point_label
from jacbench.results.schema import MACHINE_COLUMNS, Role, Status

#: A crossover this close to D = P (relative) is said to be at D = P.
NEAR_DIAGONAL = 0.10
#: Failed points listed at most per (status, mode, reason).
FAILED_POINTS_SHOWN = 6
#: Sweeps of one axis fitted at most in the slopes table, the largest first.
SWEEPS_SHOWN = 10


def medians(frame: pd.DataFrame) -> list[str]:
    """Median time per point and mode, a table per machine, device and dtype (a folder may hold
    several machines' rows: each keeps its own table)."""
    sweep = frame[frame["role"] == Role.SWEEP]
    lines = ["", "## Median time per call",
             "", "Rows are points, columns modes; the fastest ok mode of each point is in bold, "
             "a mode that did not measure ok shows its status (see the last section)."]
    keys = [*MACHINE_COLUMNS, "device", "dtype"]
    groups = list(sweep.groupby(keys, sort=True, dropna=False))
    for (host, name, *_, device, dtype), rows in groups:
        if len(groups) > 1:
            lines += ["", f"### {device} {dtype} on {host} ({name})"]
        lines += _median_table(rows)
    return lines


def _median_table(sweep: pd.DataFrame) -> list[str]:
    modes = mode_order(sweep["mode"].dropna().unique())
    varying = [c for c in ("activation", "bias", "seed") if sweep[c].nunique() > 1]
    keys = list(POINT_FIELDS)
    first = sweep.drop_duplicates([*keys, "mode"])  # a mode's row at each point
    point = first.groupby(keys, dropna=False, sort=True).ngroup()
    ok = first["status"] == Status.OK
    times = pd.to_numeric(first["time_median_s"], errors="coerce").where(ok)
    best = times.groupby(point).transform("min").where(ok.groupby(point).transform("sum") >= 2)
    cells = {(p, m): _median_cell(status, t, b) for p, m, status, t, b in
             zip(point, first["mode"], first["status"], times, best, strict=True)}
    heads = first.assign(_point=point).drop_duplicates("_point").sort_values("_point")
    rows = [[*(None if is_missing(r[a]) else int(r[a]) for a in AXES),
             *(r[c] for c in varying), *(cells.get((r["_point"], m), "") for m in modes)]
            for r in heads[[*keys, "_point"]].to_dict("records")]
    return capped_table(["L", "D", "K", "P", "N", *varying, *modes], rows)


def _median_cell(status: str, time_s: float, best: float) -> str:
    """A mode's median at a point, bold when fastest; its status in italics when not ok."""
    if status != Status.OK:
        return f"_{status}_"
    return f"**{fmt_time(time_s)}**" if time_s == best else fmt_time(time_s)


def slopes(ok: pd.DataFrame) -> list[str]:
    """Measured slope beside the model's, for the largest sweeps of every axis."""
    lines = ["", "## Scaling: fitted slopes against the cost model", "",
             "For each group of points where one axis varies and the others are fixed: the "
             "measured slope d log t / d log X (least squares) beside the model's "
             "d log FLOPs / d log X over the same points. A slope below the model's means fixed "
             "overheads (dispatch, memory) dominate at the small end."]
    sweeps = {axis: find_sweeps(ok, axis) for axis in AXES}
    fits = [fit for found in sweeps.values() for sweep in found[:SWEEPS_SHOWN]
            for fit in fit_slopes(sweep)]
    rows = [[fit.axis, fmt_point(fit.fixed, skip=(fit.axis,)), fit.mode,
             f"{min(fit.x)}..{max(fit.x)}", len(fit.x),
             "-" if fit.measured is None else f"{fit.measured:.2f}",
             "-" if fit.theory is None else f"{fit.theory:.2f}"] for fit in fits]
    if not rows:
        return [*lines, "", "No axis varies over 3 or more values with the others fixed."]
    more = {axis: len(found) for axis, found in sweeps.items() if len(found) > SWEEPS_SHOWN}
    if more:
        lines += ["", f"Only the {SWEEPS_SHOWN} largest sweeps of each axis are fitted here (of "
                  + ", ".join(f"{n} along {axis}" for axis, n in more.items()) + ")."]
    return lines + capped_table(["axis", "fixed", "mode", "range", "points", "measured slope",
                                 "model slope"], rows)


def crossover(ok: pd.DataFrame) -> list[str]:
    """Where the forward/reverse ratio crosses 1, measured and modelled, per group."""
    lines = ["", "## Forward against reverse: the crossover", ""]
    series = ratio_series(ok)
    if not series:
        return [*lines, "Not measured: no group at fixed L, K, N where both forward and reverse "
                "measured ok at two or more values of D/P."]
    lines.append("The model says forward costs (L-1)·K²·D + P·K·D and reverse (L-1)·K²·P + P·K·D "
                 "multiply-adds beyond the primal, so they cross at D = P. Measured ratios are "
                 "taken within each round, then the median over rounds.")
    lines.append("")
    return lines + [f"- {fmt_point(s.fixed)}: {_crossover_sentence(s)}" for s in series]


def _crossover_sentence(s: RatioSeries) -> str:
    lo, hi = min(s.d_over_p), max(s.d_over_p)
    model = ", ".join(f"{x:.2g}" for x in s.theory_crossings) or "none in range"
    if not s.measured_crossings:
        faster = s.num if s.ratio[0] < 1 else s.den
        return (f"{faster} is faster over the whole measured range D/P = {lo:.2g}..{hi:.2g} "
                f"(model crossover: {model}).")
    where = ", ".join(f"{x:.2g}" for x in s.measured_crossings)
    text = f"measured {s.num}/{s.den} ratio crosses 1 at D/P ≈ {where} (model: {model})"
    if len(s.measured_crossings) > 1:
        return text + "; it crosses more than once: near-ties or noise."
    x = s.measured_crossings[0]
    if 1 - NEAR_DIAGONAL <= x <= 1 + NEAR_DIAGONAL:
        return text + f", at D = P within {NEAR_DIAGONAL:.0%}."
    side = "below" if x < 1 else "above"
    return text + f": {side} D = P, so {s.num} wins only while D < {x:.2g}·P."


def regions(ok: pd.DataFrame) -> list[str]:
    """How often each mode won per shape region, and by how much."""
    lines = ["", "## Best mode per shape region", "",
             "Counted over points where two or more modes measured ok; the margin is the "
             "winner's speed-up over the runner-up (median over the region's points)."]
    rows = []
    for r in best_by_region(ok):
        wins = ", ".join(f"{m} {n}" for m, n in sorted(r.wins.items(), key=lambda kv: -kv[1]))
        margin = "-" if r.median_margin is None else f"{r.median_margin:.2f}x"
        rows.append([r.region, r.points, wins or "no points", margin])
    return lines + table(["region", "points", "fastest (points won)", "median margin"], rows)


def memory(ok: pd.DataFrame) -> list[str]:
    """Peak memory per mode: the cost model's state beside what CUDA's allocator measured."""
    lines = ["", "## Peak memory", "",
             "The model counts the state a mode holds beyond weights, input and Jacobian (reverse: "
             "L·K stored activations and a P×K adjoint per input; forward: a K×D tangent). "
             "Measured peaks come from `torch.cuda.max_memory_allocated` around one call, so "
             "they exist for CUDA rows only; on the CPU no per-call statistic is honest enough."]
    largest = ok.loc[ok.groupby(["device", "dtype", "mode"])["model_peak_bytes"].idxmax()]
    rows = [[r["device"], r["mode"], point_label(r), fmt_bytes(r["model_peak_bytes"]),
             fmt_bytes(r["measured_peak_bytes"]),
             _ratio(r["measured_peak_bytes"], r["model_peak_bytes"])]
            for r in largest.to_dict("records")]
    return [*lines, "", "At each mode's largest modelled point:",
            *table(["device", "mode", "point", "model", "measured", "measured / model"], rows)]


def _ratio(measured: Any, model: Any) -> str:
    known = measured is not None and not pd.isna(measured)
    return f"{measured / model:.2f}" if known and model else "-"


def efficiency(ok: pd.DataFrame) -> list[str]:
    """Floor / measured median per device, dtype and mode: the median and the best point."""
    eff = pd.to_numeric(ok["efficiency"], errors="coerce")
    rows = ok.assign(efficiency=eff)[eff > 0]
    lines = ["", "## Efficiency against the machine's floor", ""]
    if rows.empty:
        return [*lines, "No efficiency recorded (the sweep measured no ceilings)."]
    lines.append("Efficiency = floor / measured median, the floor being the time the measured "
                 "ceilings allow for the model's FLOPs and bytes.")
    cells = []
    for (device, dtype, mode), g in rows.groupby(["device", "dtype", "mode"], sort=True):
        top = g.loc[g["efficiency"].idxmax()].to_dict()
        cells.append([device, dtype, mode, fmt_percent(g["efficiency"].median()),
                      fmt_percent(top["efficiency"]), point_label(top)])
    return lines + table(["device", "dtype", "mode", "median", "best", "best at"], cells)


def not_ok(frame: pd.DataFrame) -> list[str]:
    """Rows not measured ok, grouped by status, mode and reason, with their points."""
    lines = ["", "## Points not measured ok"]
    bad = frame[frame["status"] != Status.OK]
    if bad.empty:
        return [*lines, "", "Every row measured ok."]
    rows = []
    for (status, mode, reason), g in bad.groupby(
            [bad["status"].fillna("?"), bad["mode"].fillna("?"), bad["reason"].fillna("")],
            sort=True):
        labels = [point_label(r) + ("" if r["role"] == Role.SWEEP else f" [{r['role']}]")
                  for r in g.head(FAILED_POINTS_SHOWN).to_dict("records")]
        shown = "; ".join(labels)
        if len(g) > FAILED_POINTS_SHOWN:
            shown += f"; and {len(g) - FAILED_POINTS_SHOWN} more"
        rows.append([status, mode, len(g), reason or "-", shown])
    return lines + table(["status", "mode", "rows", "reason", "points"], rows)
