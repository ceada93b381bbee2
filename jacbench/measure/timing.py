"""How to time a zero-argument callable on a device. Knows nothing about Jacobians.

The runner hands over a closure; this module hands back a record of raw per-call times, from
which the median, the interquartile range and a noise flag are derived (never a bare float).

    >>> t = time_callable(lambda: torch.ones(64, 64) @ torch.ones(64, 64), min_run_time=0.01)
    >>> t.median_s > 0 and t.repeats >= 1
    True

On a noisy host, time several callables in interleaved rounds (`time_round_robin`) and compare
them within a round (`ratio_within_rounds`): a hiccup then hits one round of every callable
rather than every round of one.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch.utils.benchmark import Timer

__all__ = [
    "NOISE_THRESHOLD",
    "Clock",
    "RoundRobinTiming",
    "Timing",
    "default_clock",
    "ratio_within_rounds",
    "time_callable",
    "time_round_robin",
]

Clock = Callable[[], float]
"""A monotonic clock in seconds; the timer reads it once before and once after each block."""

NOISE_THRESHOLD = 0.1
"""IQR/median above which a measurement is flagged noisy (torch.utils.benchmark's warning level)."""


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


def _quantile(values: Sequence[float], q: float) -> float:
    """Linear-interpolation quantile, the definition torch.utils.benchmark's Measurement uses."""
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _iqr(values: Sequence[float]) -> float:
    return _quantile(values, 0.75) - _quantile(values, 0.25)


@dataclass(frozen=True)
class Timing:
    """Raw per-call times of one measurement; every statistic is derived from them.

    `raw_times_s[i]` is the i-th repeat's block time divided by `number_per_run`, the number of
    calls in each block. Frozen and hashable, unlike torch's Measurement, so it can go straight
    into a results row.
    """

    raw_times_s: tuple[float, ...]
    number_per_run: int

    def __post_init__(self) -> None:
        if not self.raw_times_s:
            raise ValueError("a Timing needs at least one raw time")
        if self.number_per_run < 1:
            raise ValueError(f"number_per_run must be >= 1, got {self.number_per_run}")

    @property
    def repeats(self) -> int:
        return len(self.raw_times_s)

    @property
    def median_s(self) -> float:
        return _quantile(self.raw_times_s, 0.5)

    @property
    def iqr_s(self) -> float:
        """q75 - q25 of the per-call times."""
        return _iqr(self.raw_times_s)

    @property
    def noisy(self) -> bool:
        """IQR/median above NOISE_THRESHOLD: repeats disagree more than on a quiet machine."""
        return self.iqr_s / self.median_s > NOISE_THRESHOLD


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


@dataclass(frozen=True)
class RoundRobinTiming:
    """One callable's Timings over interleaved rounds (all written by hand: Timer has no rounds).

    The median is over the rounds' medians, so one disturbed round moves it little. The IQR is
    over all raw times pooled across rounds: it then shows both the spread inside a round and the
    drift between rounds, which the IQR of only a handful of round medians would hide.
    """

    rounds: tuple[Timing, ...]

    def __post_init__(self) -> None:
        if not self.rounds:
            raise ValueError("a RoundRobinTiming needs at least one round")

    @property
    def round_medians_s(self) -> tuple[float, ...]:
        return tuple(t.median_s for t in self.rounds)

    @property
    def median_s(self) -> float:
        """Median over the rounds' medians."""
        return statistics.median(self.round_medians_s)

    @property
    def raw_times_s(self) -> tuple[float, ...]:
        """Every round's per-call times, round after round."""
        return tuple(x for t in self.rounds for x in t.raw_times_s)

    @property
    def iqr_s(self) -> float:
        """q75 - q25 over all raw times pooled across rounds."""
        return _iqr(self.raw_times_s)

    @property
    def repeats(self) -> int:
        return len(self.raw_times_s)

    @property
    def number_per_run(self) -> int:
        """Calls per block in the last round (each round sizes its own blocks)."""
        return self.rounds[-1].number_per_run

    @property
    def noisy(self) -> bool:
        return self.iqr_s / self.median_s > NOISE_THRESHOLD


def time_round_robin(
    fns: Mapping[str, Callable[[], object]],
    *,
    rounds: int = 3,
    device: torch.device | str = "cpu",
    min_run_time_per_round: float = 0.05,
    clock: Clock | None = None,
    on_measurement: Callable[[str, int], None] | None = None,
    warmup: int = 1,
) -> dict[str, RoundRobinTiming]:
    """Time every callable in `fns` once per round, in order, for `rounds` rounds.

    Interleaving is the point: a host hiccup hits one round of every callable, not all rounds of
    one, and `ratio_within_rounds` then compares callables measured at the same moment. Every
    callable gets `warmup` untimed calls before the first round; within the rounds, the block-size
    estimate of each measurement re-warms caches that the other callables have evicted.
    `on_measurement(name, round_index)` is called after each measurement (for progress bars).
    """
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    per_round: dict[str, list[Timing]] = {name: [] for name in fns}
    for r in range(rounds):
        for name, fn in fns.items():
            per_round[name].append(
                time_callable(
                    fn, device=device, min_run_time=min_run_time_per_round, clock=clock, warmup=0
                )
            )
            if on_measurement is not None:
                on_measurement(name, r)
    return {name: RoundRobinTiming(rounds=tuple(ts)) for name, ts in per_round.items()}


def ratio_within_rounds(a: RoundRobinTiming, b: RoundRobinTiming) -> float:
    """Median over rounds of a's round median / b's round median (how many times slower a is).

    Each ratio compares two measurements taken moments apart, so drift between rounds cancels.
    """
    if len(a.rounds) != len(b.rounds):
        raise ValueError(f"round counts differ: {len(a.rounds)} against {len(b.rounds)}")
    return statistics.median(
        ma / mb for ma, mb in zip(a.round_medians_s, b.round_medians_s, strict=True)
    )
