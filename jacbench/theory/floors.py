"""The machine's ceilings, and the floor they put under a mode's time.

A measured time means little alone; beside ``floor_seconds`` (the time the cost model's FLOPs and
bytes need at the measured ceilings, a roofline) it becomes an efficiency. The ceilings are
measured by ``jacbench.measure.ceilings``; this module only does the arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

from jacbench.theory.cost import Cost

__all__ = ["Ceilings", "bound_by", "floor_seconds"]


@dataclass(frozen=True)
class Ceilings:
    """Peak rates of one device in one dtype, and the problem sizes that measured them."""

    peak_flops: float  # FLOP/s of an n×n by n×n matmul (2·n³ FLOPs), best repeat
    peak_bandwidth: float  # bytes/s: the better of a copy (read + write) and a sum (read)
    matmul_n: int
    copy_bytes: int  # size of the buffer copied and summed
    tf32: bool = False  # whether an fp32 CUDA matmul was allowed TF32 (a lower-precision ceiling)


def floor_seconds(cost: Cost, ceilings: Ceilings) -> float:
    """The least time the modelled work can take: compute- or memory-bound, whichever is slower."""
    return max(cost.flops / ceilings.peak_flops, cost.bytes_moved / ceilings.peak_bandwidth)


def bound_by(cost: Cost, ceilings: Ceilings) -> str:
    """Which term sets the floor: "FLOPs" or "bytes"."""
    compute_s = cost.flops / ceilings.peak_flops
    return "FLOPs" if compute_s >= cost.bytes_moved / ceilings.peak_bandwidth else "bytes"
