"""How far a sharded run has got: points done per shard, what failed, what is missing.

Each shard's points come from the resolved spec its run's record keeps, sliced as the shard
slices them. A point of a shard is done when every mode it asks for has a done row of the run
(``jacbench.results.folder.done_rows``: a final status, ok, mismatch or skipped); a shard is
complete when all its points are. What is not done is what a resubmission measures, and only
that (``jacbench.run.resume`` counts every shard's rows as done).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import pandas as pd

from jacbench.results.folder import done_rows
from jacbench.results.point import POINT_FIELDS, Point
from jacbench.results.run_record import RunRecord
from jacbench.results.schema import Role, Status
from jacbench.run.drift_points import stability_reference_points
from jacbench.run.shard import Shard
from jacbench.run.spec import SweepSpec
from jacbench.run.sweep import slice_of

__all__ = ["ShardStatus", "resubmit_command", "run_status", "shard_specs", "shard_status"]


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
    done = {(*_point_key(r), r["mode"]) for r in done_rows(frame, run_id).to_dict("records")}
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


def _on_device(spec: SweepSpec, device: str) -> SweepSpec:
    """The spec a shard dealt ``device`` builds from its command (``--device DEVICE``)."""
    points = tuple(p for p in spec.points if p.device == device)
    return replace(spec, points=points, extra_modes=tuple(
        (p, ms) for p, ms in spec.extra_modes if p.device == device),
        stability=stability_reference_points(points, spec.settings.stability_points))


def shard_specs(record: RunRecord) -> list[SweepSpec] | None:
    """The spec of each shard of a submitted run, from the spec its record keeps: shard i's
    points on its device (``record.devices[i % len]``; None: every device, as on SLURM), sliced
    as the shard slices them. None for a record of an older jacbench, which kept no spec."""
    if record.spec is None:
        return None
    spec = SweepSpec.from_data(record.spec)
    found = []
    for index in range(record.shards):
        device = record.devices[index % len(record.devices)]
        found.append(slice_of(_on_device(spec, device) if device else spec,
                              Shard(index, record.shards)))
    return found


def run_status(frame: pd.DataFrame, record: RunRecord) -> list[ShardStatus] | None:
    """The status of each shard of a submitted run; None when its record keeps no spec."""
    specs = shard_specs(record)
    if specs is None:
        return None
    return shard_status(frame, record.run_id, [s.points for s in specs],
                        lambda p: next(s for s in specs if p in s.points).modes_at(p))


def _point_key(row: dict) -> tuple:
    return tuple(row[c] for c in POINT_FIELDS)


def resubmit_command(record: RunRecord, missing: Sequence[int]) -> str:
    """The command that measures exactly what the given shards still lack."""
    options = record.options
    cluster = ["--shards", str(record.shards), "--only-shards", ",".join(map(str, missing)),
               "--run-id", record.run_id, "--executor", options["executor"]]
    for flag, name in (("--slurm-partition", "partition"), ("--slurm-gpus-per-task",
                       "gpus_per_task"), ("--slurm-time", "time_min"),
                       ("--slurm-account", "account"), ("--slurm-constraint", "constraint"),
                       ("--slurm-cpus-per-task", "cpus_per_task")):
        if options.get(name) is not None and options["executor"] == "slurm":
            cluster += [flag, str(options[name])]
    if options["executor"] == "slurm" and options.get("exclusive") is False:
        cluster.append("--slurm-shared")
    return shlex.join(["python", "-m", "jacbench", "sweep", *record.argv, *cluster])
