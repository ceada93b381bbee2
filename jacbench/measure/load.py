"""What else the machine is doing: load average, CPU clock, other running processes, GPU state.

Read at the start of every point and stored with it, so a slow row can be explained later.
Reading only: nothing here changes a setting of the machine or the card.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

__all__ = ["Load", "busy_warning", "free_memory", "machine_load"]


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


def free_memory(device: str) -> int | None:
    """Bytes a new allocation on ``device`` can use now: the kernel's MemAvailable on the CPU,
    the driver's free memory of that very CUDA device. None where it cannot be read."""
    if device.startswith("cuda"):
        try:
            return int(torch.cuda.mem_get_info(torch.device(device))[0])
        except Exception:  # no driver, or no such device: the check is skipped
            return None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
