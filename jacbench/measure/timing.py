"""How to time a zero-argument callable on a device. Knows nothing about Jacobians.

The runner hands over a closure; this module hands back a record of raw per-call times, from
which the median, the interquartile range and a noise flag are derived (never a bare float).

    >>> t = time_callable(lambda: torch.ones(64, 64) @ torch.ones(64, 64), min_run_time=0.01)
    >>> t.median_s > 0 and t.repeats >= 1
    True

On a noisy host, time several callables in interleaved rounds (`time_round_robin`) and compare
them within a round (`stats.ratio_within_rounds`): a hiccup then hits one round of every callable
rather than every round of one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import torch
from torch.utils.benchmark import Timer

from jacbench.measure.stats import RoundRobinTiming, Timing

__all__ = ["Clock", "default_clock", "time_callable", "time_round_robin"]

Clock = Callable[[], float]
"""A monotonic clock in seconds; the timer reads it once before and once after each block."""

def default_clock(device: torch.device | str) -> Clock:
    """The clock that makes host timestamps honest on `device`.

    On CPU the work is synchronous, so `time.perf_counter` is enough. On CUDA the clock first
    waits for the device, so a timestamp is taken only once every kernel launched before it has
    finished. We synchronise around the block rather than record CUDA events: blocked_autorange
    times blocks of many calls, so a sync at each block edge is exact for the whole block and its
    cost (microseconds) is amortised over the block, whereas events would add nothing but code.
    """
    dev = torch.device(device)
    if dev.type == "cpu":
        return time.perf_counter
    if dev.type == "cuda":

        def cuda_clock() -> float:
            torch.cuda.synchronize(dev)
            return time.perf_counter()

        return cuda_clock
    raise ValueError(f"no timing clock for device type {dev.type!r} (expected cpu or cuda)")


def time_callable(
    fn: Callable[[], object],
    *,
    device: torch.device | str = "cpu",
    min_run_time: float = 0.2,
    clock: Clock | None = None,
    warmup: int = 1,
) -> Timing:
    """Time `fn()` on `device`: `warmup` untimed calls, then repeats filling `min_run_time` seconds.

    The repeats are torch.utils.benchmark's `blocked_autorange`: it picks the calls per block so
    that clock overhead is negligible, then times blocks until the budget is spent.
    """
    # Written by hand because Timer lacks it: explicit warm-up. Timer's block-size estimate does
    # call fn, but it would size the blocks from a cold first call (lazy CUDA init, allocator
    # growth, torch.func tracing) and so choose too few calls per block.
    for _ in range(warmup):
        fn()
    timer = Timer(
        stmt="fn()",
        globals={"fn": fn},
        timer=clock if clock is not None else default_clock(device),
        # Timer defaults to 1 thread; time with the thread count the caller has set.
        num_threads=torch.get_num_threads(),
    )
    measurement = timer.blocked_autorange(min_run_time=min_run_time)
    return Timing(raw_times_s=tuple(measurement.times), number_per_run=measurement.number_per_run)


def time_round_robin(
    fns: Mapping[str, Callable[[], object]],
    *,
    rounds: int = 3,
    device: torch.device | str = "cpu",
    min_run_time_per_round: float = 0.05,
    clock: Clock | None = None,
    on_measurement: Callable[[str, int], None] | None = None,
    warmup: int = 1,
    on_start: Callable[[str], None] | None = None,
) -> dict[str, RoundRobinTiming]:
    """Time every callable in `fns` once per round, in order, for `rounds` rounds.

    Interleaving is the point: a host hiccup hits one round of every callable, not all rounds of
    one, and `ratio_within_rounds` then compares callables measured at the same moment. Every
    callable gets `warmup` untimed calls before the first round; within the rounds, the block-size
    estimate of each measurement re-warms caches that the other callables have evicted.
    `on_measurement(name, round_index)` is called after each measurement (for progress bars),
    `on_start(name)` before each callable's warm-up and each measurement (so that a watcher knows
    which callable is running: never inside a measurement).
    """
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    start = on_start or (lambda name: None)
    for name, fn in fns.items():
        start(name)
        for _ in range(warmup):
            fn()
    per_round: dict[str, list[Timing]] = {name: [] for name in fns}
    for r in range(rounds):
        for name, fn in fns.items():
            start(name)
            per_round[name].append(
                time_callable(
                    fn, device=device, min_run_time=min_run_time_per_round, clock=clock, warmup=0
                )
            )
            if on_measurement is not None:
                on_measurement(name, r)
    return {name: RoundRobinTiming(rounds=tuple(ts)) for name, ts in per_round.items()}


