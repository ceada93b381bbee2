"""What a scheduler gave the process that times: the CPUs and GPUs of a SLURM task, whether the
node was asked for whole, and whether it turned out shared. Kept with every row, so a sharded
result says what it ran on, and applied to the thread pools, so torch and XLA time with the CPUs
the task was given rather than every core of a node it shares.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["EXCLUSIVE_VARIABLE", "Allocation", "current_allocation", "follow_allocation"]

#: Set by the submitting command in a SLURM task's environment when it asked for a whole node.
EXCLUSIVE_VARIABLE = "JACBENCH_SLURM_EXCLUSIVE"


@dataclass(frozen=True)
class Allocation:
    """A scheduler's grant to this process; ``job`` is '' outside a scheduler."""

    job: str = ""
    node: str = ""
    cpus: int | None = None
    gpus: int | None = None
    exclusive: bool | None = None
    #: Other jobs found running on the node at the start (None: not asked, or not knowable).
    others: tuple[str, ...] | None = None

    @property
    def shared(self) -> bool | None:
        """Whether the node held other jobs while this one timed (None outside a scheduler)."""
        return None if self.others is None else bool(self.others)

    def describe(self) -> str:
        """The grant in words, for the ``allocation`` column ('' outside a scheduler)."""
        if not self.job:
            return ""
        parts = [f"{self.cpus} CPUs" if self.cpus else "CPUs not set",
                 *([f"{self.gpus} GPUs"] if self.gpus else []),
                 "whole node" if self.exclusive else "node may be shared"]
        text = f"slurm job {self.job} on {self.node or '?'}: {', '.join(parts)}"
        if self.others:
            text += f"; shared with job(s) {', '.join(self.others)}"
            if self.exclusive:
                text += " although a whole node was asked for"
        return text

    def columns(self) -> dict[str, object]:
        return {"allocation": self.describe(), "alloc_cpus": self.cpus,
                "node_shared": self.shared}


def _int(text: str | None) -> int | None:
    """SLURM's counts: '2', or '2(x3)' in the per-node lists; None when absent."""
    if not text:
        return None
    try:
        return int(text.split("(")[0].split(",")[0])
    except ValueError:
        return None


def _others_on_node(node: str, job_ids: set[str]) -> tuple[str, ...] | None:
    """Running jobs on ``node`` other than this one, by squeue; None when squeue cannot say."""
    try:
        done = subprocess.run(["squeue", "-h", "-w", node, "-t", "RUNNING", "-o", "%A %i"],
                              capture_output=True, text=True, timeout=20, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    others = []
    for line in done.stdout.splitlines():
        ids = set(line.split())
        if ids and not ids & job_ids:
            others.append(line.split()[-1])
    return tuple(sorted(others))


def current_allocation(env: Mapping[str, str] | None = None,
                       ask_scheduler: bool = True) -> Allocation:
    """The SLURM grant this process runs under, from its environment (and squeue for the
    node's other jobs); an empty Allocation outside SLURM."""
    env = os.environ if env is None else env
    job = env.get("SLURM_JOB_ID", "")
    if not job:
        return Allocation()
    array, task = env.get("SLURM_ARRAY_JOB_ID"), env.get("SLURM_ARRAY_TASK_ID")
    name = f"{array}_{task}" if array and task else job
    node = env.get("SLURMD_NODENAME", "")
    cpus = _int(env.get("SLURM_CPUS_PER_TASK")) or _int(env.get("SLURM_JOB_CPUS_PER_NODE"))
    gpus = _int(env.get("SLURM_GPUS_PER_TASK")) or _int(env.get("SLURM_GPUS_ON_NODE"))
    exclusive = env.get(EXCLUSIVE_VARIABLE)
    others = _others_on_node(node, {job, name}) if ask_scheduler and node else None
    return Allocation(name, node, cpus, gpus,
                      None if exclusive is None else exclusive == "1", others)


def follow_allocation(allocation: Allocation) -> int | None:
    """Make torch and XLA use the task's CPUs: torch's thread count, and (where SLURM did not
    bind the task, as with task/none) the process's CPU affinity, which sizes XLA's pool. The
    affinity is narrowed only on a node asked for whole: on a shared node another task may be
    pinned to the same cores. Returns the thread count set, or None when nothing was set."""
    if not allocation.job or not allocation.cpus:
        return None
    import torch

    torch.set_num_threads(allocation.cpus)
    if allocation.exclusive and hasattr(os, "sched_setaffinity"):
        mine = sorted(os.sched_getaffinity(0))
        if len(mine) > allocation.cpus:
            os.sched_setaffinity(0, mine[:allocation.cpus])
    return allocation.cpus
