"""analysis: slopes, crossovers, winners and drift recovered from synthetic tables of known law."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from jacbench import analysis, storage
from jacbench.theory.cost import cost

Point = dict[str, Any]
TimeFn = Callable[[str, Point], float]


def grid(**axes: Iterable[int]) -> list[Point]:
    """The product of the given axis values, defaults L=4 D=64 K=128 P=64 batch=1."""
    base = {"L": [4], "D": [64], "K": [128], "P": [64], "batch": [1]}
    base.update({k: list(v) for k, v in axes.items()})
    names = list(base)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*base.values())]


def flop_time(mode: str, p: Point) -> float:
    """A machine that runs every mode at its own constant FLOP rate: the model exactly."""
    rate = {"forward": 2e10, "reverse": 2.5e10, "jacrev": 1e10}.get(mode, 5e9)
    return cost(mode, p["L"], p["D"], p["K"], p["P"], p["batch"]).flops / rate + 2e-5


def make_rows(points: Iterable[Point], modes: Iterable[str] = ("forward", "reverse"),
              time: TimeFn = flop_time, role: str = "sweep", run_id: str = "run-1",
              device: str = "cpu", **extra: Any) -> list[dict[str, Any]]:
    """Full result rows whose medians follow ``time`` and whose raw times spread ±5% around it."""
    rows = []
    for p, mode in itertools.product(list(points), list(modes)):
        t = time(mode, p)
        c = cost(mode, p["L"], p["D"], p["K"], p["P"], p["batch"])
        rows.append({
            "role": role, "mode": mode, **p, "dtype": "float32", "device": device,
            "activation": "tanh", "bias": False, "seed": 0, "status": "ok", "reason": "",
            "rel_error": 1e-7, "time_median_s": t, "time_iqr_s": 0.05 * t, "repeats": 9,
            "number_per_run": 10, "raw_times_s": list(t * np.linspace(0.95, 1.05, 9)),
            "round_medians_s": [t * 0.98, t, t * 1.02], "rounds": 3, "noisy": False,
            "macs": c.macs, "flops": c.flops, "bytes_moved": c.bytes_moved,
            "model_peak_bytes": c.peak_extra_bytes, "peak_flops": 1.7e11,
            "peak_bandwidth": 4e10,
            "floor_s": max(c.flops / 1.7e11, c.bytes_moved / 4e10),
            "efficiency": max(c.flops / 1.7e11, c.bytes_moved / 4e10) / t,
            "probe_before_gflops": 160.0, "probe_after_gflops": 150.0, "retries": 0,
            "load_avg_1m": 0.4, "measured_at": "2025-01-01T00:00:00Z", "schema_version": 1,
            "jacbench_version": "0.1.0", "torch_version": "2.13.0", "cuda_version": "",
            "device_name": "AMD EPYC test" if device == "cpu" else "NVIDIA H100",
            "cpu_model": "AMD EPYC test", "num_threads": 2, "host": "testhost",
            "platform": "Linux-x86_64", "python_version": "3.11", "git_commit": "abc1234",
            "run_id": run_id, "started_at": "2025-01-01T00:00:00Z", **extra,
        })
    return rows


def frame_of(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return storage.to_table(rows).to_pandas()


def default_rows() -> list[dict[str, Any]]:
    """A table shaped like the default preset: crossover grid, depth, width, batch, stability."""
    modes = ("forward", "reverse", "jacrev")
    rows = make_rows(grid(L=[4], K=[128], D=[4, 32, 256, 1024], P=[4, 32, 256, 1024]), modes)
    rows += make_rows(grid(L=[1, 2, 4, 8, 16]), modes)
    rows += make_rows(grid(K=[16, 64, 256]), modes)
    rows += make_rows(grid(batch=[4, 16, 64]), modes)
    start = make_rows(grid(), modes, role="stability-start")
    end = make_rows(grid(), modes, role="stability-end",
                    time=lambda m, p: flop_time(m, p) * (1.25 if m == "jacrev" else 1.03))
    return rows + start + end


def write_default(directory: Path) -> Path:
    storage.write_results(directory, frame_of(default_rows()))
    return directory


# --------------------------------------------------------------------------- tests


def test_loglog_slope_recovers_a_power_law() -> None:
    x = [1, 2, 4, 8, 16]
    assert analysis.loglog_slope(x, [3e-6 * v**1.5 for v in x]) == pytest.approx(1.5)
    with pytest.raises(ValueError):
        analysis.loglog_slope([4, 4], [1, 2])


def test_fit_slopes_recover_exponent_and_model_slope() -> None:
    frame = frame_of(make_rows(grid(L=[1, 2, 4, 8, 16, 32]),
                               time=lambda m, p: 3e-6 * p["L"] ** (1.5 if m == "forward" else 1.0)))
    ok = analysis.ok_sweep(frame)
    (sweep,) = analysis.find_sweeps(ok, "L")
    assert sweep.values == [1, 2, 4, 8, 16, 32]
    assert analysis.find_sweeps(ok, "D") == []  # D never varies
    fits = {f.mode: f for f in analysis.fit_slopes(sweep)}
    assert fits["forward"].measured == pytest.approx(1.5)
    assert fits["reverse"].measured == pytest.approx(1.0)
    L = np.array([1, 2, 4, 8, 16, 32])
    model = [cost("forward", int(v), 64, 128, 64).flops for v in L]
    assert fits["forward"].theory == pytest.approx(analysis.loglog_slope(L, model))
    # the fitted constant maps the model onto the measurement in log space
    residual = np.log(fits["forward"].time_s) - np.log(fits["forward"].scale * np.array(model))
    assert residual.mean() == pytest.approx(0, abs=1e-12)
    x, t = analysis.theory_curve(fits["forward"])
    assert x[0] == 1 and x[-1] == 32 and len(x) > len(L) and len(t) == len(x)


def test_sweeps_are_found_inside_a_union_of_grids() -> None:
    ok = analysis.ok_sweep(frame_of(default_rows()))
    d_sweeps = analysis.find_sweeps(ok, "D")
    assert len(d_sweeps) == 4  # one per P of the crossover grid
    assert all(s.values == [4, 32, 256, 1024] for s in d_sweeps)
    (depth,) = analysis.find_sweeps(ok, "L")
    assert depth.values == [1, 2, 4, 8, 16]
    (width,) = analysis.find_sweeps(ok, "K")
    assert width.values == [16, 64, 128, 256]  # K=128 comes from the depth grid
    assert "L=4" in width.title and "(cpu float32 tanh)" in width.title


def test_crossover_is_found_by_log_interpolation() -> None:
    # t_fwd / t_rev = 2 · D/P: the ratio crosses 1 at D/P = 0.5
    points = grid(D=[4, 16, 64, 256], P=[64])
    rows = make_rows(points, time=lambda m, p: 1e-6 * (2 * p["D"] if m == "forward" else p["P"]))
    for row in rows:
        row["round_medians_s"] = [row["time_median_s"]] * 3
    (series,) = analysis.ratio_series(analysis.ok_sweep(frame_of(rows)))
    assert series.d_over_p == pytest.approx((1 / 16, 1 / 4, 1, 4))
    assert series.measured_crossings == pytest.approx((0.5,))
    assert series.theory is not None and len(series.theory_crossings) == 1
    assert analysis.crossings([1, 2, 4], [2, 3, 4]) == []
    assert analysis.crossings([1, 4], [0.5, 2]) == pytest.approx([2.0])


def test_ratio_is_taken_within_rounds() -> None:
    a = {"round_medians_s": [1.0, 4.0, 2.0], "time_median_s": 2.0}
    b = {"round_medians_s": [1.0, 2.0, 2.0], "time_median_s": 2.0}
    assert analysis._round_ratio(a, b) == pytest.approx(1.0)  # rounds: 1, 2, 1
    assert analysis._round_ratio({**a, "round_medians_s": [1.0]}, b) == pytest.approx(1.0)


def test_best_mode_per_cell_and_model_boundary() -> None:
    points = grid(D=[4, 64, 1024], P=[4, 64, 1024])
    ok = analysis.ok_sweep(frame_of(make_rows(points, ("forward", "reverse", "jacrev"),
                                              time=lambda m, p: 1e-6 * (
                                                  p["D"] if m == "forward" else
                                                  p["P"] if m == "reverse" else 500))))
    (g,) = analysis.best_grids(ok)
    assert g.best[(4, 1024)] == "forward" and g.best[(1024, 4)] == "reverse"
    assert g.best[(1024, 1024)] == "jacrev" and g.time_s[(1024, 1024)] == pytest.approx(5e-4)
    assert g.theory is not None
    assert g.theory[(4, 1024)] == "forward" and g.theory[(1024, 4)] == "reverse"


def test_best_by_region_counts_winners() -> None:
    points = grid(D=[4, 1024], P=[4, 1024]) + grid(batch=[16])
    ok = analysis.ok_sweep(frame_of(make_rows(points, time=lambda m, p: 1e-6 * (
        p["D"] if m == "forward" else p["P"]))))
    regions = {r.region.split(",")[0]: r for r in analysis.best_by_region(ok)}
    assert regions["D < P (D ≤ P/2)"].wins == {"forward": 1}
    assert regions["D > P (D ≥ 2P)"].wins == {"reverse": 1}
    assert regions["D < P (D ≤ P/2)"].median_margin == pytest.approx(256)
    assert regions["batched (N > 1)"].points == 1


def test_stability_drift_per_run() -> None:
    frame = frame_of(default_rows() + make_rows(
        grid(), role="stability-start", run_id="run-2") + make_rows(
        grid(), role="stability-end", run_id="run-2",
        time=lambda m, p: flop_time(m, p) * 0.95))
    runs = {s.run_id: s for s in analysis.stability(frame)}
    assert runs["run-1"].within == pytest.approx(0.25)
    assert [d.mode for d in runs["run-1"].beyond] == ["jacrev"]
    assert runs["run-2"].within == pytest.approx(0.05)
    assert "within 25.0%" in analysis.stability_sentence(runs["run-1"])


def test_stability_counts_rows_without_an_ok_partner() -> None:
    rows = make_rows(grid(), role="stability-start") + make_rows(
        grid(), role="stability-end", status="error", reason="boom")
    (s,) = analysis.stability(frame_of(rows))
    assert s.pairs == () and s.unmatched == 4 and s.within is None
    assert "no reference point" in analysis.stability_sentence(s)


def test_user_errors_are_one_line_value_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no results folder"):
        analysis.load_results(tmp_path / "missing")
    with pytest.raises(ValueError, match="holds no results"):
        analysis.load_results(tmp_path)
    failed = frame_of(make_rows(grid(), status="error", reason="boom"))
    with pytest.raises(ValueError, match=r"no sweep rows with status ok \(error: 2\)"):
        analysis.ok_sweep(failed)


def test_fmt_time_units() -> None:
    assert analysis.fmt_time(3.123e-3) == "3.12 ms"
    assert analysis.fmt_time(4.5e-4) == "450 us"
    assert analysis.fmt_time(2.0) == "2 s"
    assert analysis.fmt_time(3.1e-3, compact=True) == "3.1ms"
    assert analysis.fmt_time(math.nan) == "-"
