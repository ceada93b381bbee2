"""``python -m jacbench advise``: the command line of the advisor (``jacbench.run.advise``, its
output written by ``jacbench.render.advise``).

    python -m jacbench advise --L 10 --D 1000 --K 1000 --P 1
    python -m jacbench advise --L 4 --D 64 --K 128 --P 64 --batch 16 --from results/x --json
    python -m jacbench advise --L 6 --D 512 --K 16 --P 512 --measure

Ranks every mode available here by the calibrated time model's prediction, each with the term
that dominates it in words. Errors (a bad shape, an unknown device, no CUDA, a folder without a
calibration) are one line on stderr and exit status 2. torch is imported only when it runs, so
``--help`` stays quick.
"""

from __future__ import annotations

import argparse
import sys

from jacbench.catalog import DTYPES
from jacbench.cli.arguments import EXIT_USAGE, add_plugin_flag, load_plugins, positive_int

__all__ = ["add_advise_parser", "cmd_advise"]


def add_advise_parser(commands: argparse._SubParsersAction) -> None:
    advise = commands.add_parser(
        "advise", help="which mode to use for one shape on this machine, predicted in seconds",
        description="Rank every available Jacobian mode at one shape by the calibrated time "
        "model, with the term that dominates each prediction. Calibrates this machine in a few "
        "seconds (cached for a day) unless --from names a results folder.")
    add = advise.add_argument
    for axis, what in (("L", "layers"), ("D", "input size"), ("K", "hidden width"),
                       ("P", "output size")):
        add(f"--{axis}", type=positive_int, required=True, metavar="N", help=what)
    add("--batch", type=positive_int, default=1, metavar="N", help="inputs per call (default 1)")
    add("--device", default="cpu", choices=("cpu", "cuda"), help="cpu (default) or cuda")
    add("--dtype", default=DTYPES[0], metavar="DTYPE",
        help=f"{', '.join(DTYPES)} (default {DTYPES[0]})")
    add("--modes", nargs="+", metavar="MODE", help="rank only these modes")
    add("--from", dest="from_dir", metavar="DIR",
        help="use the calibration stored in this results folder (no measuring)")
    add("--recalibrate", action="store_true", help="measure the machine anew, ignoring the cache")
    add("--measure", action="store_true", help="time the top modes at this shape to check")
    add("--top", type=positive_int, default=3, metavar="N",
        help="modes --measure times (default 3)")
    add("--json", action="store_true", help="print the ranking as JSON, best first")
    add_plugin_flag(advise)


def cmd_advise(args: argparse.Namespace) -> int:
    load_plugins(args)
    from jacbench.run import advise

    try:
        return _advise(args, advise)
    except advise.AdviseError as exc:
        print(f"jacbench: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _advise(args: argparse.Namespace, advise) -> int:  # advise: the jacbench.run.advise module
    import torch

    from jacbench.modes.registry import modes
    from jacbench.render.advise import ranking_json, ranking_lines
    from jacbench.run.case import precision_unavailable
    from jacbench.theory.shape import Shape

    if args.dtype not in DTYPES:
        raise advise.AdviseError(f"--dtype: no dtype {args.dtype!r}; choose from "
                                 f"{', '.join(DTYPES)}")
    if args.device == "cuda" and not torch.cuda.is_available():
        raise advise.AdviseError(f"--device cuda: no CUDA device is available to torch "
                                 f"{torch.__version__} on this machine")
    unavailable = precision_unavailable(args.device, args.dtype)
    if unavailable:
        raise advise.AdviseError(f"--dtype {args.dtype}: {unavailable}")
    point = advise.advised_point(Shape(args.L, args.D, args.K, args.P, args.batch), args.device,
                                 args.dtype)
    names = None
    if args.modes:
        names = list(dict.fromkeys(args.modes))  # a mode named twice is ranked once
        unknown = [m for m in names if m not in modes()]
        if unknown:
            raise advise.AdviseError(f"--modes: no mode {', '.join(unknown)}; choose from "
                                     f"{', '.join(modes())}")
    available = advise.available_modes(point.device, point.dtype, names)
    if names is not None and len(available) < len(names):
        missing = [m for m in names if m not in available]
        raise advise.AdviseError(f"--modes: {', '.join(missing)} not available here")
    model, source = advise.machine_model(point.device, point.dtype, args.from_dir,
                                         recalibrate=args.recalibrate, names=available,
                                         say=_say)
    ranking = advise.rank(point, model, available)
    measured = advise.measure_top(point, ranking, args.top) if args.measure else None
    if args.json:
        print(ranking_json(ranking, measured))
    else:
        print("\n".join(ranking_lines(point, ranking, source, measured)))
    return 0


def _say(line: str) -> None:
    """A note on stderr (a cache measured again, a calibration not cached): stdout stays the
    ranking, JSON included."""
    print(f"jacbench: {line}", file=sys.stderr)
