"""analysis.fits: slopes and sweeps recovered from synthetic tables of known law."""

from __future__ import annotations

import numpy as np
import pytest
from factories import default_rows, frame_of, grid, make_rows

from jacbench.analysis.fits import all_slopes, find_sweeps, fit_slopes, loglog_slope, theory_curve
from jacbench.analysis.table import ok_sweep
from jacbench.theory.cost import cost


def test_loglog_slope_recovers_a_power_law() -> None:
    x = [1, 2, 4, 8, 16]
    assert loglog_slope(x, [3e-6 * v**1.5 for v in x]) == pytest.approx(1.5)
    with pytest.raises(ValueError):
        loglog_slope([4, 4], [1, 2])


def test_fit_slopes_recover_exponent_and_model_slope() -> None:
    frame = frame_of(make_rows(grid(L=[1, 2, 4, 8, 16, 32]),
                               time=lambda m, p: 3e-6 * p["L"] ** (1.5 if m == "forward" else 1.0)))
    frame["predicted_s"] = None  # a table written before the time model: the FLOP curve
    ok = ok_sweep(frame)
    (sweep,) = find_sweeps(ok, "L")
    assert sweep.values == [1, 2, 4, 8, 16, 32]
    assert find_sweeps(ok, "D") == []  # D never varies
    fits = {f.mode: f for f in fit_slopes(sweep)}
    assert fits["forward"].measured == pytest.approx(1.5)
    assert fits["reverse"].measured == pytest.approx(1.0)
    L = np.array([1, 2, 4, 8, 16, 32])
    model = [cost("forward", int(v), 64, 128, 64).flops for v in L]
    assert fits["forward"].theory == pytest.approx(loglog_slope(L, model))
    # the fitted constant maps the model onto the measurement in log space
    residual = np.log(fits["forward"].time_s) - np.log(fits["forward"].scale * np.array(model))
    assert residual.mean() == pytest.approx(0, abs=1e-12)
    x, t = theory_curve(fits["forward"])
    assert x[0] == 1 and x[-1] == 32 and len(x) > len(L) and len(t) == len(x)
    assert fits["forward"].predicted_s is None


def test_the_theory_curve_is_the_calibrated_prediction_where_the_table_has_one() -> None:
    rows = make_rows(grid(L=[1, 2, 4, 8]), ("reverse",))
    (sweep,) = find_sweeps(ok_sweep(frame_of(rows)), "L")
    (fit,) = fit_slopes(sweep)
    x, t = theory_curve(fit)
    assert list(x) == [1, 2, 4, 8]
    assert list(t) == pytest.approx([r["predicted_s"] for r in rows])
    assert fit.predicted == pytest.approx(loglog_slope(x, t))


def test_sweeps_are_found_inside_a_union_of_grids() -> None:
    ok = ok_sweep(frame_of(default_rows()))
    d_sweeps = find_sweeps(ok, "D")
    assert len(d_sweeps) == 4  # one per P of the crossover grid
    assert all(s.values == [4, 32, 256, 1024] for s in d_sweeps)
    (depth,) = find_sweeps(ok, "L")
    assert depth.values == [1, 2, 4, 8, 16]
    (width,) = find_sweeps(ok, "K")
    assert width.values == [16, 64, 128, 256]  # K=128 comes from the depth grid
    fixed = dict(width.fixed)
    assert fixed["L"] == 4 and (fixed["device"], fixed["dtype"]) == ("cpu", "float32")
    with pytest.raises(ValueError, match="unknown axis"):
        find_sweeps(ok, "Q")


def test_a_mode_the_model_does_not_know_uses_its_stored_flops() -> None:
    rows = make_rows(grid(L=[1, 2, 4]), ("forward",))
    for row in rows:
        row["mode"] = "from-another-version"
    (fit,) = fit_slopes(find_sweeps(ok_sweep(frame_of(rows)), "L")[0])
    stored = [cost("forward", v, 64, 128, 64).flops for v in (1, 2, 4)]
    assert fit.theory_flops == pytest.approx(stored)
    assert fit.theory == pytest.approx(loglog_slope([1, 2, 4], stored))


def test_all_slopes_covers_every_axis_that_varies() -> None:
    fits = all_slopes(ok_sweep(frame_of(default_rows())))
    assert {f.axis for f in fits} == {"L", "D", "K", "P", "batch"}
    assert all(f.mode in ("forward", "reverse", "jacrev") for f in fits)
