"""Is the machine fast right now? Speed probes and probe-guarded re-runs.

On shared machines and cloud VMs the host's speed changes under us: absolute times drift by
20-30% over minutes, and a 2-thread matmul can drop from ~170 to ~18 GFLOP/s for minutes when
the host stops co-scheduling the virtual cores. A short fixed matmul before and after each
measurement tells a slow machine from a slow mode; `measure_with_probes` re-runs a measurement
taken on a slow machine and flags it when the machine never recovers.
Knows nothing about Jacobians.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import torch

from jacbench.measure.timing import Clock, time_callable

__all__ = ["PROBE_N", "ProbeTracker", "Probed", "measure_with_probes", "speed_probe"]

#: The probe's matrix side per device type: milliseconds of work, far from launch-bound. On a
#: GPU a 256 matmul (about 2 TFLOP/s on a 51 TFLOP/s H200: launch-bound) swung 20% between
#: points on a quiet device and sent healthy points to re-runs; 4096 takes ~3 ms there in fp32.
PROBE_N = {"cpu": 256, "cuda": 4096}

T = TypeVar("T")


def speed_probe(
    device: torch.device | str = "cpu",
    *,
    dtype: torch.dtype = torch.float32,
    n: int | None = None,
    clock: Clock | None = None,
    min_run_time: float = 0.03,
) -> float:
    """GFLOP/s of a fixed n×n matmul on `device` (2n³ flops per call, median time), well under 1 s.

    ``n`` defaults to the device type's ``PROBE_N``. Uses the machine's threads as they are set,
    so it sees what the timed code will see (a host that stops running the virtual cores together
    shows up here as a collapse); on a GPU the timer synchronises the device around each block.
    """
    n = n or PROBE_N[torch.device(device).type]
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=gen, dtype=dtype).to(device)
    b = torch.randn(n, n, generator=gen, dtype=dtype).to(device)
    out = torch.empty_like(a)
    timing = time_callable(
        lambda: torch.mm(a, b, out=out), device=device, min_run_time=min_run_time, clock=clock
    )
    return 2 * n**3 / timing.median_s / 1e9


class ProbeTracker:
    """Keeps the best speed probe seen in the run: the yardstick for a healthy machine."""

    def __init__(self) -> None:
        self.best: float | None = None

    def update(self, value: float) -> None:
        """Record a probe; non-finite or non-positive readings are ignored."""
        if math.isfinite(value) and value > 0 and (self.best is None or value > self.best):
            self.best = value

    def healthy(self, value: float, threshold: float) -> bool:
        """Whether `value` is at least `threshold` of the best probe (True before any probe)."""
        return self.best is None or value >= threshold * self.best


@dataclass(frozen=True)
class Probed(Generic[T]):
    """A measurement with the speed probes taken around it. `reason` is "" when healthy."""

    result: T
    probe_before: float
    probe_after: float
    retries: int
    healthy: bool
    reason: str


def measure_with_probes(
    measure: Callable[[], T],
    probe: Callable[[], float],
    tracker: ProbeTracker,
    *,
    threshold: float,
    max_retries: int,
    wait_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> Probed[T]:
    """Probe, measure, probe; re-run (after `sleep(wait_s)`) while a probe is below `threshold`
    of the run's best, at most `max_retries` times.

    If no attempt is healthy, the attempt whose lower probe was highest is returned, with
    healthy=False and the reason: it is the one measured on the least disturbed machine. (Ties go
    to the later attempt.) Exceptions from `measure` or `probe` propagate to the caller.
    """
    if max_retries < 0:
        raise ValueError(f"max_retries must be >= 0, got {max_retries}")
    best_attempt: tuple[float, T, float, float] | None = None
    for attempt in range(max_retries + 1):
        if attempt > 0:
            sleep(wait_s)
        before = probe()
        tracker.update(before)
        result = measure()
        after = probe()
        tracker.update(after)
        low = min(before, after)
        if tracker.healthy(low, threshold):
            return Probed(result, before, after, retries=attempt, healthy=True, reason="")
        if best_attempt is None or low >= best_attempt[0]:
            best_attempt = (low, result, before, after)
    assert best_attempt is not None  # the loop ran at least once and found no healthy attempt
    low, result, before, after = best_attempt
    best = tracker.best if tracker.best is not None else float("nan")
    share = low / best if best > 0 else float("nan")
    plural = "" if max_retries == 1 else "s"
    reason = (
        f"speed probe at {share:.0%} of the run's best ({low:.0f} of {best:.0f} GFLOP/s)"
        f" after {max_retries} re-run{plural}"
    )
    return Probed(result, before, after, retries=max_retries, healthy=False, reason=reason)
