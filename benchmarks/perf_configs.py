"""The performance configs side by side: a thin script over the sweep runner.

    python benchmarks/perf_configs.py [--out DIR] [--min-run-time S] [--rounds R]
                                      [--max-call-time S] [--device cpu|cuda]
                                      [--config L,D,K,P,N ...]

Runs the configs below through ``jacbench.run.sweep`` (every mode checked against the float64
reference before it is timed, timed in interleaved rounds with speed probes around each point,
ceilings measured, results stored as parquet in ``--out``, resumable), then prints per config
each mode's median, its speed-up over the best library baseline (a median of within-round
ratios) and the fraction of the floor it reaches: the floor is the least time the cost model
allows for the best hand-written algorithm at the measured ceilings. The markdown also goes to
``OUT/_perf.md``. All the measuring is the sweep's; this file only chooses points and renders.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from jacbench.analysis.crossover import round_ratio
from jacbench.modes.catalog import CATALOG, COMPILED_PEER, HAND_WRITTEN, LIBRARY, mode_order
from jacbench.render.format import fmt_percent, fmt_time
from jacbench.render.markdown import table
from jacbench.results.folder import read_results
from jacbench.results.point import point_label
from jacbench.results.schema import Role, Status
from jacbench.run.spec import SweepSpec, build_spec
from jacbench.run.sweep import run_sweep

CONFIGS: tuple[tuple[int, int, int, int, int], ...] = (  # (L, D, K, P, N)
    (10, 2, 30, 10, 1),
    (10, 1000, 1000, 1, 1),
    (6, 512, 256, 512, 1),
    (8, 1024, 64, 1024, 1),
    (6, 64, 256, 64, 64),
)


def spec_for(args: argparse.Namespace) -> SweepSpec:
    """One [[grid]] per config, float32, every mode; no drift check (perf runs are short)."""
    grids = [dict(zip(("L", "D", "K", "P", "batch"), ([v] for v in c), strict=True))
             for c in args.configs]
    config = {"grid": grids, "min_run_time": args.min_run_time, "rounds": args.rounds,
              "max_call_time": args.max_call_time, "stability_points": 0}
    return build_spec(config, devices=(args.device,))


def _family(mode: str) -> str:
    info = CATALOG.get(mode)
    return info.family if info else "?"


def _best(rows: pd.DataFrame, family: str) -> dict | None:
    timed = rows[(rows["status"] == Status.OK) & (rows["mode"].map(_family) == family)]
    return None if timed.empty else timed.loc[timed["time_median_s"].idxmin()].to_dict()


def config_section(rows: pd.DataFrame) -> list[str]:
    """The table of one config: a row per mode, in registry order."""
    first = rows.iloc[0].to_dict()
    library = _best(rows, LIBRARY)
    hand = rows[rows["mode"].map(_family) == HAND_WRITTEN]
    floor = pd.to_numeric(hand["floor_s"], errors="coerce").min()
    lines = [f"### {point_label(first)}", "",
             f"floor {fmt_time(floor)} (best hand-written algorithm at the measured ceilings); "
             f"speed probe {first['probe_before_gflops']:.0f} -> "
             f"{first['probe_after_gflops']:.0f} GFLOP/s"]
    body = []
    for mode in mode_order(rows["mode"]):
        r = rows[rows["mode"] == mode].iloc[0].to_dict()
        if r["status"] not in Status.TIMED:
            body.append([mode, _family(mode), "-", "-", "-", "-", f"{r['status']}: {r['reason']}"])
            continue
        speedup = "-" if library is None else f"{round_ratio(library, r):.2f}x"
        body.append([mode, _family(mode), fmt_time(r["time_median_s"]),
                     fmt_percent(r["time_iqr_s"] / r["time_median_s"]), speedup,
                     f"{floor / r['time_median_s']:.2f}", r["status"]])
    headers = ["mode", "family", "median", "IQR", "speed-up vs best library",
               "floor / median", "status"]
    return [*lines, *table(headers, body), ""]


def summary(frame: pd.DataFrame) -> list[str]:
    """Per config: the best hand-written mode against the best library baseline, and against
    the best compiled peer (JAX) where one ran (its time over the hand-written mode's)."""
    lines = ["## Best hand-written against best library", ""]
    for _, rows in frame.groupby(["L", "D", "K", "P", "batch"], sort=False):
        hand, library = _best(rows, HAND_WRITTEN), _best(rows, LIBRARY)
        if hand is None or library is None:
            lines.append(f"- {point_label(rows.iloc[0])}: not both timed")
            continue
        lines.append(f"- {point_label(hand)}: {hand['mode']} {fmt_time(hand['time_median_s'])}, "
                     f"{round_ratio(library, hand):.2f}x faster than {library['mode']}")
        peer = _best(rows, COMPILED_PEER)
        if peer is not None:  # above 1: the hand-written mode is faster than JAX's best
            lines[-1] += (f"; {peer['mode']} {fmt_time(peer['time_median_s'])}: "
                          f"{round_ratio(peer, hand):.2f}x")
    return [*lines, ""]


def render(frame: pd.DataFrame) -> str:
    sweep = frame[frame["role"] == Role.SWEEP]
    env = sweep.iloc[0]
    lines = ["# jacbench performance configs", "",
             f"- {env['device']}: {env['device_name']}, torch {env['torch_version']}, "
             f"{env['num_threads']} threads, host {env['host']}, git {env['git_commit'] or '-'}",
             f"- ceilings: {env['peak_flops'] / 1e9:.0f} GFLOP/s matmul, "
             f"{env['peak_bandwidth'] / 1e9:.0f} GB/s memory",
             f"- timing: {int(env['rounds'])} interleaved rounds of "
             f"{env['min_run_time_s']:g} s per mode; speed-ups are medians of within-round "
             "ratios", ""]
    for _, rows in sweep.groupby(["L", "D", "K", "P", "batch"], sort=False):
        lines += config_section(rows)
    return "\n".join(lines + summary(sweep))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("results/perf-cpu"),
                   help="results folder (resumes; default results/perf-cpu)")
    p.add_argument("--min-run-time", type=float, default=0.2, help="seconds per mode per round")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--max-call-time", type=float, default=1.0,
                   help="skip a mode whose call takes longer (seconds)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--config", action="append", metavar="L,D,K,P,N",
                   help="run this config instead of the built-in ones (repeatable)")
    args = p.parse_args(argv)
    try:
        args.configs = ([tuple(int(v) for v in c.split(",")) for c in args.config]
                        if args.config else list(CONFIGS))
    except ValueError:
        p.error("--config takes five integers L,D,K,P,N")
    if any(len(c) != 5 for c in args.configs):
        p.error("--config takes five positive integers L,D,K,P,N")
    return args


def main(argv: list[str] | None = None) -> int:
    from jacbench.results.storage import ResultsError
    from jacbench.run.spec import SpecError

    args = parse_args(argv)
    try:
        run_sweep(spec_for(args), args.out)
    except (SpecError, ResultsError) as exc:
        print(f"perf_configs: error: {exc}", file=sys.stderr)
        return 2
    text = render(read_results(args.out))
    print(text)
    (args.out / "_perf.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
