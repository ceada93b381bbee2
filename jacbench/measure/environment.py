"""Machine and software metadata, collected once per run and stored with every row."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import socket
import subprocess
import uuid
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import torch

import jacbench
from jacbench.measure.allocation import current_allocation


@lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo where there is one, else what platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


@lru_cache(maxsize=1)
def git_commit() -> str:
    """The commit of the jacbench checkout ('+dirty' with local changes), or '' when not in git."""
    here = Path(jacbench.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=here, capture_output=True,
            text=True, timeout=5, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return commit + ("+dirty" if dirty else "")


@lru_cache(maxsize=1)
def machine_id() -> str:
    """A digest of what tells this machine from another of the same host name and CPU model:
    /etc/machine-id where readable (stable across boots), the CPU count, the total memory, the
    OS and the architecture. Resume trusts earlier rows only where it matches."""
    try:
        ident = Path("/etc/machine-id").read_text().strip()
    except OSError:
        ident = ""
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        memory = 0
    parts = (ident, os.cpu_count(), memory, platform.system(), platform.machine())
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def package_version(name: str) -> str:
    """An installed package's version without importing it ('' when it is not installed)."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return ""


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def device_name(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return cpu_model()


#: How every median was taken (``measure.timing``), kept with each row: blocks of back-to-back
#: calls, the device synchronised at each block's edges (never per call: a GPU's ~10 us host
#: launch stays in the time, the timer's loop and sync are amortised over the block), and the
#: caches as the previous call left them. No L2 flush between calls (triton's do_bench flushes):
#: a working set smaller than the cache stays in it, as in a loop of Jacobians on one model.
TIMING_METHOD = "back-to-back calls in blocks, device synced at block edges, caches warm"


def run_environment() -> dict[str, object]:
    """Columns shared by every row of one run (the device name is added per device)."""
    return {
        "jacbench_version": jacbench.__version__,
        "torch_version": torch.__version__,
        "cuda_version": torch.version.cuda or "",
        "jax_version": package_version("jax"),
        "timing_method": TIMING_METHOD,
        "cpu_model": cpu_model(),
        "num_threads": torch.get_num_threads(),
        "host": socket.gethostname(),
        "machine_id": machine_id(),
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python_version": platform.python_version(),
        "git_commit": git_commit(),
        "run_id": uuid.uuid4().hex[:12],
        "started_at": now_iso(),
        **current_allocation().columns(),
    }
