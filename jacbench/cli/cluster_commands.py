"""Sharded sweeps from the command line: --shard I/N for one slice, --shards N to submit them all
through submitit (``--executor slurm`` or ``local``), and ``python -m jacbench status DIR``."""

from __future__ import annotations

import argparse
import shlex
import sys
import uuid
from pathlib import Path
from typing import Any

from jacbench.cli.arguments import UserError, positive_int
from jacbench.run.shard import WHOLE, Shard, parse_shard

__all__ = ["add_cluster_flags", "add_status_parser", "cmd_status", "shard_of", "submit_sweep"]

#: Flags that say how to submit, not what to measure: a shard's own command leaves them out.
_SUBMIT_FLAGS = {"--shards": 1, "--only-shards": 1, "--executor": 1, "--slurm-partition": 1,
                 "--slurm-gpus-per-task": 1, "--slurm-time": 1, "--slurm-account": 1,
                 "--slurm-constraint": 1, "--slurm-cpus-per-task": 1, "--slurm-shared": 0,
                 "--parallel": 1, "--no-wait": 0, "--run-id": 1,
                 "--shard": 1, "--device": -1}


def add_cluster_flags(sweep: argparse.ArgumentParser) -> None:
    add = sweep.add_argument
    add("--shard", metavar="I/N", help="run only the I-th of N slices of the grid (0-based)")
    add("--shards", type=positive_int, metavar="N",
        help="split the grid into N shards and submit them as jobs (see --executor)")
    add("--only-shards", metavar="I,J", help="with --shards: submit only these (resubmission)")
    add("--executor", choices=("local", "slurm"), default="local",
        help="submitit executor for --shards: local processes (default) or a SLURM job array")
    add("--parallel", type=positive_int, metavar="K",
        help="shards running at once (local: at most one per --device; slurm: array limit)")
    add("--slurm-partition", metavar="P")
    add("--slurm-gpus-per-task", type=positive_int, metavar="G")
    add("--slurm-time", type=positive_int, default=60, metavar="MIN", help="per shard (60)")
    add("--slurm-account", metavar="A")
    add("--slurm-constraint", metavar="C", help="e.g. a GPU type: h100")
    add("--slurm-cpus-per-task", type=positive_int, metavar="N",
        help="CPUs per task (default: --threads; on a shared node, this machine's torch threads)")
    add("--slurm-shared", action="store_true",
        help="let a CPU-timing task share its node (default: a whole node, --exclusive)")
    add("--no-wait", action="store_true", help="with --shards: return once submitted")
    add("--run-id", metavar="ID", help=argparse.SUPPRESS)


def shard_of(args: argparse.Namespace) -> Shard:
    if not args.shard:
        return WHOLE
    try:
        return parse_shard(args.shard)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def measure_flags(argv: list[str]) -> list[str]:
    """The user's sweep flags without those that say how to submit (and without --device)."""
    kept, skip = [], 0
    for token in argv:
        if skip:
            if skip > 0 or not token.startswith("--"):
                skip = skip - 1 if skip > 0 else skip
                continue
            skip = 0
        name = token.split("=", 1)[0]
        if name in _SUBMIT_FLAGS:
            skip = 0 if "=" in token else _SUBMIT_FLAGS[name]
            continue
        kept.append(token)
    return kept


def _options(args: argparse.Namespace, devices: tuple[str, ...]) -> Any:
    from jacbench.run.submit import ClusterOptions

    if args.executor == "local":
        parallel = args.parallel or 1
        if parallel > len(devices):
            raise UserError(f"--parallel {parallel} would time {parallel} shards at once on "
                            f"{len(devices)} device(s) ({', '.join(devices)}): give each its "
                            "own, e.g. --device cuda:0 cuda:1")
        return ClusterOptions(executor="local", parallel=parallel)
    return ClusterOptions(executor=args.executor, partition=args.slurm_partition,
                          time_min=args.slurm_time, account=args.slurm_account,
                          constraint=args.slurm_constraint,
                          parallel=args.parallel or args.shards, **_slurm_resources(args))


