"""For each Point: build the case, check every mode (untimed), time them in rounds, make records.

Nothing a single point does can end the sweep: out-of-memory, a mode too slow to time, and any
other exception become a record with a status and a reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from jacbench.measure.environment import now_iso
from jacbench.measure.probe import Probed, measure_with_probes
from jacbench.measure.stats import RoundRobinTiming
from jacbench.measure.timing import default_clock, time_round_robin
from jacbench.results.point import Point
from jacbench.results.record import Outcome, Probes, Record
from jacbench.results.schema import Role, Status
from jacbench.run.case import build_case, precision_unavailable
from jacbench.run.check import check_mode, failure
from jacbench.run.instruments import Instruments, Yardsticks
from jacbench.run.memory import case_bytes, mode_bytes, too_big
from jacbench.run.point_theory import record_theory
from jacbench.run.settings import Settings

__all__ = ["PointRunner"]

#: What timing a set of modes gives back: a timing per mode, or the failure met while timing.
Timed = dict[str, RoundRobinTiming | Outcome]


class _ModeFailed(Exception):
    """Raised out of the timing loop by the mode that failed there (its error is the cause)."""

    def __init__(self, mode: str) -> None:
        super().__init__(mode)
        self.mode = mode


def _guarded(mode: str, fn: Callable[[], object]) -> Callable[[], object]:
    def call() -> object:
        try:
            return fn()
        except Exception as exc:
            raise _ModeFailed(mode) from exc

    return call


@dataclass
class PointRunner:
    """Runs points one after another, sharing the run's yardsticks (ceilings, best probes)."""

    settings: Settings
    environment: Mapping[str, Any]
    yardsticks: Yardsticks
    instruments: Instruments = dataclasses.field(default_factory=Instruments)
    on_progress: Callable[[str], None] | None = None
    #: Told the mode that starts running (its check, warm-up or a timed measurement), and ""
    #: when none runs: how a worker process says what it was running when it died.
    on_mode: Callable[[str], None] | None = None

    def run(self, point: Point, modes: tuple[str, ...], role: str = Role.SWEEP) -> list[Record]:
        """A record for every mode at this point, whatever happens."""
        readings = dataclasses.asdict(self.instruments.load(point.device))
        unavailable = precision_unavailable(point.device, point.dtype)
        if unavailable:  # no mode can run this precision here (TF32 on a CPU)
            lost = Outcome(Status.UNAVAILABLE, unavailable)
            return [self._record(point, m, role, readings, lost) for m in modes]
        free = self.instruments.free_memory(point.device)
        needed = case_bytes(point)
        why = too_big(needed, free)
        if why:
            lost = Outcome(Status.OOM, f"the model and reference {why}")
            return [self._record(point, m, role, readings, lost) for m in modes]
        try:
            case = build_case(point)
        except Exception as exc:  # the model or the reference did not fit: every mode fails
            lost = failure(exc, point.device, "building the point: ")
            return [self._record(point, m, role, readings, lost) for m in modes]
        checked, timeable = {}, {}
        for m in modes:
            self._progress(f"{point.label()} check {m}")
            self._mode(m)
            why = too_big(needed + mode_bytes(point, m), free)
            if why:
                checked[m] = Outcome(Status.OOM, f"one call {why}")
                continue
            checked[m], ready = check_mode(case, point, m, self.settings.max_call_time)
            if ready is not None:
                timeable[m] = ready.call
        self._mode("")
        probed = self._time_with_probes(point, timeable) if timeable else None
        del case
        if point.device.startswith("cuda"):
            torch.cuda.empty_cache()
        return [self._record(point, m, role, readings, checked[m], probed) for m in modes]

    def records_of(self, point: Point, modes: tuple[str, ...], role: str,
                   outcome: Outcome) -> list[Record]:
        """The records of modes that all ended in ``outcome`` (measured by no one here)."""
        readings = dataclasses.asdict(self.instruments.load(point.device))
        return [self._record(point, m, role, readings, outcome) for m in modes]

    def _mode(self, mode: str) -> None:
        if self.on_mode is not None:
            self.on_mode(mode)

    def _progress(self, text: str) -> None:
        if self.on_progress is not None:
            self.on_progress(text)

    def _time_with_probes(self, point: Point, fns: dict[str, Callable[[], object]]
                          ) -> Probed[Timed]:
        s, instruments = self.settings, self.instruments
        return measure_with_probes(
            lambda: self._time(point, fns),
            lambda: instruments.probe(point.device, point.dtype),
            self.yardsticks.tracker(point),
            threshold=s.probe_threshold, max_retries=s.max_retries, wait_s=s.retry_wait,
            sleep=instruments.sleep,
        )

    def _time(self, point: Point, fns: dict[str, Callable[[], object]]) -> Timed:
        """Round-robin timings per mode; a mode that fails while timed gets its failure in its
        place and the others are timed again without it."""
        failures: dict[str, Outcome] = {}
        while True:
            alive = {m: _guarded(m, fn) for m, fn in fns.items() if m not in failures}
            if not alive:
                return dict(failures)
            try:
                timings: Timed = dict(time_round_robin(
                    alive, rounds=self.settings.rounds, device=point.device,
                    min_run_time_per_round=self.settings.min_run_time,
                    clock=default_clock(point.device),
                    on_measurement=lambda m, r: self._measured(point, m, r),
                    on_start=self._mode,
                ))
            except _ModeFailed as failed:
                assert failed.__cause__ is not None
                failures[failed.mode] = failure(failed.__cause__, point.device, "while timing: ")
                continue
            return {**timings, **failures}

    def _measured(self, point: Point, mode: str, r: int) -> None:
        self._mode("")
        self._progress(f"{point.label()} {mode} round {r + 1}")

    def _record(self, point: Point, mode: str, role: str, readings: dict[str, Any],
                checked: Outcome, probed: Probed[Timed] | None = None) -> Record:
        model = self.yardsticks.models.get((point.device, point.dtype))
        theory = record_theory(point, mode, model, self.yardsticks.ceilings_at(point))
        record = Record(
            role=role, mode=mode, point=point, outcome=checked, theory=theory,
            readings=readings, min_run_time_s=self.settings.min_run_time,
            rounds=self.settings.rounds,
            measured_at=now_iso(), environment=self.environment,
        )
        if probed is None or checked.status != Status.OK:
            return record
        probes = Probes(probed.probe_before, probed.probe_after, probed.retries)
        timed = probed.result[mode]
        if isinstance(timed, Outcome):  # failed while timed: keep the check's error figure
            outcome = dataclasses.replace(timed, rel_error=checked.rel_error,
                                          call_s=checked.call_s)
            return dataclasses.replace(record, outcome=outcome, probes=probes)
        if not probed.healthy:
            checked = dataclasses.replace(checked, status=Status.UNHEALTHY, reason=probed.reason)
        return dataclasses.replace(record, outcome=checked, probes=probes, timing=timed)
