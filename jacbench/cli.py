"""Command line: ``python -m jacbench sweep | plot | report | compare``.

User errors (bad flags, a config that does not parse, a folder that cannot be written or read)
end in one line on stderr and a non-zero exit; nothing already written is changed. The heavy
modules (torch, matplotlib) are imported by the command that needs them, so ``--help`` is quick.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import jacbench
from jacbench.advise import add_advise_parser, cmd_advise
from jacbench.results.point import AXES
from jacbench.results.schema import MAX_INT
from jacbench.run.settings import DEVICES, Settings

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """An error the user caused; reported as one line."""


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line (no usage block) so scripts and people see the cause."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{self.prog}: {message}")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer") from None
    if not 1 <= value <= MAX_INT:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer below 2**63")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive finite number")
    return value


_AXIS_HELP = {"L": "layers", "D": "input size", "K": "hidden width", "P": "output size",
              "batch": "inputs per call"}


def _add_sweep_parser(commands: argparse._SubParsersAction) -> None:
    default = Settings()
    sweep = commands.add_parser(
        "sweep", help="time every mode over a grid of shapes and save the results as parquet",
        description="Time every Jacobian mode over a grid of shapes. Axis flags take one or more "
        "values; the grid is their product. With no flags, the 'default' preset runs.",
    )
    for axis in AXES:
        sweep.add_argument(f"--{axis}", nargs="+", type=_positive_int, metavar="N",
                           help=_AXIS_HELP[axis])
    add = sweep.add_argument
    add("--modes", nargs="+", metavar="MODE",
        help=f"modes to run (default: all of {', '.join(jacbench.modes())})")
    add("--device", default="all", choices=DEVICES,
        help="cpu, cuda, or all (cpu plus cuda when available; the default)")
    add("--dtype", nargs="+", metavar="DTYPE", help="float32 and/or float64")
    add("--activation", nargs="+", metavar="ACT", help="tanh, sigmoid, relu")
    add("--bias", action="store_true", default=None, help="models with biases")
    add("--min-run-time", type=_positive_float, metavar="S",
        help=f"timing budget per mode per round, seconds (default {default.min_run_time:g})")
    add("--rounds", type=_positive_int, metavar="N",
        help=f"interleaved timing rounds per point (default {default.rounds})")
    add("--max-call-time", type=_positive_float, metavar="S",
        help="skip a mode whose single call takes longer than this "
        f"(default {default.max_call_time:g} s)")
    add("--preset", metavar="NAME", help="a built-in grid: default, quick, seed")
    add("--config", metavar="FILE.toml", help="a grid in the presets' TOML form")
    add("--out", metavar="DIR", help="results folder (default results/<date>-<host>-<devices>/)")
    add("--seed", type=int, metavar="N", help="model and input seed (0 to 2**63-1)")
    add("--threads", type=_positive_int, metavar="N",
        help="torch intra-op threads (default: torch's own choice)")
    add("--append", action="store_true",
        help="allow adding to a folder measured on another machine or torch")
    add("--yes", action="store_true",
        help="run a sweep even when it is estimated to take more than two hours")
    add("--no-progress", action="store_true",
        help="no progress bar or progress lines (default: a bar on a terminal, lines elsewhere)")
    add("--no-report", action="store_true", help="skip the plots and report written at the end")


def _add_folder_parsers(commands: argparse._SubParsersAction) -> None:
    plot = commands.add_parser("plot", help="draw the plots of a results folder")
    plot.add_argument("results", metavar="RESULTS_DIR")
    plot.add_argument("--out", metavar="DIR",
                      help="where to write the PNGs (default RESULTS_DIR/_plots)")
    report = commands.add_parser("report", help="write RESULTS_DIR/_report.md (and its plots)")
    report.add_argument("results", metavar="RESULTS_DIR")
    compare = commands.add_parser(
        "compare", help="how well a second results folder reproduces a first one's medians")
    compare.add_argument("first", metavar="RESULTS_A")
    compare.add_argument("second", metavar="RESULTS_B")
    compare.add_argument("--min-time", type=_positive_float, default=1e-3, metavar="S",
                         help="only points whose median is at least this (default 0.001 s)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m jacbench", description=jacbench.__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"jacbench {jacbench.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add_sweep_parser(commands)
    _add_folder_parsers(commands)
    add_advise_parser(commands)
    return parser


def _devices(choice: str) -> tuple[str, ...]:
    import torch

    if choice == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA device is available to torch "
                        f"{torch.__version__} on this machine")
    if choice == "all":
        return ("cpu", "cuda") if torch.cuda.is_available() else ("cpu",)
    return (choice,)


def _spec(args: argparse.Namespace, devices: tuple[str, ...]):  # -> SweepSpec
    from jacbench.run import spec as specs

    if args.preset and args.config:
        raise UserError("give --preset or --config, not both")
    if args.seed is not None and not 0 <= args.seed <= MAX_INT:
        raise UserError(f"--seed must be from 0 to 2**63-1, got {args.seed}")
    axes_given = any(getattr(args, a) for a in AXES)
    if args.config:
        config = specs.load_config(args.config)
    elif args.preset or not axes_given:
        config = specs.load_preset(args.preset or "default")
    else:
        config = {}
    overrides = {a: getattr(args, a) for a in AXES}
    overrides.update(modes=args.modes, dtype=args.dtype, activation=args.activation,
                     bias=args.bias, seed=args.seed, min_run_time=args.min_run_time,
                     rounds=args.rounds, max_call_time=args.max_call_time)
    return specs.build_spec(config, overrides, devices)


def cmd_sweep(args: argparse.Namespace) -> int:
    import torch

    from jacbench.render.summary import format_summary
    from jacbench.run.sweep import default_out, run_sweep

    devices = _devices(args.device)
    spec = _spec(args, devices)
    threads = torch.get_num_threads()
    if args.threads:
        cores = os.cpu_count() or 1
        if args.threads > 4 * cores:
            raise UserError(f"--threads {args.threads} is more than four threads per core on "
                            f"this {cores}-core machine")
        torch.set_num_threads(args.threads)
    out = Path(args.out) if args.out else default_out(devices, _run_name(args))
    progress = False if args.no_progress else None
    try:
        outcome = run_sweep(spec, out, append=args.append, progress=progress, yes=args.yes)
    except KeyboardInterrupt:
        print(f"\ninterrupted: every completed point is saved in {out}; run the same command "
              "to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        torch.set_num_threads(threads)  # main() may be called again in the same process
    print(format_summary(outcome.frame, outcome.run_id))
    print(f"results: {outcome.out} ({outcome.new_rows} new rows, {len(outcome.frame)} in all)")
    if not args.no_report and outcome.new_rows:
        from jacbench.results.storage import ResultsError

        try:
            _plots_and_report(outcome.out)
        except (ResultsError, OSError) as exc:  # the results are safe; say what is missing
            print(f"plots and report not written: {_one_line(exc)}", file=sys.stderr)
    return 0


def _run_name(args: argparse.Namespace) -> str:
    """What the default results folder is named after: the preset, the config, or 'custom'."""
    if args.config:
        return Path(args.config).stem
    axes_given = any(getattr(args, a) for a in AXES)
    return args.preset or ("custom" if axes_given else "default")


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _plots_and_report(folder: Path) -> None:
    from jacbench.render.plots import make_plots
    from jacbench.render.report import write_report

    plots = make_plots(folder)
    for line in plots.skipped:
        print(f"plot skipped: {line}")
    print(f"report: {write_report(folder, plots)}")


def cmd_plot(args: argparse.Namespace) -> int:
    from jacbench.render.plots import make_plots

    result = make_plots(_existing_folder(args.results), args.out)
    for line in result.skipped:
        print(f"skipped: {line}")
    for path in result.paths:
        print(path)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    _plots_and_report(_existing_folder(args.results))
    return 0


def _existing_folder(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        raise UserError(f"{text} is not a results folder")
    return path


def cmd_compare(args: argparse.Namespace) -> int:
    from jacbench.analysis.compare import compare_runs
    from jacbench.render.format import fmt_time
    from jacbench.results.point import point_label

    result = compare_runs(_existing_folder(args.first), _existing_folder(args.second),
                          args.min_time)
    if result.pairs.empty:
        raise UserError(f"no (point, mode) was measured ok in both {args.first} and "
                        f"{args.second} on the same machine")
    for r in result.considered.head(15).to_dict("records"):
        print(f"{r['mode']:>28}  {point_label(r)}  "
              f"{fmt_time(r['time_a']):>9} -> {fmt_time(r['time_b']):>9}  {r['change']:+.1%}")
    print(result.sentence())
    return 0


COMMANDS = {"sweep": cmd_sweep, "plot": cmd_plot, "report": cmd_report, "compare": cmd_compare,
            "advise": cmd_advise}


def main(argv: Sequence[str] | None = None) -> int:
    from jacbench.results.storage import ResultsError
    from jacbench.run.spec import SpecError

    parser = build_parser()
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        return COMMANDS[args.command](args)
    except (UserError, SpecError, ResultsError) as exc:
        print(f"jacbench: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        sys.stderr.close()
        return 0
    except OSError as exc:  # the file system said no: a full disk, a read-only folder, ...
        print(f"jacbench: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM (a scheduler's or a user's kill) ends a sweep as Ctrl-C does: saved, resumable."""
    raise KeyboardInterrupt
