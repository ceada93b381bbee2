"""``python -m jacbench sweep``: its flags, the devices and spec they mean, and the run itself
(or, with --shards, the submission of its shards: ``jacbench.cli.cluster_commands``)."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

from jacbench.catalog import DTYPES, default_modes, mode_names
from jacbench.cli.arguments import (
    EXIT_INTERRUPTED,
    UserError,
    add_plugin_flag,
    load_plugins,
    one_line,
    positive_float,
    positive_int,
)
from jacbench.cli.folder_commands import plots_and_report
from jacbench.results.point import AXES
from jacbench.results.schema import MAX_INT
from jacbench.run.settings import Settings

__all__ = ["CPU_PRESET", "GPU_PRESET", "add_sweep_parser", "build_spec", "cmd_sweep",
           "default_preset", "devices_of", "run_name"]

_AXIS_HELP = {"L": "layers", "D": "input size", "K": "hidden width", "P": "output size",
              "batch": "inputs per call"}
#: The presets a sweep runs when it names none and gives no axes: one sized for a CPU of a few
#: cores, one for a large GPU (its largest points take the CPU minutes each).
CPU_PRESET, GPU_PRESET = "default", "gpu"


def add_sweep_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    default = Settings()
    sweep = commands.add_parser(
        "sweep", help="time every mode over a grid of shapes and save the results as parquet",
        description="Time every Jacobian mode over a grid of shapes. Axis flags take one or more "
        "values; the grid is their product. With no --preset, --config or axis flags, the "
        f"'{GPU_PRESET}' preset runs when every --device is CUDA (--device cuda), else the "
        f"'{CPU_PRESET}' preset.",
    )
    for axis in AXES:
        sweep.add_argument(f"--{axis}", nargs="+", type=positive_int, metavar="N",
                           help=_AXIS_HELP[axis])
    add = sweep.add_argument
    add("--modes", nargs="+", metavar="MODE",
        help=f"modes to run (default: {', '.join(default_modes())}; every mode: "
        f"{', '.join(mode_names())}; a plugin's own too)")
    add("--device", nargs="+", default=["all"], metavar="DEVICE",
        help="cpu, cuda, cuda:N, or all (cpu plus cuda when available; the default); several "
        "are measured one after another, or shared out to the shards of --executor local")
    add("--dtype", nargs="+", metavar="DTYPE",
        help=f"one or more of {', '.join(DTYPES)} (default {DTYPES[0]}; float32 is strict, "
        "TF32 off; tf32 stores float32 and multiplies on CUDA tensor cores)")
    add("--activation", nargs="+", metavar="ACT", help="tanh, sigmoid, relu")
    add("--bias", action="store_true", default=None, help="models with biases")
    add("--min-run-time", type=positive_float, metavar="S",
        help=f"timing budget per mode per round, seconds (default {default.min_run_time:g})")
    add("--rounds", type=positive_int, metavar="N",
        help=f"interleaved timing rounds per point (default {default.rounds})")
    add("--max-call-time", type=positive_float, metavar="S",
        help="skip a mode whose single call takes longer than this "
        f"(default {default.max_call_time:g} s)")
    add("--preset", metavar="NAME", help="a built-in grid: default, quick, seed, gpu (default: "
        f"{GPU_PRESET} when every --device is cuda, else {CPU_PRESET})")
    add("--config", metavar="FILE.toml", help="a grid in the presets' TOML form")
    add("--out", metavar="DIR", help="results folder (default runs/<preset>-<host>-<devices>/;"
        " never a folder the repository ships under results/)")
    add("--seed", type=int, metavar="N", help="model and input seed (0 to 2**63-1)")
    add("--threads", type=positive_int, metavar="N",
        help="torch intra-op threads (default: torch's own choice)")
    add("--append", action="store_true",
        help="allow adding to a folder measured on another machine, torch or settings")
    add("--yes", action="store_true",
        help="run a sweep even when it is estimated to take more than two hours")
    add("--no-progress", action="store_true",
        help="no progress bar or progress lines (default: a bar on a terminal, lines elsewhere)")
    add("--no-report", action="store_true", help="skip the plots and report written at the end")
    add("--mode-timeout", type=positive_float, metavar="S",
        help="kill a mode whose check or one timed measurement runs longer than this, and store "
        f"it as timed out (default {default.mode_timeout:g} s)")
    add("--no-isolation", action="store_true",
        help="run the modes in the sweep's own process (a crash then ends the sweep)")
    add_plugin_flag(sweep)
    return sweep


def devices_of(values: list[str]) -> tuple[str, ...]:
    """The devices the --device values name, checked against this machine."""
    import torch

    found: list[str] = []
    for value in values:
        if value == "all":
            found += ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
            continue
        if value != "cpu" and not re.fullmatch(r"cuda(:\d+)?", value):
            raise UserError(f"--device {value!r}: choose cpu, cuda, cuda:N or all")
        if value.startswith("cuda"):
            if not torch.cuda.is_available():
                raise UserError(f"--device {value}: no CUDA device is available to torch "
                                f"{torch.__version__} on this machine")
            count = torch.cuda.device_count()
            if ":" in value and int(value.split(":")[1]) >= count:
                raise UserError(f"--device {value}: this machine has {count} CUDA device(s)")
        found.append(value)
    twice = sorted({d for d in found if found.count(d) > 1})
    if twice:
        raise UserError(f"--device names {', '.join(twice)} twice")
    return tuple(found)


def default_preset(devices: tuple[str, ...]) -> str:
    """The preset for a sweep that names none: the GPU's when every device is a CUDA one; else
    the CPU's, which a CPU beside a GPU (``--device all``) can finish."""
    return GPU_PRESET if devices and all(d.startswith("cuda") for d in devices) else CPU_PRESET


