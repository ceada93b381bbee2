"""What a SLURM task was given, read from its environment, said in words, and followed by the
thread pools; outside SLURM, nothing."""

from __future__ import annotations

import os

import pytest
import torch

from jacbench.measure.allocation import Allocation, current_allocation, follow_allocation

TASK = {"SLURM_JOB_ID": "101", "SLURM_ARRAY_JOB_ID": "100", "SLURM_ARRAY_TASK_ID": "1",
        "SLURMD_NODENAME": "node7", "SLURM_CPUS_PER_TASK": "4", "SLURM_JOB_CPUS_PER_NODE": "64",
        "JACBENCH_SLURM_EXCLUSIVE": "1"}


def test_outside_slurm_there_is_no_allocation_and_nothing_is_changed():
    empty = current_allocation({})
    assert empty == Allocation() and empty.columns() == {
        "allocation": "", "alloc_cpus": None, "node_shared": None}
    assert follow_allocation(empty) is None


def test_an_array_task_is_read_from_slurms_variables():
    task = current_allocation(TASK, ask_scheduler=False)
    assert (task.job, task.node, task.cpus, task.exclusive) == ("100_1", "node7", 4, True)
    assert task.describe() == "slurm job 100_1 on node7: 4 CPUs, whole node"
    whole = current_allocation({**TASK, "SLURM_CPUS_PER_TASK": ""}, ask_scheduler=False)
    assert whole.cpus == 64  # no --cpus-per-task: the CPUs SLURM gave the job on its node


def test_a_node_shared_despite_asking_for_a_whole_one_is_said():
    shared = Allocation("100_1", "node7", 4, None, True, ("99",))
    assert shared.shared and shared.columns()["node_shared"] is True
    assert shared.describe().endswith("shared with job(s) 99 although a whole node was asked for")
    assert Allocation("100_1", "node7", 4, None, True, ()).shared is False


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity here")
def test_torch_and_the_cpu_affinity_follow_the_tasks_cpus():
    threads, cpus = torch.get_num_threads(), os.sched_getaffinity(0)
    try:
        assert follow_allocation(Allocation("1", "n", 1, None, True)) == 1
        assert torch.get_num_threads() == 1 and len(os.sched_getaffinity(0)) == 1
    finally:
        torch.set_num_threads(threads)
        os.sched_setaffinity(0, cpus)
