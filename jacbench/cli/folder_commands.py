"""The commands that read a results folder only: plot, report, compare (no torch needed)."""

from __future__ import annotations

import argparse
from pathlib import Path

from jacbench.cli.arguments import UserError, positive_float

__all__ = ["add_folder_parsers", "cmd_compare", "cmd_plot", "cmd_report", "plots_and_report"]


def add_folder_parsers(commands: argparse._SubParsersAction) -> None:
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
    compare.add_argument("--min-time", type=positive_float, default=1e-3, metavar="S",
                         help="only points whose median is at least this (default 0.001 s)")


def existing_folder(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        raise UserError(f"{text} is not a results folder")
    return path


def plots_and_report(folder: Path) -> None:
    from jacbench.render.plots import make_plots
    from jacbench.render.report import write_report

    plots = make_plots(folder)
    for line in plots.skipped:
        print(f"plot skipped: {line}")
    print(f"report: {write_report(folder, plots)}")


def cmd_plot(args: argparse.Namespace) -> int:
    from jacbench.render.plots import make_plots

    result = make_plots(existing_folder(args.results), args.out)
    for line in result.skipped:
        print(f"skipped: {line}")
    for path in result.paths:
        print(path)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    plots_and_report(existing_folder(args.results))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from jacbench.analysis.compare import compare_runs
    from jacbench.render.format import fmt_time
    from jacbench.results.point import point_label

    result = compare_runs(existing_folder(args.first), existing_folder(args.second),
                          args.min_time)
    if result.pairs.empty:
        raise UserError(f"no (point, mode) was measured ok in both {args.first} and "
                        f"{args.second} on the same machine")
    for r in result.considered.head(15).to_dict("records"):
        print(f"{r['mode']:>28}  {point_label(r)}  "
              f"{fmt_time(r['time_a']):>9} -> {fmt_time(r['time_b']):>9}  {r['change']:+.1%}")
    print(result.sentence())
    return 0
