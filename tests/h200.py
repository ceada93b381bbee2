"""The H200's time model, for estimating sweeps on a GPU this machine does not have. Torch-free.

Built from what was measured on one NVIDIA H200 (../shared/FINDINGS.md, section GPU; the rows and
calibration in tests/data/gpu-h200/):

- the calibration the sweep stored there (``CALIBRATION``): its host cost per call (12 us; an
  empty launch measured 10.7 us), its GEMM peak (52 TFLOP/s; the 8192³ ceiling read 51) and
  half-size, and each mode's fixed and per-call costs, all kept;
- its bandwidths (1e18 B/s) and act' rate (6.5e16 /s) timed launches, not the device: replaced by
  the device copy FINDINGS measured (4.24 TB/s read + write), an act' kernel moving three
  elements per element (two read, one written) at that rate;
- the device's own time per kernel (the calibration predates ``launch_s``): the CUDA graph of
  reverse mode at the course's small config replayed in 70-80 us, so 75 us over its kernels;
- the library modes' work factors (fitted there to launch-bound timings) refitted to the rows:
  each mode's median at the compute-bound point L=4, D=256, K=1024, P=128, N=512 over the
  device's predicted work at a work factor of 1 (the JAX modes were ``mismatch`` there: their
  factors kept);
- precisions the calibration did not measure: the float32 calibration with its GEMM peak scaled
  by the measured tensor-core rates (fp32 51, TF32 355, bf16 671 TFLOP/s; fp16 taken at bf16's
  rate, float64 at fp32's: neither was measured) and its bytes by the dtype's size.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from jacbench.catalog import DTYPE_BYTES
from jacbench.results.schema import Status
from jacbench.theory.operations import ELEMENTWISE, GEMM, operations_at
from jacbench.theory.shape import Shape
from jacbench.theory.time_model import MachineModel, ModeOverhead, models_from_json, predict_at

__all__ = ["H200_MEMORY", "h200_models"]

FOLDER = Path(__file__).parent / "data" / "gpu-h200"
CALIBRATION = FOLDER / "_calibration-5ec65d46035d-s0.json"
ROWS = FOLDER / "part-5ec65d46035d-s0.parquet"
#: The H200's memory as torch sees it (141 GB).
H200_MEMORY = 139 * 2**30
COPY_BYTES_PER_S = 4.24e12
#: Measured matrix-product ceilings (8192³), FLOP/s; fp16 and float64 were not measured.
PRODUCT_RATES = {"float32": 51e12, "tf32": 355e12, "bfloat16": 671e12, "float16": 671e12,
                 "float64": 51e12}
#: The course's small config and its reverse mode's replay as a CUDA graph (70-80 us).
GRAPH_SHAPE, GRAPH_REPLAY_S = Shape(10, 2, 30, 10, 1), 75e-6


def _kernels(mode: str, shape: Shape) -> int:
    """The kernels one eager call launches: each product, each elementwise kernel it calls."""
    return sum(op.repeat for op in operations_at(mode, shape)
               if op.kind == GEMM or (op.kind == ELEMENTWISE and op.calls))


def _refit(model: MachineModel) -> MachineModel:
    """The library modes' work factors from the rows measured at the compute-bound point."""
    rows = pd.read_parquet(ROWS)
    rows = rows[(rows["status"] == Status.OK) & (rows["role"] == "sweep")]
    overheads = dict(model.overheads)
    for row in rows.itertuples():
        own = overheads.get(row.mode)
        if own is None or own.work_factor == 1.0:
            continue
        shape = Shape(row.L, row.D, row.K, row.P, row.batch)
        unit = dataclasses.replace(model, overheads={
            **overheads, row.mode: ModeOverhead(own.fixed_s, own.call_s, 1.0)})
        terms = predict_at(row.mode, shape, unit, single=row.batch == 1).terms
        device = sum(terms.values()) - terms["calls"]  # the device's work, at a factor of 1
        overheads[row.mode] = ModeOverhead(own.fixed_s, own.call_s, row.time_median_s / device)
    return dataclasses.replace(model, overheads=overheads)


def h200_float32() -> MachineModel:
    """The stored float32 calibration with its launch-timed parameters replaced (see above)."""
    (stored,) = models_from_json(CALIBRATION.read_text())
    kernels = _kernels("reverse", GRAPH_SHAPE)
    model = dataclasses.replace(
        stored, bandwidth=((1.0, COPY_BYTES_PER_S),),
        elementwise_rate=COPY_BYTES_PER_S / (3 * DTYPE_BYTES["float32"]),
        launch_s=GRAPH_REPLAY_S / kernels, asynchronous=True)
    return _refit(model)


def h200_models() -> dict[tuple[str, str], MachineModel]:
    """The H200's time model in every dtype jacbench knows, by ("cuda", dtype)."""
    base = h200_float32()
    return {("cuda", dtype): dataclasses.replace(
        base, dtype=dtype,
        peak_flops=base.peak_flops * PRODUCT_RATES[dtype] / PRODUCT_RATES["float32"],
        elementwise_rate=COPY_BYTES_PER_S / (3 * DTYPE_BYTES[dtype]))
        for dtype in DTYPE_BYTES}
