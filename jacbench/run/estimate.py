"""How long a sweep will take, from the cost model, before anything is measured.

Per mode at a point: two untimed check calls, then ``rounds`` timed measurements of at least
``min_run_time`` each (and at least a few calls each); per point, two speed probes. A call's
time is guessed from the cost model at modest rates (a few torch calls of dispatch, FLOPs at
ASSUMED_FLOPS, bytes at ASSUMED_BANDWIDTH), capped at the per-call time limit, past which a
mode is skipped. The guess errs long on small machines: it is a warning, not a promise.
"""

from __future__ import annotations

from jacbench.catalog import DTYPE_BYTES
from jacbench.results.point import Point
from jacbench.run.settings import Settings
from jacbench.theory.cost import cost

__all__ = ["estimate_point_s", "format_duration"]

ASSUMED_FLOPS = 50e9
ASSUMED_BANDWIDTH = 10e9
DISPATCH_S = 100e-6  # a few dozen torch calls
PROBES_S = 0.1  # two speed probes around the timing
CALLS_PER_MEASUREMENT = 3


def _call_s(point: Point, mode: str) -> float:
    try:
        c = cost(mode, point.L, point.D, point.K, point.P, point.batch,
                 dtype_bytes=DTYPE_BYTES[point.dtype])
    except ValueError:  # a mode without a cost model: guess a slow library call
        return 10 * DISPATCH_S
    return DISPATCH_S + max(c.flops / ASSUMED_FLOPS, c.bytes_moved / ASSUMED_BANDWIDTH)


def estimate_point_s(point: Point, modes: tuple[str, ...], settings: Settings) -> float:
    """Seconds to check and time ``modes`` at ``point`` with ``settings``."""
    total = PROBES_S
    for mode in modes:
        call = min(_call_s(point, mode), settings.max_call_time)
        total += 2 * call
        if call < settings.max_call_time:
            total += settings.rounds * max(settings.min_run_time, CALLS_PER_MEASUREMENT * call)
    return total


def format_duration(seconds: float) -> str:
    """'45 s', '12 min', '2 h 10 min'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"
