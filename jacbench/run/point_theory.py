"""A point's theory, computed once per (point, mode), and read by all of run/ that needs it.

The cost model's counts (``theory.cost``) of a mode at a point depend on the point's shape and
dtype alone: ``point_cost`` computes them the first time they are asked for and keeps them for the
process, so the shard balance and the estimate before a sweep, the memory check before a mode
runs, and the mode's record after it all read the same counts. The prediction needs the run's
calibrated model and the floor its measured ceilings: ``record_theory`` makes them once, for the
mode's record, and says the prediction's dominant term in words (``render.words``).

>>> from jacbench.results.point import Point
>>> point = Point("cpu", "float32", "tanh", False, L=3, D=2, K=5, P=4, batch=1)
>>> point_cost(point, "reverse").matmul_macs  # as jacbench.cost("reverse", 3, 2, 5, 4)
300
>>> record_theory(point, "reverse", None, None).flops  # 2 · (300 + 3·4·5 scalings)
720
"""

from __future__ import annotations

import dataclasses
import functools

from jacbench.catalog import DTYPE_BYTES
from jacbench.render.words import words
from jacbench.results.point import Point
from jacbench.results.record import Theory
from jacbench.theory.cost import Cost, cost_at
from jacbench.theory.floors import Ceilings, floor_seconds
from jacbench.theory.operations import operations_at
from jacbench.theory.time_model import MachineModel, predict_at

__all__ = ["point_calls", "point_cost", "record_theory"]


@functools.lru_cache(maxsize=1 << 16)
def point_cost(point: Point, mode: str) -> Cost:
    """The modelled cost of one call of ``mode`` at ``point`` (its shape, in its dtype), computed
    once and kept; ValueError for a mode without a cost model."""
    return cost_at(mode, point.shape, dtype_bytes=DTYPE_BYTES[point.dtype])


@functools.lru_cache(maxsize=1 << 16)
def point_calls(point: Point, mode: str) -> int:
    """The framework calls of one call of ``mode`` at ``point``, counted once and kept;
    ValueError for a mode without an operation list."""
    return sum(op.calls * op.repeat for op in operations_at(mode, point.shape))


def record_theory(point: Point, mode: str, model: MachineModel | None,
                  ceilings: Ceilings | None) -> Theory:
    """What a mode's record says the theory expects: the counts, the time model's prediction
    when the point's device and dtype are calibrated, and the floor when its ceilings are known;
    nothing for a mode without a cost model (a user's mode that names no algorithm)."""
    try:
        c = point_cost(point, mode)
    except ValueError:  # a user's mode of an algorithm of its own: no counts, no prediction
        return Theory(None, None, None, None)
    theory = Theory(c.macs, c.flops, c.bytes_moved, c.peak_extra_bytes)
    if model is not None:
        p = predict_at(mode, point.shape, model, dtype_bytes=DTYPE_BYTES[point.dtype],
                       single=point.batch == 1)
        theory = dataclasses.replace(theory, predicted_s=p.seconds, predicted_bound=words(p))
    if ceilings is None:
        return theory
    return dataclasses.replace(theory, peak_flops=ceilings.peak_flops,
                               peak_bandwidth=ceilings.peak_bandwidth,
                               floor_s=floor_seconds(c, ceilings))
