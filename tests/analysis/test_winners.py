"""analysis.winners: the fastest mode per point, per D×P grid (with the model's), per region."""

from __future__ import annotations

import pytest
from factories import frame_of, grid, make_rows

from jacbench.analysis.table import ok_sweep
from jacbench.analysis.winners import best_by_region, best_grids, winners


def by_shape(m: str, p: dict) -> float:
    """forward costs D, reverse P, anything else a flat 500 (microseconds)."""
    return 1e-6 * (p["D"] if m == "forward" else p["P"] if m == "reverse" else 500)


def test_winner_runner_up_and_margin_per_point() -> None:
    ok = ok_sweep(frame_of(make_rows(grid(D=[4], P=[64]), ("forward", "reverse", "jacrev"),
                                     time=by_shape)))
    (row,) = winners(ok).to_dict("records")
    assert (row["best"], row["second"], row["modes"]) == ("forward", "reverse", 3)
    assert row["best_s"] == pytest.approx(4e-6) and row["margin"] == pytest.approx(16)


def test_best_mode_per_cell_and_model_boundary() -> None:
    points = grid(D=[4, 64, 1024], P=[4, 64, 1024])
    ok = ok_sweep(frame_of(make_rows(points, ("forward", "reverse", "jacrev"), time=by_shape)))
    (g,) = best_grids(ok)
    assert g.best[(4, 1024)] == "forward" and g.best[(1024, 4)] == "reverse"
    assert g.best[(1024, 1024)] == "jacrev" and g.time_s[(1024, 1024)] == pytest.approx(5e-4)
    assert g.theory is not None
    assert g.theory[(4, 1024)] == "forward" and g.theory[(1024, 4)] == "reverse"


def test_stray_points_of_other_sub_grids_are_dropped_from_the_map() -> None:
    points = grid(D=[4, 64], P=[4, 64]) + grid(D=[1024], P=[4])  # D=1024 met at one P only
    (g,) = best_grids(ok_sweep(frame_of(make_rows(points, time=by_shape))))
    assert g.D_values == (4, 64) and g.P_values == (4, 64)


def test_no_model_boundary_without_hand_written_modes() -> None:
    points = grid(D=[4, 64], P=[4, 64])
    (g,) = best_grids(ok_sweep(frame_of(make_rows(points, ("jacrev", "jacfwd")))))
    assert g.theory is None


def test_best_by_region_counts_winners() -> None:
    points = grid(D=[4, 1024], P=[4, 1024]) + grid(batch=[16])
    ok = ok_sweep(frame_of(make_rows(points, time=by_shape)))
    regions = {r.region.split(",")[0]: r for r in best_by_region(ok)}
    assert regions["D < P (D ≤ P/2)"].wins == {"forward": 1}
    assert regions["D > P (D ≥ 2P)"].wins == {"reverse": 1}
    assert regions["D < P (D ≤ P/2)"].median_margin == pytest.approx(256)
    assert regions["batched (N > 1)"].points == 1
