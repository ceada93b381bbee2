"""Statistics of a measurement, derived from its raw per-call times. Torch-free.

A Timing keeps every raw time and derives the median, the interquartile range and a noise flag
from them (torch.utils.benchmark's Measurement does the same); a RoundRobinTiming does so over
interleaved rounds, and ``ratio_within_rounds`` compares two callables measured side by side.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from jacbench.results.schema import NOISE_THRESHOLD

__all__ = ["RoundRobinTiming", "Timing", "ratio_within_rounds"]


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


def ratio_within_rounds(a: RoundRobinTiming, b: RoundRobinTiming) -> float:
    """Median over rounds of a's round median / b's round median (how many times slower a is).

    Each ratio compares two measurements taken moments apart, so drift between rounds cancels.
    """
    if len(a.rounds) != len(b.rounds):
        raise ValueError(f"round counts differ: {len(a.rounds)} against {len(b.rounds)}")
    return statistics.median(
        ma / mb for ma, mb in zip(a.round_medians_s, b.round_medians_s, strict=True)
    )
