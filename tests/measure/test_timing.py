"""Timing with a fake clock: each call of the timed function advances it by a scripted amount.

Times are multiples of U = 2**-10 s, so every sum and difference is exact in floating point and
the statistics can be compared with ==.

torch's Timer sizes its blocks before measuring: five empty blocks (no call), then blocks of
1, 10, 100, ... calls until the clock overhead is negligible. With a per-call time of U that is
a single call of fn, which the scripts below account for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import pytest
import torch

from jacbench.measure.stats import ratio_within_rounds
from jacbench.measure.timing import default_clock, time_callable, time_round_robin

U = 2.0**-10


class FakeClock:
    """A clock that only moves when the timed function says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def scripted(
    clock: FakeClock, durations: Iterable[float]
) -> tuple[Callable[[], None], list[float]]:
    """A function whose i-th call takes durations[i] s of fake time, and the log of its calls."""
    script = iter(durations)
    calls: list[float] = []

    def fn() -> None:
        try:
            dt = next(script)
        except StopIteration:
            raise AssertionError("timed function called more often than scripted") from None
        calls.append(dt)
        clock.now += dt

    return fn, calls


def test_raw_times_median_iqr_noise_exact_and_warmup_untimed() -> None:
    clock = FakeClock()
    warmup = [64.0]  # a slow cold call: must not appear in the raw times
    block_size_estimate = [U]
    measured = [1 * U, 2 * U, 3 * U, 4 * U, 10 * U]  # 20 U in all; the budget ends after the 5th
    fn, calls = scripted(clock, warmup + block_size_estimate + measured)

    t = time_callable(fn, min_run_time=19.5 * U, clock=clock, warmup=1)

    assert len(calls) == 7
    assert t.number_per_run == 1
    assert t.raw_times_s == tuple(measured)
    assert t.repeats == 5
    assert t.median_s == 3 * U
    assert t.iqr_s == 2 * U  # q75 = 4 U, q25 = 2 U
    assert t.noisy  # 2/3 > 0.1


def test_warmup_count_is_respected() -> None:
    clock = FakeClock()
    fn, calls = scripted(clock, [1000.0] * 3 + [U] * 5)
    t = time_callable(fn, min_run_time=4 * U, clock=clock, warmup=3)
    assert calls == [1000.0] * 3 + [U] * 5
    assert t.raw_times_s == (U,) * 4
    assert not t.noisy


def test_number_per_run_and_raw_times_are_per_call() -> None:
    """A 2 us call needs blocks of 10 for the clock overhead to vanish; raw times stay per call."""
    clock = FakeClock()
    per_call = 2e-6
    fn, calls = scripted(clock, [per_call] * 100_000)

    t = time_callable(fn, min_run_time=0.01, clock=clock, warmup=1)

    assert t.number_per_run == 10
    assert t.raw_times_s == pytest.approx([per_call] * t.repeats, rel=1e-6)
    assert t.repeats * t.number_per_run * per_call == pytest.approx(0.01, rel=0.01)
    # warm-up + the block-size estimate (blocks of 1 and 10) + the timed blocks
    assert len(calls) == 1 + 1 + 10 + t.repeats * t.number_per_run


def test_times_with_the_callers_thread_count() -> None:
    """torch's Timer defaults to one thread; we must time with the threads the caller set."""
    before = torch.get_num_threads()
    seen: list[int] = []
    clock = FakeClock()

    def fn() -> None:
        seen.append(torch.get_num_threads())
        clock.now += U

    try:
        torch.set_num_threads(2)
        time_callable(fn, min_run_time=3 * U, clock=clock)
    finally:
        torch.set_num_threads(before)
    assert set(seen) == {2}


def test_round_robin_interleaves_and_takes_the_median_over_rounds() -> None:
    clock = FakeClock()
    per_round = {"a": [1 * U, 2 * U, 8 * U], "b": [1 * U, 4 * U, 4 * U], "c": [2 * U] * 3}
    done: dict[str, int] = {name: 0 for name in per_round}  # measurements finished per mode
    order: list[str] = []
    progress: list[tuple[str, int]] = []

    def make(name: str) -> Callable[[], None]:
        def fn() -> None:
            order.append(name)
            clock.now += per_round[name][done[name]]

        return fn

    def on_measurement(name: str, r: int) -> None:
        progress.append((name, r))
        done[name] += 1

    result = time_round_robin(
        {name: make(name) for name in per_round},
        rounds=3,
        min_run_time_per_round=8 * U,
        clock=clock,
        on_measurement=on_measurement,
    )

    runs = [name for i, name in enumerate(order) if i == 0 or order[i - 1] != name]
    assert runs == ["a", "b", "c"] * 4  # one warm-up each, then three interleaved rounds
    assert progress == [(name, r) for r in range(3) for name in ("a", "b", "c")]

    a = result["a"]
    # budget 8 U per round: 8 repeats of 1 U, 4 of 2 U, 1 of 8 U
    assert [t.raw_times_s for t in a.rounds] == [(U,) * 8, (2 * U,) * 4, (8 * U,)]
    assert a.round_medians_s == (U, 2 * U, 8 * U)
    assert a.median_s == 2 * U  # median of round medians ...
    assert sorted(a.raw_times_s)[len(a.raw_times_s) // 2] == U  # ... not of the pooled times
    assert a.raw_times_s == (U,) * 8 + (2 * U,) * 4 + (8 * U,)
    assert a.repeats == 13
    assert a.iqr_s == U  # pooled: q25 = 1 U, q75 = 2 U
    assert a.noisy
    assert a.number_per_run == 1
    assert not result["c"].noisy

    b = result["b"]
    assert b.median_s == 4 * U
    assert ratio_within_rounds(a, b) == 1.0  # median of 1, 1/2, 2 ...
    assert a.median_s / b.median_s == 0.5  # ... where the ratio of medians says 0.5


def test_round_robin_rejects_zero_rounds() -> None:
    with pytest.raises(ValueError):
        time_round_robin({"a": lambda: None}, rounds=0)


def test_default_clock_cpu_and_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_clock("cpu") is time.perf_counter
    synced: list[torch.device] = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda d=None: synced.append(d))
    clock = default_clock("cuda:0")
    assert isinstance(clock(), float)
    assert synced == [torch.device("cuda:0")]  # waits for the device before reading the time
    with pytest.raises(ValueError):
        default_clock("meta")
