"""Probes with fakes: a scripted probe, a recorded sleep, and a fake clock for the matmul probe."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from jacbench.measure.probe import Probed, ProbeTracker, measure_with_probes, speed_probe

#: The settings these tests run the probes with (a sweep passes its Settings' values).
SETTINGS = {"threshold": 0.7, "max_retries": 2, "wait_s": 2.0}


class Harness:
    """A scripted probe, a counting measurement and a recording sleep."""

    def __init__(self, probes: Iterable[float]) -> None:
        self.probes = iter(probes)
        self.measured = 0
        self.slept: list[float] = []

    def probe(self) -> float:
        return next(self.probes)

    def measure(self) -> str:
        self.measured += 1
        return f"m{self.measured}"

    def sleep(self, s: float) -> None:
        self.slept.append(s)

    def run(self, tracker: ProbeTracker, **kw: float) -> Probed[str]:
        return measure_with_probes(self.measure, self.probe, tracker, sleep=self.sleep,
                                   **{**SETTINGS, **kw})


def test_healthy_first_try_does_not_rerun() -> None:
    h = Harness([100.0, 95.0])
    p = h.run(ProbeTracker())
    assert p == Probed("m1", 100.0, 95.0, retries=0, healthy=True, reason="")
    assert h.measured == 1
    assert h.slept == []


def test_dip_triggers_a_rerun_after_a_wait() -> None:
    tracker = ProbeTracker()
    tracker.update(100.0)
    h = Harness([100.0, 20.0, 100.0, 100.0])  # the probe after the first measurement dips
    p = h.run(tracker, wait_s=2.0)
    assert h.slept == [2.0]
    assert h.measured == 2
    assert p == Probed("m2", 100.0, 100.0, retries=1, healthy=True, reason="")


def test_dip_within_the_first_point_counts_too() -> None:
    h = Harness([100.0, 20.0, 100.0, 90.0])  # fresh tracker: the best is set by this point
    p = h.run(ProbeTracker())
    assert (p.result, p.retries, p.healthy) == ("m2", 1, True)


def test_bound_ends_with_unhealthy_and_a_reason() -> None:
    tracker = ProbeTracker()
    tracker.update(178.0)
    h = Harness(itertools.repeat(41.0))
    p = h.run(tracker, max_retries=2, wait_s=0.5)
    assert h.measured == 3
    assert h.slept == [0.5, 0.5]
    assert not p.healthy
    assert p.retries == 2
    assert p.reason == "speed probe at 23% of the run's best (41 of 178 GFLOP/s) after 2 re-runs"


def test_unhealthy_result_is_the_attempt_with_the_best_lower_probe() -> None:
    tracker = ProbeTracker()
    tracker.update(100.0)
    h = Harness([30.0, 30.0, 50.0, 40.0, 20.0, 60.0])  # lower probes 30, 40, 20
    p = h.run(tracker, max_retries=2)
    assert (p.result, p.probe_before, p.probe_after, p.healthy) == ("m2", 50.0, 40.0, False)
    assert "40% of the run's best (40 of 100 GFLOP/s)" in p.reason


def test_no_retries_allowed() -> None:
    tracker = ProbeTracker()
    tracker.update(100.0)
    h = Harness([10.0, 10.0])
    p = h.run(tracker, max_retries=0)
    assert (h.measured, h.slept, p.healthy) == (1, [], False)
    assert p.reason.endswith("after 0 re-runs")


def test_tracker_keeps_the_best() -> None:
    tracker = ProbeTracker()
    assert tracker.best is None
    assert tracker.healthy(1.0, 0.7)  # no yardstick yet
    for v in (5.0, 10.0, 7.0, float("nan"), float("inf"), -1.0, 0.0):
        tracker.update(v)
    assert tracker.best == 10.0
    assert tracker.healthy(7.0, 0.7)
    assert not tracker.healthy(6.9, 0.7)


def test_speed_probe_gflops_from_the_clock() -> None:
    """Every clock read advances 0.5 s, so each timed block reads 0.5 s: one call per block."""
    reads = itertools.count()
    n = 64
    gflops = speed_probe("cpu", n=n, clock=lambda: 0.5 * next(reads), min_run_time=0.03)
    assert gflops == 2 * n**3 / 0.5 / 1e9
