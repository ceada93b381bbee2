"""The performance configs side by side: a thin script over the sweep runner.

    python benchmarks/perf_configs.py [--out DIR] [--min-run-time S] [--rounds R]
                                      [--max-call-time S] [--device cpu|cuda]
                                      [--config L,D,K,P,N ...]

Runs the configs below through ``jacbench.run.sweep`` (every mode checked against the float64
reference before it is timed, timed in interleaved rounds with speed probes around each point,
ceilings measured, results stored as parquet in ``--out``, resumable), then prints per config
each mode's median, its speed-up over the best library baseline (a median of within-round
ratios) and the fraction of the floor it reaches: the floor is the least time the cost model
allows for the best hand-written algorithm at the measured ceilings. Then one table: per config
the best of jacbench's own modes (hand-written, native, compiled hand-written), the best JAX mode,
the best torch library mode, the floor, their ratios, and the performance targets met or missed.
Where a FLOP-floor target is missed, the script then times the matrix products of that mode's
algorithm alone, each shape repeated through ``torch.mm`` (``theory.operations`` lists them):
the least time this BLAS needs for the Jacobian's arithmetic, which says how much of the gap is
the BLAS at these shapes and how much is everything else. The markdown also goes to
``OUT/_perf.md``. Apart from that check, all the measuring is the sweep's; this file chooses
points and renders.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import torch

from jacbench.analysis.crossover import round_ratio
from jacbench.catalog import (
    CATALOG,
    COMPILED_PEER,
    HAND_WRITTEN,
    LIBRARY,
    jacbench_modes,
    mode_order,
)
from jacbench.measure.timing import time_callable
from jacbench.render.format import fmt_percent, fmt_time
from jacbench.render.markdown import table
from jacbench.results.folder import read_results
from jacbench.results.point import point_label
from jacbench.results.schema import Role, Status
from jacbench.run.spec import SweepSpec, build_spec
from jacbench.run.sweep import run_sweep
from jacbench.theory.operations import GEMM, operations_at
from jacbench.theory.shape import Shape

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
    return _fastest(rows[rows["mode"].map(_family) == family])


def _fastest(rows: pd.DataFrame) -> dict | None:
    timed = rows[rows["status"] == Status.OK]
    return None if timed.empty else timed.loc[timed["time_median_s"].idxmin()].to_dict()


#: The performance targets (issue "jacbench's best mode ahead of JAX-jit at every shape").
LEAD_OVER_JAX = 1.0  # best jacbench time <= best JAX time
LEAD_WHERE_K_NARROW = 1.5  # where K < min(D, P)
FLOOR_FRACTION = 0.8  # compute-bound configs: FLOP floor / time
BYTES_FRACTION = 0.5  # one output, D = K = 1000: two reads of the weights / time
SMALL_CONFIG, SMALL_TARGET_S = (10, 2, 30, 10, 1), 30e-6


def _two_read_floor(r: dict) -> float:
    """Reading every weight twice (primal, then adjoints) at the measured bandwidth."""
    weights = Shape(*(int(r[a]) for a in "LDKP")).weights
    itemsize = 8 if r["dtype"] == "float64" else 4
    return 2 * weights * itemsize / float(r["peak_bandwidth"])


def _flop_floor_fraction(ours: dict) -> float | None:
    """FLOP floor / time where the time model calls jacbench's mode compute-bound, else None."""
    if not str(ours.get("predicted_bound") or "").endswith("compute-bound"):
        return None
    return float(ours["floor_s"]) / ours["time_median_s"]


def _targets(ours: dict, peer: dict | None) -> tuple[str, list[str]]:
    """The floor this config is held to, and each target's outcome, in words."""
    L, D, K, P, N = (int(ours[a]) for a in ("L", "D", "K", "P", "batch"))
    verdicts = []
    if peer is not None:
        need = LEAD_WHERE_K_NARROW if min(D, P) > K else LEAD_OVER_JAX
        lead = round_ratio(peer, ours)
        verdicts.append(f"JAX/jacbench >= {need:g}: {'met' if lead >= need else 'missed'}")
    if (L, D, K, P, N) == SMALL_CONFIG:
        met = ours["time_median_s"] <= SMALL_TARGET_S
        verdicts.append(f"<= {fmt_time(SMALL_TARGET_S)}: {'met' if met else 'missed'}")
    if P == 1 and D == K == 1000:
        fraction = _two_read_floor(ours) / ours["time_median_s"]
        verdicts.append(f"two-read floor {fraction:.2f} >= {BYTES_FRACTION:g}: "
                        f"{'met' if fraction >= BYTES_FRACTION else 'missed'}")
        return "two reads", verdicts
    fraction = _flop_floor_fraction(ours)
    if fraction is not None:
        verdicts.append(f"FLOP floor {fraction:.2f} >= {FLOOR_FRACTION:g}: "
                        f"{'met' if fraction >= FLOOR_FRACTION else 'missed'}")
    return "roofline", verdicts


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


