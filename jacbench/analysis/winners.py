"""Which mode is fastest where: per point, on each D×P grid (beside the cost model's choice),
and per shape region.

A point's winner is the mode with the smallest median; its margin is the runner-up's time over
the winner's. The model's choice is the hand-written mode with the fewest FLOPs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from jacbench.analysis.cost_lookup import theory_flops
from jacbench.analysis.table import Fixed, group_by, mode_medians, select
from jacbench.catalog import hand_written
from jacbench.results.point import CONTEXT, POINT_FIELDS

Cell = tuple[int, int]  # (D, P)


def winners(ok: pd.DataFrame) -> pd.DataFrame:
    """Per point: the fastest mode, its time, the runner-up, their ratio and how many competed."""
    columns = [*POINT_FIELDS, "best", "best_s", "second", "margin", "modes"]
    if ok.empty:
        return pd.DataFrame(columns=columns)
    ranked = mode_medians(ok, POINT_FIELDS)
    first = ranked[ranked["rank"] == 0].set_index("point")
    second = ranked[ranked["rank"] == 1].set_index("point").reindex(first.index)
    table = first[list(POINT_FIELDS)].assign(
        best=first["mode"], best_s=first["time_median_s"].astype(float),
        second=second["mode"].astype(object).where(second["mode"].notna(), None),
        margin=second["time_median_s"].astype(float) / first["time_median_s"].astype(float),
        modes=ranked.groupby("point").size())
    return table.reset_index(drop=True)[columns]


@dataclass(frozen=True)
class BestGrid:
    """The fastest mode at each (D, P) of a grid at fixed L, K, batch and context.

    ``theory`` holds the cost model's cheapest (fewest FLOPs) among the hand-written modes
    measured in the grid, where the model covers them all.
    """

    fixed: Fixed
    D_values: tuple[int, ...]
    P_values: tuple[int, ...]
    best: dict[Cell, str]
    time_s: dict[Cell, float]
    theory: dict[Cell, str] | None


def best_grids(ok: pd.DataFrame, min_side: int = 2) -> list[BestGrid]:
    """Grids with at least ``min_side`` distinct D and P values, the biggest first.

    A D (or P) value met at a single cell is dropped: it is a point of another sub-grid (the
    depth sweep's D = P = 64, say), and would leave an empty row and column in the map.
    """
    table = winners(ok)
    if table.empty:
        return []
    grids = []
    for fixed, rows in group_by(table, ("L", "K", "batch", *CONTEXT)):
        for _ in range(2):  # drop stray points from other sub-grids (a D seen at one P only)
            rows = rows[rows.groupby("D")["P"].transform("size") >= 2]
            rows = rows[rows.groupby("P")["D"].transform("size") >= 2]
        Ds = sorted(int(v) for v in rows["D"].unique())
        Ps = sorted(int(v) for v in rows["P"].unique())
        if len(Ds) < min_side or len(Ps) < min_side:
            continue
        best = {(int(r.D), int(r.P)): str(r.best) for r in rows.itertuples()}
        time_s = {(int(r.D), int(r.P)): float(r.best_s) for r in rows.itertuples()}
        theory = _cheapest(fixed, list(best), set(select(ok, fixed)["mode"]))
        grids.append(BestGrid(fixed, tuple(Ds), tuple(Ps), best, time_s, theory))
    grids.sort(key=lambda g: -len(g.best))
    return grids


def _cheapest(fixed: Fixed, cells: list[Cell], measured: set[str]) -> dict[Cell, str] | None:
    """Per cell, the measured hand-written mode with the fewest FLOPs; None where the model
    does not cover them all."""
    # Pure modes first: on a tie (chain's plan is pure forward or reverse) the map names the
    # pure mode, so the boundary shows where the model says chain's bracketing pays.
    candidates = sorted(hand_written() & measured, key=lambda m: (m == "chain", m))
    if not candidates:
        return None
    theory: dict[Cell, str] = {}
    for D, P in cells:
        costs = {m: theory_flops(m, {**dict(fixed), "D": D, "P": P}) for m in candidates}
        if any(c is None for c in costs.values()):
            return None
        theory[(D, P)] = min(candidates, key=lambda m: costs[m])  # type: ignore[arg-type,return-value]
    return theory


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
    """A summary per region of ``REGIONS``, in that order."""
    table = winners(ok)
    table = table[table["modes"] >= 2] if len(table) else table
    points = table[["D", "P", "K", "batch"]].to_dict("records")  # what the regions ask about
    out = []
    for name, inside in REGIONS:
        rows = table[[bool(inside(p)) for p in points]] if len(table) else table
        wins = rows["best"].value_counts().to_dict() if len(rows) else {}
        margin = float(rows["margin"].median()) if len(rows) else None
        out.append(RegionSummary(name, len(rows), {str(k): int(v) for k, v in wins.items()},
                                 margin))
    return out
