"""How far a sharded run has got: points done per shard, what failed, what is missing.

A point of a shard is done when every mode it asks for has a row of the run with a final status
(ok, mismatch, skipped); a shard is complete when all its points are. What is not done is what a
resubmission measures, and only that (``jacbench.run.resume`` counts every shard's rows as done).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from jacbench.results.point import POINT_FIELDS, Point
from jacbench.results.schema import Role, Status
from jacbench.run.submit import RunRecord

__all__ = ["ShardStatus", "resubmit_command", "shard_status"]


@dataclass(frozen=True)
class ShardStatus:
    index: int
    points: int  # points this shard holds
    done: int  # of them, measured to a final status by some shard of the run
    failed: int  # of them, with a row that failed (error, oom, unhealthy, unavailable)
    hosts: tuple[str, ...]  # where its rows were measured

    @property
    def state(self) -> str:
        if self.done == self.points:
            return "complete"
        return "not started" if self.done == 0 and self.failed == 0 else "incomplete"


def shard_status(frame: pd.DataFrame, run_id: str, shards: Sequence[Sequence[Point]],
                 modes_at: Callable[[Point], tuple[str, ...]]) -> list[ShardStatus]:
    """The status of each shard of ``run_id`` against the points it should measure."""
    rows = frame[(frame["run_id"] == run_id) & (frame["role"] == Role.SWEEP)]
    done = {(*_point_key(r), r["mode"]) for r in rows.to_dict("records")
            if r["status"] in Status.DONE}
    failed = {_point_key(r) for r in rows.to_dict("records") if r["status"] not in Status.DONE}
    found = []
    for index, points in enumerate(shards):
        keys = [tuple(p.key().values()) for p in points]
        complete = sum(all((*k, m) in done for m in modes_at(p))
                       for k, p in zip(keys, points, strict=True))
        mine = rows[rows["shard"] == index]
        found.append(ShardStatus(index, len(points), complete,
                                 sum(k in failed for k in keys),
                                 tuple(sorted(set(mine["host"].dropna().astype(str))))))
    return found


def _point_key(row: dict) -> tuple:
    return tuple(row[c] for c in POINT_FIELDS)


def resubmit_command(record: RunRecord, missing: Sequence[int]) -> str:
    """The command that measures exactly what the given shards still lack."""
    options = record.options
    cluster = ["--shards", str(record.shards), "--only-shards", ",".join(map(str, missing)),
               "--run-id", record.run_id, "--executor", options["executor"]]
    for flag, name in (("--slurm-partition", "partition"), ("--slurm-gpus-per-task",
                       "gpus_per_task"), ("--slurm-time", "time_min"),
                       ("--slurm-account", "account"), ("--slurm-constraint", "constraint")):
        if options.get(name) is not None and options["executor"] == "slurm":
            cluster += [flag, str(options[name])]
    return shlex.join(["python", "-m", "jacbench", "sweep", *record.argv, *cluster])