def _timed(r: dict | None) -> str:
    return "-" if r is None else f"{r['mode']} {fmt_time(r['time_median_s'])}"


def _ratio(r: dict | None, ours: dict) -> str:
    return "-" if r is None else f"{round_ratio(r, ours):.2f}x"


def summary(frame: pd.DataFrame) -> list[str]:
    """Per config: the best of jacbench's modes against the best JAX mode and the best library
    mode (their time over jacbench's, medians of within-round ratios), the floor, the targets."""
    ours_modes = jacbench_modes()
    lines = ["## Best jacbench mode against JAX and the torch library", "",
             "Ratios above 1: jacbench's mode is faster. Floor: the cost model's least time at the "
             "measured ceilings (for one output at D = K = 1000: every weight read twice at the "
             "measured bandwidth). The FLOP-floor target applies where the time model calls "
             "jacbench's mode compute-bound."]
    body = []
    for _, rows in frame.groupby(["L", "D", "K", "P", "batch"], sort=False):
        ours = _fastest(rows[rows["mode"].isin(ours_modes)])
        if ours is None:
            body.append([point_label(rows.iloc[0]), "none timed", *["-"] * 7])
            continue
        peer, library = _best(rows, COMPILED_PEER), _best(rows, LIBRARY)
        kind, verdicts = _targets(ours, peer)
        floor = _two_read_floor(ours) if kind == "two reads" else float(ours["floor_s"])

        body.append([point_label(ours), _timed(ours), _timed(peer), _timed(library),
                     f"{fmt_time(floor)} ({kind})", _ratio(peer, ours), _ratio(library, ours),
                     f"{floor / ours['time_median_s']:.2f}", "; ".join(verdicts) or "-",
                     ours.get("predicted_bound") or "-"])
    headers = ["config", "best jacbench", "best JAX", "best library", "floor", "JAX / jacbench",
               "library / jacbench", "floor / jacbench", "targets", "bound (time model)"]
    return [*lines, *table(headers, body), ""]


def products_alone(frame: pd.DataFrame, min_run_time: float = 0.2
                   ) -> list[tuple[dict, float, float]]:
    """Per CPU config whose FLOP-floor target is missed: jacbench's best row, the seconds of its
    mode's matrix products alone (each shape timed through ``torch.mm`` into a preallocated
    output, at the run's threads, times its repeats) and their FLOPs: the arithmetic with
    nothing around it."""
    found = []
    sweep = frame[frame["role"] == Role.SWEEP]
    for key, rows in sweep.groupby(["L", "D", "K", "P", "batch"], sort=False):
        ours = _fastest(rows[rows["mode"].isin(jacbench_modes())])
        fraction = None if ours is None else _flop_floor_fraction(ours)
        if fraction is None or fraction >= FLOOR_FRACTION or ours["device"] != "cpu":
            continue
        torch.set_num_threads(int(ours["num_threads"]))
        dtype = getattr(torch, ours["dtype"])
        seconds = flops = 0.0
        for op in operations_at(CATALOG[ours["mode"]].algorithm, Shape(*map(int, key))):
            if op.kind == GEMM and op.smallest > 1:
                a, b = torch.randn(op.m, op.k, dtype=dtype), torch.randn(op.k, op.n, dtype=dtype)
                c = torch.empty(op.m, op.n, dtype=dtype)
                timing = time_callable(lambda a=a, b=b, c=c: torch.mm(a, b, out=c),
                                       min_run_time=min_run_time)
                seconds += op.repeat * timing.median_s
                flops += op.repeat * 2.0 * op.macs
        found.append((ours, seconds, flops))
    return found


def missed_floor_section(alone: list[tuple[dict, float, float]]) -> list[str]:
    """The products alone beside jacbench's time and the floor, where the floor was missed."""
    if not alone:
        return []
    body = [[point_label(ours), f"{ours['mode']} {fmt_time(ours['time_median_s'])}",
             fmt_time(ours["floor_s"]), f"{fmt_time(seconds)} ({flops / seconds / 1e9:.0f} "
             "GFLOP/s)", f"{seconds / ours['time_median_s']:.2f}",
             f"{float(ours['floor_s']) / seconds:.2f}"] for ours, seconds, flops in alone]
    return ["## Where the FLOP floor is missed: the products alone", "",
            "Each matrix product of jacbench's mode timed alone (`torch.mm` into a preallocated "
            "output, same threads, measured after the sweep; matrix-vector products left out) and "
            "summed: the time this BLAS needs for the arithmetic with nothing around it. Floor / "
            "products alone is the most the mode could reach with these BLAS calls.",
            *table(["config", "best jacbench", "floor", "products alone", "alone / jacbench",
                    "floor / products alone"], body), ""]


def render(frame: pd.DataFrame, alone: list[tuple[dict, float, float]] | None = None) -> str:
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
    return "\n".join(lines + summary(sweep) + missed_floor_section(alone or []))


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
    frame = read_results(args.out)
    text = render(frame, products_alone(frame, args.min_run_time))
    print(text)
    (args.out / "_perf.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
