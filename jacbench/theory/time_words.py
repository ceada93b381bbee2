"""A prediction's dominant term said in words: what is done, how much, at what rate, bound by
what (``jacbench.theory.time_model`` builds the tally; this module only writes it out)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jacbench.theory.time_model import MachineModel, ModeOverhead, _Tally

__all__ = ["words"]


def _si(value: float, unit: str) -> str:
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.3g} us"


def words(mode: str, dominant: str, t: _Tally, m: MachineModel, overhead: ModeOverhead,
           weights: float, ws: float) -> str:
    """The dominant term as a sentence: what is done, how much, at what rate, bound by what."""
    term = t.terms[dominant]
    if dominant == "calls":
        fixed = f" + {_us(overhead.fixed_s)} fixed" if overhead.fixed_s >= 1e-7 else ""
        if t.calls <= 1:  # a traced program or a native call: its cost is all per Jacobian
            text = f"one call, {_us(term)} per Jacobian, overhead-bound"
        else:
            text = (f"{t.calls} framework calls at {_us(overhead.call_s)} each{fixed}, "
                    "overhead-bound")
    elif dominant == "sync":
        text = (f"{t.syncs} thread-parallel products and kernels at {_us(term / t.syncs)} each "
                "to start, join and hand over, sync-bound")
    elif dominant == "compute":
        text = f"{_si(t.flops, 'FLOP')} of matrix products at {_si(t.flops / term, 'FLOP/s')}, " \
               "compute-bound"
    elif dominant == "elementwise":
        text = f"scales {_si(t.elements, 'elements')} at {_si(t.elements / term, 'elements/s')}"
    elif dominant == "weights":
        times = t.weight_bytes / weights if weights else 0.0
        text = (f"reads {_si(weights, 'B')} of weights {_times(times)}, memory-bound at "
                f"{_si(m.bytes_per_s(ws), 'B/s')}")
    else:
        text = (f"moves {_si(t.data_bytes, 'B')} of activations, tangents and adjoints at "
                f"{_si(t.data_bytes / term, 'B/s')}, memory-bound")
    return text


def _times(x: float) -> str:
    near = round(x)
    if abs(x - near) < 0.05 and 1 <= near <= 3:
        return ("once", "twice", "three times")[near - 1]
    return f"{x:.3g} times"
