"""``python -m jacbench status DIR``: how far the runs in a results folder have got.

For a sharded run (one submitted with --shards) each shard's points come from the resolved spec
its run record keeps (``jacbench.run.status``), so the status knows what is missing, not only
what is there, and prints the command that resubmits exactly the shards that are not complete.
A record written before records kept the spec gets one line saying so.
"""

from __future__ import annotations

from pathlib import Path

from jacbench.cli.arguments import UserError

__all__ = ["print_status"]


def print_status(folder: Path) -> int:
    from jacbench.results.folder import DONE_COLUMNS, read_results, read_run_records
    from jacbench.run.status import resubmit_command, run_status

    if not folder.is_dir():
        raise UserError(f"{folder} is not a results folder")
    frame = read_results(folder, DONE_COLUMNS)  # what is done, read quickly
    records = read_run_records(folder)
    if not records:
        _print_runs(frame)
        return 0
    incomplete_runs = 0
    for record in records:
        found = run_status(frame, record)
        print(f"run {record.run_id} ({record.shards} shards, {record.options['executor']}, "
              f"submitted {record.submitted_at}):")
        if found is None:
            every = resubmit_command(record, range(record.shards))
            print("  its record, from an older jacbench, keeps no spec, so what each shard lacks"
                  f" is unknown; resubmitting every shard measures only that:\n    {every}")
            continue
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
