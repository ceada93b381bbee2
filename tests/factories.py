"""Shared test factories: result rows and tables of known law, fake ceilings. Torch-free.

Every test that needs a stored row or a results folder builds it here, so that a schema change is
made in one place. Fixtures that fake the machine (steady probes, fake CUDA) live in conftest.py.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jacbench.render.words import words
from jacbench.results import storage
from jacbench.results.schema import SCHEMA_VERSION, Role, Status
from jacbench.theory.cost import cost
from jacbench.theory.floors import Ceilings
from jacbench.theory.time_model import MachineModel, predict

Shape = dict[str, Any]
TimeFn = Callable[[str, Shape], float]

FAKE_CEILINGS = Ceilings(peak_flops=1e11, peak_bandwidth=1e10, matmul_n=1, copy_bytes=1)
#: A calibrated time model of a made-up machine: 2 us a call, 100 GFLOP/s, 10 GB/s.
FAKE_MODEL = MachineModel(dispatch_s=2e-6, peak_flops=1e11, gemm_half_dim=8.0, sync_s=0.0,
                          elementwise_rate=1e9, bandwidth=((1e6, 2e10), (1e8, 1e10)))


def grid(**axes: Iterable[int]) -> list[Shape]:
    """The product of the given axis values, defaults L=4 D=64 K=128 P=64 batch=1."""
    base = {"L": [4], "D": [64], "K": [128], "P": [64], "batch": [1]}
    base.update({k: list(v) for k, v in axes.items()})
    names = list(base)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*base.values())]


def flop_time(mode: str, p: Shape) -> float:
    """A machine that runs every mode at its own constant FLOP rate: the model exactly."""
    rate = {"forward": 2e10, "reverse": 2.5e10, "jacrev": 1e10}.get(mode, 5e9)
    return cost(mode, p["L"], p["D"], p["K"], p["P"], p["batch"]).flops / rate + 2e-5


def result_row(**changes: Any) -> dict[str, Any]:
    """One complete stored row (a forward-mode point measured ok), with ``changes`` applied."""
    return make_rows([{"L": 9, "D": 9, "K": 9, "P": 9, "batch": 1}], ("forward",),
                     **changes)[0]


def make_rows(points: Iterable[Shape], modes: Iterable[str] = ("forward", "reverse"),
              time: TimeFn = flop_time, role: str = Role.SWEEP, run_id: str = "run-1",
              device: str = "cpu", **extra: Any) -> list[dict[str, Any]]:
    """Full result rows whose medians follow ``time`` and whose raw times spread ±5% around it."""
    rows = []
    for p, mode in itertools.product(list(points), list(modes)):
        t = time(mode, p)
        c = cost(mode, p["L"], p["D"], p["K"], p["P"], p["batch"])
        floor = max(c.flops / 1.7e11, c.bytes_moved / 4e10)
        predicted = predict(mode, p["L"], p["D"], p["K"], p["P"], p["batch"], FAKE_MODEL)
        rows.append({
            "role": role, "mode": mode, **p, "dtype": "float32", "device": device,
            "activation": "tanh", "bias": False, "seed": 0, "status": Status.OK, "reason": "",
            "rel_error": 1e-7, "time_median_s": t, "time_iqr_s": 0.05 * t, "repeats": 9,
            "number_per_run": 10, "raw_times_s": list(t * np.linspace(0.95, 1.05, 9)),
            "round_medians_s": [t * 0.98, t, t * 1.02], "rounds": 3, "noisy": False,
            "macs": c.macs, "flops": c.flops, "bytes_moved": c.bytes_moved,
            "model_peak_bytes": c.peak_extra_bytes, "peak_flops": 1.7e11,
            "peak_bandwidth": 4e10, "floor_s": floor, "efficiency": floor / t,
            "predicted_s": predicted.seconds, "predicted_bound": words(predicted),
            "probe_before_gflops": 160.0, "probe_after_gflops": 150.0, "retries": 0,
            "load_avg_1m": 0.4, "measured_at": "2025-01-01T00:00:00Z",
            "schema_version": SCHEMA_VERSION, "jacbench_version": "0.1.0",
            "torch_version": "2.13.0", "cuda_version": "",
            "device_name": "AMD EPYC test" if device == "cpu" else "NVIDIA H100",
            "cpu_model": "AMD EPYC test", "num_threads": 2, "host": "testhost",
            "platform": "Linux-x86_64", "python_version": "3.11", "git_commit": "abc1234",
            "run_id": run_id, "started_at": "2025-01-01T00:00:00Z", **extra,
        })
    return rows


def frame_of(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows as a table in the schema (missing columns null)."""
    return storage.to_table(rows).to_pandas()


def write_rows(directory: Path, rows: list[dict[str, Any]]) -> Path:
    """A results folder holding exactly these rows."""
    directory.mkdir(parents=True, exist_ok=True)
    storage.write_file(directory / "part-fixture.parquet", storage.to_table(rows))
    return directory


def default_rows() -> list[dict[str, Any]]:
    """A table shaped like the default preset: crossover grid, depth, width, batch, stability."""
    modes = ("forward", "reverse", "jacrev")
    rows = make_rows(grid(L=[4], K=[128], D=[4, 32, 256, 1024], P=[4, 32, 256, 1024]), modes)
    rows += make_rows(grid(L=[1, 2, 4, 8, 16]), modes)
    rows += make_rows(grid(K=[16, 64, 256]), modes)
    rows += make_rows(grid(batch=[4, 16, 64]), modes)
    start = make_rows(grid(), modes, role=Role.STABILITY_START)
    end = make_rows(grid(), modes, role=Role.STABILITY_END,
                    time=lambda m, p: flop_time(m, p) * (1.25 if m == "jacrev" else 1.03))
    return rows + start + end


def write_default(directory: Path) -> Path:
    return write_rows(directory, default_rows())


def every_figure_rows() -> list[dict[str, Any]]:
    """A table of known law with rows for every figure: each catalogued mode on the default
    preset's sweeps on the CPU; on a GPU (50x faster) along the depth sweep; and float64 and
    TF32 ("float32", matmul precision "high") beside float32 at the default point."""
    from jacbench.catalog import mode_names

    modes = mode_names()
    points = (grid(L=[1, 2, 4, 8, 16]) + grid(D=[4, 32, 256, 1024], P=[4, 32, 256, 1024])
              + grid(K=[16, 64, 256]) + grid(batch=[4, 16, 64]))
    rows = make_rows(points, modes)
    rows += make_rows(grid(L=[1, 2, 4, 8, 16]), modes, device="cuda",
                      time=lambda m, p: flop_time(m, p) / 50)
    rows += make_rows(grid(), modes, device="cuda", dtype="float64", rel_error=1e-15,
                      time=lambda m, p: flop_time(m, p) / 10)
    rows += make_rows(grid(), modes, device="cuda", matmul_precision="high", rel_error=1e-4,
                      time=lambda m, p: flop_time(m, p) / 150)
    return rows
