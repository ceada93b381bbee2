"""How long a sweep will take, from the cost model, before anything is measured.

Per mode at a point: two untimed check calls, then ``rounds`` timed measurements of at least
``min_run_time`` each (and at least a few calls each); per point, two speed probes. A call's
time is guessed from the cost model at modest rates (a few torch calls of dispatch, FLOPs at
ASSUMED_FLOPS, bytes at ASSUMED_BANDWIDTH), capped at the per-call time limit, past which a
mode is skipped. The guess errs long on small machines: it is a warning, not a promise. The
counts are the point's own (``run.point_theory``), which the runner later records.
"""

from __future__ import annotations

from jacbench.results.point import Point
from jacbench.run.point_theory import point_cost
from jacbench.run.settings import Settings

__all__ = ["estimate_point_s"]

ASSUMED_FLOPS = 50e9
ASSUMED_BANDWIDTH = 10e9
DISPATCH_S = 100e-6  # a few dozen torch calls
PROBES_S = 0.1  # two speed probes around the timing
CALLS_PER_MEASUREMENT = 3


def _call_s(point: Point, mode: str) -> float:
    try:
        c = point_cost(point, mode)
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
