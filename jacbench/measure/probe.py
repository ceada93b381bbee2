"""Is the machine healthy right now? Speed probes, load readings and probe-guarded re-runs.

On shared machines and cloud VMs the host's speed changes under us: absolute times drift by
20-30% over minutes, and a 2-thread matmul can drop from ~170 to ~18 GFLOP/s for minutes when
the host stops co-scheduling the virtual cores. A short fixed matmul before and after each
measurement tells a slow machine from a slow mode; `measure_with_probes` re-runs a measurement
taken on a slow machine and flags it when the machine never recovers.
Knows nothing about Jacobians.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import torch

from jacbench.measure.timing import Clock, time_callable

__all__ = [
    "Load",
    "ProbeTracker",
    "Probed",
    "busy_warning",
    "machine_load",
    "measure_with_probes",
    "speed_probe",
]

T = TypeVar("T")


def speed_probe(
    device: torch.device | str = "cpu",
    *,
    dtype: torch.dtype = torch.float32,
    n: int = 256,
    clock: Clock | None = None,
    min_run_time: float = 0.03,
) -> float:
    """GFLOP/s of a fixed n×n matmul on `device` (2n³ flops per call, median time), well under 1 s.

    Uses the machine's threads as they are set, so it sees what the timed code will see (a host
    that stops running the virtual cores together shows up here as a collapse).
    """
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=gen, dtype=dtype).to(device)
    b = torch.randn(n, n, generator=gen, dtype=dtype).to(device)
    out = torch.empty_like(a)
    timing = time_callable(
        lambda: torch.mm(a, b, out=out), device=device, min_run_time=min_run_time, clock=clock
    )
    return 2 * n**3 / timing.median_s / 1e9


@dataclass(frozen=True)
class Load:
    """What else the machine is doing, read at the start of a point. None where unreadable."""

    load_avg_1m: float | None
    cpu_freq_mhz: float | None
    busy_procs: int | None
    gpu_clock_mhz: float | None
    gpu_temp_c: float | None


def _load_avg_1m() -> float | None:
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):  # not on this platform
        return None


def _cpu_freq_mhz() -> float | None:
    """Mean 'cpu MHz' over the cores in /proc/cpuinfo, else cpu0's cpufreq reading (kHz)."""
    try:
        mhz = [
            float(line.split(":", 1)[1])
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("cpu MHz")
        ]
        if mhz:
            return sum(mhz) / len(mhz)
    except (OSError, ValueError, IndexError):
        pass
    try:
        khz = Path("/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq").read_text()
        return float(khz) / 1000
    except (OSError, ValueError):
        return None


def _busy_procs() -> int | None:
    """Other processes in state R (running or runnable), from /proc/<pid>/stat.

    Counts processes by their main thread's state, our own process excluded.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    me = os.getpid()
    busy = 0
    try:
        entries = list(proc.iterdir())
    except OSError:
        return None
    for entry in entries:
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended, or is not ours to read
            continue
        # The command name is in parentheses and may hold spaces; the state follows the last ')'.
        fields = stat[stat.rfind(")") + 1 :].split()
        if fields and fields[0] == "R":
            busy += 1
    return busy


def _gpu_reading(read: Callable[[torch.device], int], dev: torch.device) -> float | None:
    """A read-only NVML reading through torch.cuda (which maps CUDA_VISIBLE_DEVICES to NVML)."""
    try:
        return float(read(dev))
    except Exception:  # no nvidia-ml-py, no driver, no permission: the field stays empty
        return None


def machine_load(device: torch.device | str = "cpu") -> Load:
    """Read the load average, CPU frequency, other busy processes and, on CUDA, GPU clock and
    temperature (via nvidia-ml-py when installed; reading only, never changing card settings).

    Never raises: a field that cannot be read is None.
    """
    try:
        dev: torch.device | None = torch.device(device)
    except (RuntimeError, TypeError):
        dev = None
    on_cuda = dev is not None and dev.type == "cuda"
    return Load(
        load_avg_1m=_load_avg_1m(),
        cpu_freq_mhz=_cpu_freq_mhz(),
        busy_procs=_busy_procs(),
        gpu_clock_mhz=_gpu_reading(torch.cuda.clock_rate, dev) if on_cuda else None,
        gpu_temp_c=_gpu_reading(torch.cuda.temperature, dev) if on_cuda else None,
    )


def busy_warning(load: Load, cores: int | None = None) -> str | None:
    """A one-line warning when the machine is already busy before we start, else None.

    Busy means at least one other running process: on a small machine it can swell
    multi-threaded timings many times over. The load average decays over minutes after a busy
    process ends, so it decides only where running processes cannot be counted (above 0.5).
    """
    if load.busy_procs is not None:
        busy_load, busy_procs = False, load.busy_procs >= 1
    else:
        busy_load, busy_procs = load.load_avg_1m is not None and load.load_avg_1m > 0.5, False
    if not (busy_load or busy_procs):
        return None
    cores = cores if cores is not None else os.cpu_count()
    parts = []
    if load.load_avg_1m is not None:
        on = f" on {cores} cores" if cores else ""
        parts.append(f"load average {load.load_avg_1m:.2f}{on}")
    if load.busy_procs is not None:
        plural = "" if load.busy_procs == 1 else "es"
        parts.append(f"{load.busy_procs} other running process{plural}")
    return f"warning: machine already busy ({', '.join(parts)}); timings may be slow and noisy"


class ProbeTracker:
    """Keeps the best speed probe seen in the run: the yardstick for a healthy machine."""

    def __init__(self) -> None:
        self.best: float | None = None

    def update(self, value: float) -> None:
        """Record a probe; non-finite or non-positive readings are ignored."""
        if math.isfinite(value) and value > 0 and (self.best is None or value > self.best):
            self.best = value

    def healthy(self, value: float, threshold: float = 0.7) -> bool:
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
    threshold: float = 0.7,
    max_retries: int = 2,
    wait_s: float = 2.0,
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
