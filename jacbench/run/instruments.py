"""The measuring instruments a sweep uses, in one place, so a test can hand in fakes.

``Instruments`` bundles what touches the machine besides the timed modes: the ceiling
measurement, the speed probe, the load and free-memory readings and the pause between re-runs.
``Yardsticks`` holds, per (device, dtype), the ceilings and the best probe seen in the run, and
applies the one policy that joins them: a probe faster than the ceiling proves the ceiling caught
a slow moment.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from jacbench.catalog import MATMUL_PRECISION
from jacbench.measure.ceilings import measure_ceilings
from jacbench.measure.load import Load, free_memory, machine_load
from jacbench.measure.plausible import ImplausibleCalibration, implausible
from jacbench.measure.probe import ProbeTracker, speed_probe
from jacbench.results.point import Point
from jacbench.run.calibration import calibrate_machine
from jacbench.run.case import TORCH_DTYPES, precision_unavailable, set_precision
from jacbench.theory.floors import Ceilings
from jacbench.theory.time_model import MachineModel

__all__ = ["CEILING_TRIES", "PROBES_AT_START", "Instruments", "Yardsticks", "best_ceilings"]

#: Ceiling measurements per (device, dtype); the best is kept.
CEILING_TRIES = 2
#: Speed probes before the first point: a yardstick, so that a slow start is seen as slow.
PROBES_AT_START = 3


def best_ceilings(device: str, dtype: str, tries: int = CEILING_TRIES) -> Ceilings:
    """The best of a few ceiling measurements: one taken in a slow moment would put every
    floor too low (a run here once measured 107 GFLOP/s where 190 is usual)."""
    tf32 = MATMUL_PRECISION[dtype] == "tf32"  # the ceiling of the products the dtype runs
    found = [measure_ceilings(device, TORCH_DTYPES[dtype], allow_tf32=tf32) for _ in range(tries)]
    best = max(found, key=lambda c: c.peak_flops)
    return replace(best, peak_bandwidth=max(c.peak_bandwidth for c in found))


def _probe(device: str, dtype: str) -> float:
    """The speed probe in the dtype's own products (a TF32 probe would raise float32's ceiling)."""
    set_precision(dtype)
    return speed_probe(device, dtype=TORCH_DTYPES[dtype])


@dataclass(frozen=True)
class Instruments:
    """What a sweep measures the machine with; each takes the point's device (and dtype)."""

    ceilings: Callable[[str, str], Ceilings] = best_ceilings
    probe: Callable[[str, str], float] = _probe  # GFLOP/s of a fixed matmul
    load: Callable[[str], Load] = machine_load
    sleep: Callable[[float], None] = time.sleep
    free_memory: Callable[[str], int | None] = free_memory  # bytes free on the device now
    #: The time model of (device, dtype), probing the run's modes only (None: every mode).
    calibrate: Callable[[str, str, tuple[str, ...] | None], MachineModel] = calibrate_machine


def _calibrated(device: str, dtype: str, ceilings: Ceilings, instruments: Instruments,
                report: Callable[[str], None], modes: tuple[str, ...] | None
                ) -> MachineModel | None:
    """The time model of (device, dtype), measured twice at most; None (said in one line) where
    it stays outside its physical ranges or beside the run's ceilings: its rows then carry no
    prediction rather than a wrong one."""
    problems: list[str] = []
    for _ in range(2):
        try:
            model = instruments.calibrate(device, dtype, modes)
        except ImplausibleCalibration as exc:
            problems = [str(exc)]
            continue
        problems = implausible(model, ceilings)
        if not problems:
            return model
    report(f"{device} {dtype}: time model not calibrated, its readings are outside physical "
           f"ranges ({'; '.join(problems)[:300]}); rows carry no prediction")
    return None


@dataclass
class Yardsticks:
    """Per (device, dtype): the run's measured ceilings and its best speed probe."""

    ceilings: dict[tuple[str, str], Ceilings] = field(default_factory=dict)
    trackers: dict[tuple[str, str], ProbeTracker] = field(default_factory=dict)
    #: The calibrated time model (``theory.time_model``) that predicts each row's time.
    models: dict[tuple[str, str], MachineModel] = field(default_factory=dict)

    @classmethod
    def measure(cls, pairs: list[tuple[str, str]], instruments: Instruments,
                report: Callable[[str], None], modes: tuple[str, ...] | None = None
                ) -> Yardsticks:
        """Ceilings and a starting probe yardstick for every (device, dtype) in ``pairs``; the
        time model calibrated for ``modes`` (default all): a mode the run does not measure is
        never loaded, so a broken one costs only itself."""
        found = cls()
        for device, dtype in pairs:
            why = precision_unavailable(device, dtype)
            if why:  # its rows say so; nothing to measure
                report(f"{device} {dtype}: {why}")
                continue
            c = found.ceilings[(device, dtype)] = instruments.ceilings(device, dtype)
            report(f"{device} {dtype}: matmul ceiling {c.peak_flops / 1e9:.0f} GFLOP/s, "
                   f"bandwidth {c.peak_bandwidth / 1e9:.1f} GB/s")
            m = _calibrated(device, dtype, c, instruments, report, modes)
            if m is not None:
                found.models[(device, dtype)] = m
                report(f"{device} {dtype}: time model calibrated in {m.calibration_s:.1f} s "
                       f"(a call {m.dispatch_s * 1e6:.1f} us, out of cache "
                       f"{m.bandwidth[-1][1] / 1e9:.0f} GB/s)")
            tracker = found.trackers.setdefault((device, dtype), ProbeTracker())
            for _ in range(PROBES_AT_START):
                tracker.update(instruments.probe(device, dtype))
        return found

    def tracker(self, point: Point) -> ProbeTracker:
        """The best-probe yardstick of the point's device and dtype (a float64 probe is no
        yardstick for float32)."""
        return self.trackers.setdefault((point.device, point.dtype), ProbeTracker())

    def ceilings_at(self, point: Point) -> Ceilings | None:
        """The ceilings of the point's device and dtype, raised by any faster speed probe (the
        probe is a matmul on the same device and dtype)."""
        ceilings = self.ceilings.get((point.device, point.dtype))
        if ceilings is None:
            return None
        best_probe = (self.tracker(point).best or 0.0) * 1e9
        return replace(ceilings, peak_flops=max(ceilings.peak_flops, best_probe))