def _slurm_resources(args: argparse.Namespace) -> dict[str, Any]:
    """What each array task asks for: the CPUs it times with, a whole node when it times on the
    CPU (unless --slurm-shared), a GPU when it times on one."""
    devices = set(args.device)
    on_cpu = bool(devices & {"cpu", "all"})
    exclusive = on_cpu and not args.slurm_shared
    cpus = args.slurm_cpus_per_task or args.threads
    if cpus is None and not exclusive:
        import torch

        cpus = torch.get_num_threads()
    gpus = args.slurm_gpus_per_task or (1 if any(d.startswith("cuda") for d in devices) else None)
    return {"cpus_per_task": cpus, "exclusive": exclusive, "gpus_per_task": gpus}


def _only(args: argparse.Namespace) -> list[int]:
    if not args.only_shards:
        return list(range(args.shards))
    try:
        chosen = sorted({int(i) for i in args.only_shards.split(",")})
    except ValueError:
        raise UserError(f"--only-shards takes I,J,..., got {args.only_shards!r}") from None
    if not all(0 <= i < args.shards for i in chosen):
        raise UserError(f"--only-shards {args.only_shards}: shards are 0 to {args.shards - 1}")
    return chosen


def submit_sweep(args: argparse.Namespace, spec: Any, devices: tuple[str, ...],
                 out: Path, recorded: Any) -> int:
    """Submit the shards of this sweep and, unless --no-wait, wait with progress lines. The
    run's record keeps ``recorded``: the spec as the shards resolve their devices."""
    from jacbench.results.folder import DONE_COLUMNS, done_rows, jobs_folder, read_results
    from jacbench.results.point import POINT_FIELDS
    from jacbench.results.shipped import check_not_shipped
    from jacbench.results.storage import check_writable
    from jacbench.run.submit import submit_shards, wait

    if args.shard:
        raise UserError("give --shard (run one slice here) or --shards (submit them all)")
    options = _options(args, devices)
    check_not_shipped(out)
    check_writable(out)
    run_id = args.run_id or uuid.uuid4().hex[:12]
    argv = [*measure_flags(args.argv), *([] if args.out else ["--out", str(out)])]
    shard_devices = list(devices) if options.executor == "local" else [None]
    if options.executor == "slurm":
        argv += ["--device", *args.device]
    total = len(spec.points)

    def done() -> int:
        done_now = done_rows(read_results(out, DONE_COLUMNS), run_id)
        return len(done_now.drop_duplicates(list(POINT_FIELDS)))

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    between = None if args.no_wait else (lambda batch: wait(batch, done, total, say))
    jobs = submit_shards(out, argv, _only(args), args.shards, run_id, options, shard_devices,
                         between=between, spec=recorded)
    print(f"run {run_id}: submitted {len(jobs)} shard(s) through submitit ({options.executor}): "
          f"jobs {', '.join(str(j.job_id) for j in jobs)}; logs in {jobs_folder(out)}")
    if args.no_wait:
        print(f"follow it with: python -m jacbench status {shlex.quote(str(out))}")
        return 0
    # locally every batch was waited for already: this only collects the failures
    failures = wait(jobs, done, total, say, every_s=10 if options.executor == "slurm" else 0,
                    log=jobs_folder(out))
    for line in failures:
        print(f"shard failed: {line}", file=sys.stderr)
    print(f"results: {out}; python -m jacbench status {shlex.quote(str(out))} says what is done")
    return 1 if failures else 0


def add_status_parser(commands: argparse._SubParsersAction) -> None:
    status = commands.add_parser("status", help="points done per shard of the runs in a folder")
    status.add_argument("results", metavar="RESULTS_DIR")


def cmd_status(args: argparse.Namespace) -> int:
    from jacbench.cli.status_command import print_status

    return print_status(Path(args.results))
