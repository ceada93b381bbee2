"""Submitting the shards of a sweep through submitit: a SLURM job array on a cluster, local
processes on a laptop. jacbench writes no scheduler of its own.

Every shard is the same ``python -m jacbench sweep ...`` command with ``--shard I/N`` and the
run's id appended, run in the job by ``run_shard``; the shards write their own parts of one
results folder, which then reads as one table. What was submitted, the run's resolved spec with
it, is kept in the folder (a ``RunRecord``: ``jacbench.results.folder.write_run_record``) so
that ``python -m jacbench status DIR`` can say what is missing and print the command that
resubmits exactly that.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from jacbench.measure.allocation import EXCLUSIVE_VARIABLE
from jacbench.measure.environment import now_iso
from jacbench.results.folder import jobs_folder, write_run_record
from jacbench.results.run_record import RunRecord
from jacbench.run.spec import SweepSpec

__all__ = ["ClusterOptions", "make_executor", "run_shard", "shard_argv", "submit_shards"]


@dataclass(frozen=True)
class ClusterOptions:
    """Where and how the shards run: submitit's executor and the SLURM parameters it passes."""

    executor: str = "local"  # "slurm" or "local"
    partition: str | None = None
    gpus_per_task: int | None = None
    time_min: int = 60
    account: str | None = None
    constraint: str | None = None
    parallel: int = 1  # local: shards at a time (one per device); slurm: array parallelism
    cpus_per_task: int | None = None  # slurm: the CPUs each task times with
    exclusive: bool = False  # slurm: each task on a whole node (CPU timing shares nothing)

    def parameters(self) -> dict[str, Any]:
        """The keyword arguments for ``submitit.AutoExecutor.update_parameters``."""
        params: dict[str, Any] = {"name": "jacbench", "timeout_min": self.time_min}
        if self.executor == "slurm":
            params.update(slurm_partition=self.partition, slurm_account=self.account,
                          slurm_constraint=self.constraint,
                          slurm_gpus_per_task=self.gpus_per_task,
                          slurm_cpus_per_task=self.cpus_per_task,
                          slurm_exclusive=self.exclusive or None,
                          slurm_array_parallelism=self.parallel)
        return {k: v for k, v in params.items() if v is not None}

    def task_environment(self) -> dict[str, str]:
        """What a task is told about its request, beside SLURM's own variables."""
        return {EXCLUSIVE_VARIABLE: "1" if self.exclusive else "0"}


def make_executor(out: Path, options: ClusterOptions) -> Any:
    """A submitit executor logging into the folder's ``_jobs`` (skipped by its readers)."""
    import submitit

    executor = submitit.AutoExecutor(folder=jobs_folder(out), cluster=options.executor)
    executor.update_parameters(**options.parameters())
    return executor


def shard_argv(argv: Sequence[str], index: int, count: int, run_id: str,
               device: str | None = None) -> list[str]:
    """The sweep command of one shard: the user's flags, the shard, the run, maybe its device."""
    tail = ["--shard", f"{index}/{count}", "--run-id", run_id, "--yes"]
    return [*argv, *tail, *(["--device", device] if device else [])]


def run_shard(argv: list[str], env: dict[str, str] | None = None) -> int:
    """What a job runs: the sweep command of its shard, as a fresh ``python -m jacbench``
    process (clean thread pools, the same command a user would type), ``env`` added."""
    done = subprocess.run([sys.executable, "-m", "jacbench", "sweep", *argv], check=False,
                          env={**os.environ, **(env or {})})
    if done.returncode != 0:
        raise RuntimeError(f"jacbench sweep {shlex.join(argv)} exited {done.returncode}")
    return done.returncode


def submit_shards(out: Path, argv: Sequence[str], shards: Sequence[int], count: int,
                  run_id: str, options: ClusterOptions, devices: Sequence[str | None],
                  executor: Any = None,
                  between: Callable[[list[Any]], object] | None = None,
                  spec: SweepSpec | None = None) -> list[Any]:
    """Submit the given shards, shard i on ``devices[i % len(devices)]``. On SLURM one job
    array; locally ``options.parallel`` shards at a time (one per device), ``between(batch)``
    waiting for each batch before the next starts, so no two shards time on one device. The
    run's record keeps ``spec``, resolved (every device's points), for ``status``."""
    executor = executor or make_executor(out, options)
    commands = [shard_argv(argv, i, count, run_id, devices[i % len(devices)]) for i in shards]
    jobs: list[Any] = []
    record = RunRecord(run_id, list(argv), count, asdict(options), [], now_iso(),
                       list(devices), spec.to_data() if spec is not None else None)
    if options.executor == "slurm":
        envs = [options.task_environment()] * len(commands)
        with quiet_scheduler(jobs_folder(out)):
            jobs = list(executor.map_array(run_shard, commands, envs))
        write_run_record(out, replace(record, job_ids=[str(j.job_id) for j in jobs]))
        return jobs
    write_run_record(out, record)
    for start in range(0, len(commands), options.parallel):
        batch = [executor.submit(run_shard, c)
                 for c in commands[start:start + options.parallel]]
        jobs += batch
        write_run_record(out, replace(record, job_ids=[str(j.job_id) for j in jobs]))
        if between is not None:
            between(batch)
    return jobs


@contextmanager
def quiet_scheduler(log: Path | None) -> Iterator[None]:
    """Send what submitit and the tools it calls print while polling (``sacct`` errors where
    accounting is off, submitit's warnings about them) to ``<log>/scheduler.log`` instead of the
    user's terminal; jacbench's own lines and the jobs' failures are said outside this."""
    if log is None:
        yield
        return
    log.mkdir(parents=True, exist_ok=True)
    streams = (sys.stdout, sys.stderr)
    for stream in streams:
        stream.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(log / "scheduler.log", "ab") as handle:
            os.dup2(handle.fileno(), 1)
            os.dup2(handle.fileno(), 2)
            try:
                yield
            finally:
                for stream in streams:
                    stream.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    finally:
        for fd in saved:
            os.close(fd)


def wait(jobs: Sequence[Any], done: Callable[[], int], total: int,
         say: Callable[[str], None], every_s: float = 10.0,
         sleep: Callable[[float], None] = time.sleep, log: Path | None = None) -> list[str]:
    """Wait for the jobs, saying how many points are done across shards, the last line once every
    job has ended; returns the failures. The scheduler's own polling noise goes to ``log``."""
    shown = -1
    while True:
        with quiet_scheduler(log):
            running = not all(j.done() for j in jobs)
        now = done()
        if now != shown or not running:
            say(f"jacbench: {now}/{total} points done across {len(jobs)} shards"
                + ("" if running else ", every job ended"))
            shown = now
        if not running:
            break
        sleep(every_s)
    failures = []
    with quiet_scheduler(log):
        for job in jobs:
            try:
                job.result()
            except Exception as exc:  # reported by the caller, one line per shard
                text = str(exc).strip().splitlines()
                failures.append(f"job {job.job_id}: {text[-1] if text else type(exc).__name__}")
    return failures
