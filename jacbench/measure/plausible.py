"""Physical ranges of the time model's parameters: a calibration outside them is not stored.

A probe that times a launch instead of work, or runs beside another busy process, gives numbers
no device has (a GPU's "1e9 GB/s", a 2-core CPU's sync cost of 2.57 ms): predictions built on them
mislead every point and every piece of advice. The ranges below are wide (they bound what any
CPU or GPU of today can do, not what a good one does); where the run measured its ceilings, the
out-of-cache bandwidth and the GEMM peak must also stay near them. Torch-free.

>>> from jacbench.theory.time_model import MachineModel
>>> m = MachineModel(dispatch_s=2e-6, peak_flops=1e11, gemm_half_dim=0.0, sync_s=0.0,
...                  elementwise_rate=1e9, bandwidth=((1e6, 4e18),))
>>> implausible(m)
['bandwidth at 1 MB: 4e+18 outside [1e+07, 1e+14]']
"""

from __future__ import annotations

import math

from jacbench.theory.floors import Ceilings
from jacbench.theory.time_model import MachineModel

__all__ = ["CEILING_SLACK", "RANGES", "ImplausibleCalibration", "implausible"]

#: (low, high) of each scalar parameter, in its own unit (seconds, FLOP/s, elements/s, B/s).
RANGES: dict[str, tuple[float, float]] = {
    "dispatch_s": (1e-8, 1e-3),
    "launch_s": (0.0, 1e-3),
    "sync_s": (0.0, 1e-3),
    "handoff_s": (0.0, 1e-3),
    "kernel_sync_s": (0.0, 1e-3),
    "peak_flops": (1e8, 1e16),
    "gemm_half_dim": (0.0, 1e5),
    "elementwise_rate": (1e6, 1e14),
    "bandwidth": (1e7, 1e14),
}
#: How far above the run's measured ceiling the GEMM peak and out-of-cache bandwidth may read.
CEILING_SLACK = 1.5


class ImplausibleCalibration(ValueError):
    """A calibration whose parameters are outside their physical ranges (one line: which)."""


def _outside(name: str, value: object, low: float, high: float) -> str | None:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and math.isfinite(value) and low <= value <= high:  # type: ignore[operator]
        return None
    shown = f"{value:.3g}" if number else repr(value)
    return f"{name}: {shown} outside [{low:g}, {high:g}]"


def implausible(model: MachineModel, ceilings: Ceilings | None = None) -> list[str]:
    """What is outside its physical range in ``model`` ([] if nothing), against ``ceilings``
    too where given."""
    found = [_outside(name, getattr(model, name), *RANGES[name])
             for name in RANGES if name != "bandwidth"]
    if not isinstance(model.bandwidth, tuple) or not model.bandwidth:
        found.append(f"bandwidth: {model.bandwidth!r} is no list of (bytes, B/s)")
    else:
        for size, rate in model.bandwidth:
            found.append(_outside(f"bandwidth at {size / 1e6:.3g} MB", rate,
                                  *RANGES["bandwidth"]))
    for name, value in (model.overheads or {}).items():
        found += [_outside(f"{name} {field}", getattr(value, field), low, high)
                  for field, low, high in (("fixed_s", 0.0, 1.0), ("call_s", 0.0, 1e-2),
                                           ("work_factor", 0.1, 100.0))]
    if ceilings is not None and not any(found):
        if model.peak_flops > CEILING_SLACK * ceilings.peak_flops:
            found.append(f"GEMM peak {model.peak_flops:.3g} FLOP/s above {CEILING_SLACK}x the "
                         f"measured ceiling {ceilings.peak_flops:.3g}")
        far = max(model.bandwidth)
        if far[1] > CEILING_SLACK * ceilings.peak_bandwidth:
            found.append(f"out-of-cache bandwidth {far[1]:.3g} B/s above {CEILING_SLACK}x the "
                         f"measured copy rate {ceilings.peak_bandwidth:.3g}")
    return [f for f in found if f]
