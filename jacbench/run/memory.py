"""Will a point fit? Its modelled memory against what the device has free, before allocating.

A point needs its model and input in the point's dtype, and the float64 reference (a float64 copy
of the weights, the activations and the Jacobian); each mode needs its Jacobian and its own peak
state on top (``theory.cost``'s ``peak_extra_bytes``, read from ``run.point_theory``). The check
leaves a margin for the allocator and for what the model does not count; a point that would not
fit is recorded ``oom`` without allocating anything, so one huge point cannot end a sweep or crash
the machine.
"""

from __future__ import annotations

from jacbench.catalog import DTYPE_BYTES
from jacbench.results.point import Point
from jacbench.run.point_theory import point_cost

__all__ = ["HEADROOM", "case_bytes", "mode_bytes", "too_big"]

#: Share of the free memory a point may plan to use.
HEADROOM = 0.8


def case_bytes(point: Point) -> int:
    """The model and input in the point's dtype, and the float64 reference with its state (the
    activations and the larger of one tangent or one adjoint per input)."""
    s, b = point.shape, DTYPE_BYTES[point.dtype]
    reference = 8 * (s.weights + s.jacobian + s.activations + max(s.adjoint, s.tangent))
    return b * (s.weights + s.inputs) + reference


def mode_bytes(point: Point, mode: str) -> int:
    """One call of ``mode``: its Jacobian and the state it holds at its peak (the Jacobian
    alone for a mode without a cost model)."""
    jacobian = DTYPE_BYTES[point.dtype] * point.shape.jacobian
    try:
        return point_cost(point, mode).peak_extra_bytes + jacobian
    except ValueError:
        return jacobian


def too_big(needed: int, free: int | None) -> str:
    """Why ``needed`` bytes will not fit in ``free`` ('' when they fit or free is unknown)."""
    if free is None or needed <= HEADROOM * free:
        return ""
    return (f"needs about {needed / 2**30:.3g} GiB by the memory model, {free / 2**30:.3g} GiB "
            "free: not attempted")