def build_spec(args: argparse.Namespace, devices: tuple[str, ...]) -> Any:
    """The SweepSpec the flags describe."""
    from jacbench.run import spec as specs

    if args.preset and args.config:
        raise UserError("give --preset or --config, not both")
    if args.seed is not None and not 0 <= args.seed <= MAX_INT:
        raise UserError(f"--seed must be from 0 to 2**63-1, got {args.seed}")
    axes_given = any(getattr(args, a) for a in AXES)
    if args.config:
        config = specs.load_config(args.config)
    elif args.preset or not axes_given:
        config = specs.load_preset(args.preset or default_preset(devices))
    else:
        config = {}
    overrides = {a: getattr(args, a) for a in AXES}
    overrides.update(modes=args.modes, dtype=args.dtype, activation=args.activation,
                     bias=args.bias, seed=args.seed, min_run_time=args.min_run_time,
                     rounds=args.rounds, max_call_time=args.max_call_time,
                     mode_timeout=args.mode_timeout)
    return specs.build_spec(config, overrides, devices)


def run_name(args: argparse.Namespace, devices: tuple[str, ...] = ()) -> str:
    """What the default results folder is named after: the preset (the devices' default one when
    none is named), the config, or 'custom'."""
    if args.config:
        return Path(args.config).stem
    axes_given = any(getattr(args, a) for a in AXES)
    return args.preset or ("custom" if axes_given else default_preset(devices))


def _threads(args: argparse.Namespace) -> None:
    """--threads, else the CPUs of the SLURM task this runs in, else torch's own choice."""
    import torch

    from jacbench.measure.allocation import current_allocation, follow_allocation

    if not args.threads:
        follow_allocation(current_allocation(ask_scheduler=False))
        return
    cores = os.cpu_count() or 1
    if args.threads > 4 * cores:
        raise UserError(f"--threads {args.threads} is more than four threads per core on "
                        f"this {cores}-core machine")
    torch.set_num_threads(args.threads)


def cmd_sweep(args: argparse.Namespace) -> int:
    import torch

    from jacbench.cli.cluster_commands import shard_of, submit_sweep
    from jacbench.render.summary import format_summary
    from jacbench.run.sweep import default_out, run_sweep

    load_plugins(args)
    devices = devices_of(args.device)
    spec = build_spec(args, devices)
    out = Path(args.out) if args.out else default_out(devices, run_name(args, devices))
    if args.shards:  # a SLURM node resolves --device itself: 'all' is its cpu and cuda
        nodes = devices if args.executor == "local" else tuple(
            d for v in args.device for d in (("cpu", "cuda") if v == "all" else (v,)))
        return submit_sweep(args, spec, devices, out, build_spec(args, nodes))
    threads = torch.get_num_threads()
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    _threads(args)
    progress = False if args.no_progress else None
    try:
        outcome = run_sweep(spec, out, append=args.append, progress=progress, yes=args.yes,
                            shard=shard_of(args), run_id=args.run_id,
                            isolate=False if args.no_isolation else None)
    except KeyboardInterrupt:
        print(f"\ninterrupted: every completed point is saved in {out}; run the same command "
              "to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        torch.set_num_threads(threads)  # main() may be called again in the same process
        if cpus is not None:
            os.sched_setaffinity(0, cpus)
    print(format_summary(outcome.frame, outcome.run_id))
    print(f"results: {outcome.out} ({outcome.new_rows} new rows, {len(outcome.frame)} in all)")
    if not args.no_report and outcome.new_rows:
        from jacbench.results.storage import ResultsError

        try:
            plots_and_report(outcome.out)
        except (ResultsError, OSError) as exc:  # the results are safe; say what is missing
            print(f"plots and report not written: {one_line(exc)}", file=sys.stderr)
    return 0
