"""analysis.crossover: the forward/reverse ratio against D/P and where it crosses 1."""

from __future__ import annotations

import pytest
from factories import frame_of, grid, make_rows

from jacbench.analysis.crossover import crossings, ratio_series, round_ratio
from jacbench.analysis.table import ok_sweep


def test_crossover_is_found_by_log_interpolation() -> None:
    # t_fwd / t_rev = 2 · D/P: the ratio crosses 1 at D/P = 0.5
    points = grid(D=[4, 16, 64, 256], P=[64])
    rows = make_rows(points, time=lambda m, p: 1e-6 * (2 * p["D"] if m == "forward" else p["P"]))
    for row in rows:
        row["round_medians_s"] = [row["time_median_s"]] * 3
    (series,) = ratio_series(ok_sweep(frame_of(rows)))
    assert series.d_over_p == pytest.approx((1 / 16, 1 / 4, 1, 4))
    assert series.measured_crossings == pytest.approx((0.5,))
    assert series.theory is not None and len(series.theory_crossings) == 1
    assert crossings([1, 2, 4], [2, 3, 4]) == []
    assert crossings([1, 4], [0.5, 2]) == pytest.approx([2.0])


def test_ratio_is_taken_within_rounds() -> None:
    a = {"round_medians_s": [1.0, 4.0, 2.0], "time_median_s": 2.0}
    b = {"round_medians_s": [1.0, 2.0, 2.0], "time_median_s": 2.0}
    assert round_ratio(a, b) == pytest.approx(1.0)  # rounds: 1, 2, 1
    assert round_ratio({**a, "round_medians_s": [1.0]}, b) == pytest.approx(1.0)


def test_groups_with_too_few_ratios_are_left_out() -> None:
    one = make_rows(grid(D=[8], P=[64], K=[16]))  # a single D/P at K=16
    two = make_rows(grid(D=[8, 64], P=[64], K=[32]))
    (series,) = ratio_series(ok_sweep(frame_of(one + two)))
    assert dict(series.fixed)["K"] == 32 and len(series.points) == 2
    assert ratio_series(ok_sweep(frame_of(one)), min_points=1)[0].d_over_p == (0.125,)
