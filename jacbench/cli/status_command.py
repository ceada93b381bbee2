"""``python -m jacbench status DIR``: how far the runs in a results folder have got.

For a sharded run (one submitted with --shards) each shard's points are rebuilt from the command
that was submitted, so the status knows what is missing, not only what is there, and prints the
command that resubmits exactly the shards that are not complete.
"""

from __future__ import annotations

from pathlib import Path

from jacbench.cli.arguments import UserError

__all__ = ["print_status"]


def _shard_points(record, index: int) -> tuple[list, object]:
    """The points shard ``index`` of a submitted run holds, and the spec they come from."""
    from jacbench.cli import build_parser
    from jacbench.cli.sweep_command import build_spec
    from jacbench.run.shard import Shard
    from jacbench.run.sweep import slice_of

    args = build_parser().parse_args(["sweep", *record.argv])
    device = record.devices[index % len(record.devices)]
    values = [device] if device else args.device
    devices = tuple(d for v in values for d in (("cpu", "cuda") if v == "all" else (v,)))
    spec = slice_of(build_spec(args, devices), Shard(index, record.shards))
    return list(spec.points), spec


def print_status(folder: Path) -> int:
    from jacbench.results.folder import read_results
    from jacbench.run.status import resubmit_command, shard_status
    from jacbench.run.submit import read_runs

    if not folder.is_dir():
        raise UserError(f"{folder} is not a results folder")
    frame = read_results(folder)
    records = read_runs(folder)
    if not records:
        _print_runs(frame)
        return 0
    incomplete_runs = 0
    for record in records:
        shards, specs = zip(*(_shard_points(record, i) for i in range(record.shards)),
                            strict=True)
        found = shard_status(frame, record.run_id, shards,
                             lambda p, s=specs: next(x for x in s if p in x.points).modes_at(p))
        print(f"run {record.run_id} ({record.shards} shards, {record.options['executor']}, "
              f"submitted {record.submitted_at}):")
        for s in found:
            hosts = ", ".join(s.hosts) or "-"
            print(f"  shard {s.index}: {s.done}/{s.points} points done, {s.failed} with "
                  f"failed rows, {s.state} (measured on {hosts})")
        missing = [s.index for s in found if s.state != "complete"]
        if missing:
            incomplete_runs += 1
            print(f"  resubmit what is missing with:\n    {resubmit_command(record, missing)}")
    return 1 if incomplete_runs else 0


def _print_runs(frame) -> None:
    if frame.empty:
        print("no results in this folder")
        return
    for run_id, rows in frame.groupby(frame["run_id"].fillna("-"), sort=False):
        statuses = ", ".join(f"{n} {s}" for s, n in rows["status"].value_counts().items())
        hosts = ", ".join(sorted(set(rows["host"].dropna().astype(str)))) or "-"
        print(f"run {run_id} on {hosts}: {len(rows)} rows ({statuses})")
