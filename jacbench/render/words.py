"""A prediction's dominant term in words: what is done, how much, at what rate, bound by what.

``jacbench.theory.time_model`` returns the numbers (``Prediction`` with its ``Tally``); this module
only writes them out, through ``render.format``. The runner stores ``words`` in a row's
``predicted_bound`` column; ``advise`` prints it beside each mode.

>>> from jacbench.theory.shape import Shape
>>> from jacbench.theory.time_model import MachineModel, predict_at
>>> m = MachineModel(dispatch_s=2e-6, peak_flops=1e11, gemm_half_dim=0.0, sync_s=0.0,
...                  elementwise_rate=1e9, bandwidth=((1e6, 1e10),))
>>> sentence(predict_at("reverse", Shape(1, 1, 1, 1), m))
'reverse: 4 framework calls at 2 us each, overhead-bound'
"""

from __future__ import annotations

from jacbench.render.format import fmt_quantity, fmt_us
from jacbench.theory.time_model import Prediction

__all__ = ["sentence", "words"]


def words(p: Prediction) -> str:
    """The dominant term as a sentence without the mode's name."""
    t, own = p.tally, p.overhead
    term = t.terms[p.dominant]
    if p.dominant == "calls":
        fixed = f" + {fmt_us(own.fixed_s)} fixed" if own.fixed_s >= 1e-7 else ""
        if t.calls <= 1:  # a traced program or a native call: its cost is all per Jacobian
            return f"one call, {fmt_us(term)} per Jacobian, overhead-bound"
        bound = "the device waits for the host" if p.asynchronous else "overhead-bound"
        return f"{t.calls} framework calls at {fmt_us(own.call_s)} each{fixed}, {bound}"
    if p.dominant == "kernels":
        return (f"{t.kernels} kernels at {fmt_us(term / t.kernels)} each on the device, "
                "launch-bound")
    if p.dominant == "sync":
        return (f"{t.syncs} thread-parallel products and kernels at {fmt_us(term / t.syncs)} "
                "each to start, join and hand over, sync-bound")
    if p.dominant == "compute":
        return (f"{fmt_quantity(t.flops, 'FLOP')} of matrix products at "
                f"{fmt_quantity(t.flops / term, 'FLOP/s')}, compute-bound")
    if p.dominant == "elementwise":
        return (f"scales {fmt_quantity(t.elements, 'elements')} at "
                f"{fmt_quantity(t.elements / term, 'elements/s')}")
    if p.dominant == "weights":
        times = t.weight_bytes / p.weights_bytes if p.weights_bytes else 0.0
        return (f"reads {fmt_quantity(p.weights_bytes, 'B')} of weights {_times(times)}, "
                f"memory-bound at {fmt_quantity(p.bandwidth, 'B/s')}")
    return (f"moves {fmt_quantity(t.data_bytes, 'B')} of activations, tangents and adjoints at "
            f"{fmt_quantity(t.data_bytes / term, 'B/s')}, memory-bound")


def sentence(p: Prediction) -> str:
    """'reverse: reads 4 MB of weights twice, memory-bound at 10 GB/s'."""
    return f"{p.mode}: {words(p)}"


def _times(x: float) -> str:
    near = round(x)
    if abs(x - near) < 0.05 and 1 <= near <= 3:
        return ("once", "twice", "three times")[near - 1]
    return f"{x:.3g} times"
