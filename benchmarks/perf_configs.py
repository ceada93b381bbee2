"""The performance configs of issue 6, side by side in one process: each mode's median, its
speed-up over the best library baseline, and its fraction of the floor.

    python benchmarks/perf_configs.py [--min-run-time S] [--rounds R] [--out FILE.md]
                                      [--device cpu|cuda] [--cuda-graph] [--max-call-time S]
                                      [--config L,D,K,P,N ...]

Not a pytest file: a script whose output (a markdown table per config, then the issue's targets
checked one by one) is meant to be committed under results/. For each config it

1. builds ``MLP.random(L, D, K, P, seed=0)`` in float32 and a seeded input, (D,) for N = 1;
2. checks every mode once, untimed, against the float64 reference (``jacbench.model.reference``); a
   mode above tolerance is reported as a mismatch and not timed, and a library mode whose call
   takes more than ``--max-call-time`` (twice, the second call after warm-up) is skipped, with
   the time it took;
3. times every mode that is left in interleaved rounds (``jacbench.measure.timing.time_round_robin``:
   torch.utils.benchmark's ``blocked_autorange`` at the current thread count, CUDA synchronised
   at each block's edges), with a speed probe before and after; a config measured while the
   machine was slow is re-run once (``jacbench.measure.probe.measure_with_probes``);
4. reports each mode's median, its speed-up over the best library baseline (a ratio of medians
   taken within each round, so drift between rounds cancels), and ``floor / median``: the floor is
   the least time the cost model allows for the best hand-written algorithm at this config,
   ``max(FLOPs / peak FLOP/s, bytes / peak bandwidth)``, with the peaks measured in this run
   (``jacbench.measure.ceilings``). The small config is pure dispatch: its FLOP floor means nothing, so
   the primal pass alone, ``net(x)``, is timed beside the modes as the dispatch yardstick.

On CUDA (``--device cuda``) TF32 is switched off for the whole run, so that fp32 products are
full fp32 as on the CPU, and the report says so. ``--cuda-graph`` also captures each hand-written
mode in a CUDA graph (warm-up on a side stream, then ``torch.cuda.graph``) and times
``graph.replay()``: the same kernels for the same static input without a launch from Python each,
which is what brings small shapes down towards the launch floor. The modes never synchronise or
read a value back to the host, so they capture as they are; the chain plan is a Python-side cache
filled during the warm-up, before capture.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

import jacbench
from jacbench.measure.ceilings import Ceilings, floor_seconds, measure_ceilings
from jacbench.theory.cost import Cost, cost
from jacbench.measure.environment import device_name, run_environment
from jacbench.modes.registry import MODES
from jacbench.modes.chain import chain_cost
from jacbench.measure.probe import Load, ProbeTracker, machine_load, measure_with_probes, speed_probe
from jacbench.model.reference import TOLERANCE, reference_jacobian, relative_error
from jacbench.measure.timing import RoundRobinTiming, ratio_within_rounds, time_round_robin

CONFIGS: tuple[tuple[int, int, int, int, int], ...] = (  # (L, D, K, P, N)
    (10, 2, 30, 10, 1),
    (10, 1000, 1000, 1, 1),
    (6, 512, 256, 512, 1),
    (8, 1024, 64, 1024, 1),
    (6, 64, 256, 64, 64),
)
SMALL_CONFIG = (10, 2, 30, 10, 1)
PRIMAL = "primal net(x)"  # the dispatch yardstick, timed beside the modes; not a mode
DTYPE = torch.float32
#: Below this floor a config is dispatch-bound (a torch call costs 1-4 us on a CPU, a kernel
#: launch 3-10 us on CUDA): its fraction of the FLOP/byte floor says nothing.
DISPATCH_BOUND_S = 20e-6


@dataclass
class Row:
    """One mode at one config."""

    mode: str
    family: str  # "hand-written", "library", "graph" or "reference"
    status: str = "ok"  # ok, mismatch, skipped, error
    reason: str = ""
    rel_error: float | None = None
    timing: RoundRobinTiming | None = None
    floor_s: float | None = None  # this mode's own cost-model floor

    @property
    def median_s(self) -> float | None:
        return None if self.timing is None else self.timing.median_s


@dataclass
class ConfigResult:
    config: tuple[int, int, int, int, int]
    rows: list[Row]
    floor_s: float  # the best hand-written algorithm's floor
    floor_bound: str  # "FLOPs" or "bytes": which term sets the floor
    load: Load
    probe_before: float
    probe_after: float
    healthy: bool
    probe_reason: str


def model_cost(mode: str, L: int, D: int, K: int, P: int, N: int) -> Cost | None:
    """The cost model's count for a mode (None for a mode it does not model)."""
    try:
        return cost(mode, L, D, K, P, N, dtype_bytes=DTYPE.itemsize)
    except ValueError:
        return None


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed_call(fn: Callable[[], torch.Tensor], device: torch.device) -> tuple[torch.Tensor, float]:
    start = time.perf_counter()
    out = fn()
    _sync(device)
    return out, time.perf_counter() - start


def capture_graph(fn: Callable[[], torch.Tensor]) -> tuple[Callable[[], None], torch.Tensor]:
    """Capture ``fn`` in a CUDA graph; returns (replay, the graph's static output).

    Warm-up runs on a side stream first, as torch.cuda.graphs asks: lazy cuBLAS handles and
    workspaces, the allocator's first blocks and Python-side caches (the chain plan) all come
    into being outside the capture.
    """
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_out = fn()
    return graph.replay, static_out


def run_config(
    config: tuple[int, int, int, int, int], args: argparse.Namespace, tracker: ProbeTracker
) -> ConfigResult:
    """Check every mode once, untimed, then time the ones that pass in interleaved rounds."""
    L, D, K, P, N = config
    device = torch.device(args.device)
    net = jacbench.MLP.random(L=L, D=D, K=K, P=P, seed=0, dtype=DTYPE, device=device)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(*((D,) if N == 1 else (N, D)), generator=gen, dtype=DTYPE).to(device)
    ref = reference_jacobian(net, x)
    tolerance = TOLERANCE["float32"]

    rows: list[Row] = []
    fns: dict[str, Callable[[], object]] = {PRIMAL: lambda: net(x)}
    rows.append(Row(PRIMAL, "reference"))
    for name, mode in MODES.items():
        row = Row(name, mode.family)
        rows.append(row)
        fn = (lambda f: lambda: f(net, x))(mode.fn)
        try:
            J, seconds = _timed_call(fn, device)
            if mode.family == "library" and seconds > args.max_call_time:
                J, seconds = _timed_call(fn, device)  # the first call may include tracing
                if seconds > args.max_call_time:
                    row.status = "skipped"
                    row.reason = f"one call takes {seconds:.2f} s > {args.max_call_time:g} s"
                    continue
            row.rel_error = relative_error(J, ref)
        except Exception as exc:  # a mode that fails is reported, never fatal to the run
            row.status, row.reason = "error", f"{type(exc).__name__}: {exc}"[:200]
            continue
        if not row.rel_error <= tolerance:
            row.status, row.reason = "mismatch", f"rel error {row.rel_error:.1e} > {tolerance:g}"
            continue
        fns[name] = fn
        if args.cuda_graph and mode.family == "hand-written":
            graph_row = Row(f"{name}+graph", "graph")
            rows.append(graph_row)
            try:
                replay, static_out = capture_graph(fn)
                replay()
                _sync(device)
                graph_row.rel_error = relative_error(static_out, ref)
            except Exception as exc:
                graph_row.status = "error"
                graph_row.reason = f"capture failed: {type(exc).__name__}: {exc}"[:200]
                continue
            if not graph_row.rel_error <= tolerance:
                graph_row.status = "mismatch"
                graph_row.reason = f"rel error {graph_row.rel_error:.1e} > {tolerance:g}"
                continue
            fns[graph_row.mode] = replay

    load = machine_load(device)
    probed = measure_with_probes(
        lambda: time_round_robin(
            fns, rounds=args.rounds, device=device, min_run_time_per_round=args.min_run_time
        ),
        lambda: speed_probe(device, min_run_time=0.03),
        tracker,
        max_retries=args.max_retries,
        wait_s=2.0,
    )
    for row in rows:
        if row.mode in probed.result:
            row.timing = probed.result[row.mode]

    return ConfigResult(
        config, rows, 0.0, "", load, probed.probe_before, probed.probe_after,
        probed.healthy, probed.reason,
    )


def attach_floors(result: ConfigResult, ceilings: Ceilings) -> None:
    """Each mode's own floor, and the config's: the best hand-written algorithm's floor."""
    L, D, K, P, N = result.config
    for row in result.rows:
        c = model_cost(row.mode.removesuffix("+graph"), L, D, K, P, N)
        row.floor_s = None if c is None or row.family == "reference" else floor_seconds(c, ceilings)
    hand = [c for m in ("forward", "reverse", "chain") if (c := model_cost(m, L, D, K, P, N))]
    best = min(hand, key=lambda c: floor_seconds(c, ceilings))
    result.floor_s = floor_seconds(best, ceilings)
    compute_s = best.flops / ceilings.peak_flops
    memory_s = best.bytes_moved / ceilings.peak_bandwidth
    result.floor_bound = "FLOPs" if compute_s >= memory_s else "bytes"


# ---- reporting ------------------------------------------------------------------------------


def _us(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1e6:.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def _load_text(load: Load) -> str:
    parts = [f"load average {load.load_avg_1m:.2f}" if load.load_avg_1m is not None else ""]
    if load.busy_procs is not None:
        parts.append(f"{load.busy_procs} other busy processes")
    if load.gpu_clock_mhz is not None:
        parts.append(f"GPU clock {load.gpu_clock_mhz:.0f} MHz")
    if load.gpu_temp_c is not None:
        parts.append(f"GPU {load.gpu_temp_c:.0f} C")
    return ", ".join(p for p in parts if p) or "load unknown"


def _best(result: ConfigResult, families: tuple[str, ...]) -> Row | None:
    timed = [r for r in result.rows if r.family in families and r.timing is not None]
    return min(timed, key=lambda r: r.median_s) if timed else None


def config_table(result: ConfigResult) -> list[str]:
    L, D, K, P, N = result.config
    library = _best(result, ("library",))
    lines = [
        f"### L={L}, D={D}, K={K}, P={P}, N={N}",
        "",
        f"floor {_us(result.floor_s)} ({result.floor_bound}-bound, best hand-written algorithm); "
        f"{_load_text(result.load)}; speed probe {result.probe_before:.0f} -> "
        f"{result.probe_after:.0f} GFLOP/s"
        + ("" if result.healthy else f"; **machine slow: {result.probe_reason}**"),
        "",
        "| mode | family | median | IQR | speed-up vs best library | floor / median "
        "| own floor / median | status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result.rows:
        if r.timing is None:
            lines.append(f"| {r.mode} | {r.family} | - | - | - | - | - | {r.status}: {r.reason} |")
            continue
        speedup = (
            "-" if library is None else f"{ratio_within_rounds(library.timing, r.timing):.2f}x"
        )
        iqr = f"{100 * r.timing.iqr_s / r.timing.median_s:.0f}%"
        floor_frac = f"{result.floor_s / r.median_s:.2f}" if r.family != "reference" else "-"
        own = "-" if r.floor_s is None else f"{r.floor_s / r.median_s:.2f}"
        noisy = " (noisy)" if r.timing.noisy else ""
        lines.append(
            f"| {r.mode} | {r.family} | {_us(r.median_s)} | {iqr} | {speedup} | {floor_frac} "
            f"| {own} | {r.status}{noisy} |"
        )
    return [*lines, ""]


def targets(results: list[ConfigResult]) -> list[str]:
    """The issue's targets, each with the measured figure."""
    lines = ["## Targets", ""]
    for res in results:
        L, D, K, P, N = res.config
        name = f"({L}, {D}, {K}, {P}, {N})"
        hand = _best(res, ("hand-written",))
        library = _best(res, ("library",))
        rows = {r.mode: r for r in res.rows}
        if hand is None:
            lines.append(f"- {name}: no hand-written mode was timed")
            continue
        if library is not None:
            speedup = ratio_within_rounds(library.timing, hand.timing)
            lines.append(
                f"- {name}: best hand-written ({hand.mode}) {speedup:.2f}x faster than the best "
                f"library ({library.mode}) - target 1.5x: {'met' if speedup >= 1.5 else 'NOT met'}"
            )
        if res.config == SMALL_CONFIG:
            lines.append(
                f"- {name}: {_us(hand.median_s)} per Jacobian ({hand.mode}) - target 60 us: "
                f"{'met' if hand.median_s <= 60e-6 else 'NOT met'}"
            )
        elif res.floor_s < DISPATCH_BOUND_S:
            lines.append(
                f"- {name}: floor {_us(res.floor_s)} is below the cost of a few torch calls: "
                f"dispatch-bound, no floor target ({hand.mode} {_us(hand.median_s)}, the primal "
                f"alone {_us(rows[PRIMAL].median_s) if rows[PRIMAL].timing else '-'})"
            )
        else:
            goal = 0.8 if res.floor_bound == "FLOPs" else 0.5
            frac = res.floor_s / hand.median_s
            lines.append(
                f"- {name}: best hand-written at {frac:.2f} of the {res.floor_bound} floor - "
                f"target {goal}: {'met' if frac >= goal else 'NOT met'}"
            )
        graph = _best(res, ("graph",))
        if graph is not None:
            frac = res.floor_s / graph.median_s
            lines.append(
                f"- {name}: best CUDA-graph replay ({graph.mode}) {_us(graph.median_s)}, "
                f"{frac:.2f} of the floor"
            )
        chain, fwd, rev = rows.get("chain"), rows.get("forward"), rows.get("reverse")
        if chain and fwd and rev and chain.timing and fwd.timing and rev.timing:
            c = cost("forward", L, D, K, P, N).macs, cost("reverse", L, D, K, P, N).macs
            predicted = min(c) / sum(chain_cost(L, D, K, P, N))
            better = fwd if fwd.median_s <= rev.median_s else rev
            measured = ratio_within_rounds(better.timing, chain.timing)
            verdict = (
                ("met" if measured >= 1.2 else "NOT met") if predicted >= 1.3 else "not required"
            )
            lines.append(
                f"- {name}: chain's speed-up over {better.mode} (the faster pure mode) "
                f"{measured:.2f}x; the cost model predicts {predicted:.2f}x fewer multiply-adds "
                f"- target 1.2x where >= 1.3x: {verdict}"
            )
    return [*lines, ""]


def header(args: argparse.Namespace, env: dict, before: Ceilings, after: Ceilings) -> list[str]:
    device = torch.device(args.device)
    lines = [
        "# jacbench performance configs",
        "",
        f"- device: {device_name(args.device)} ({args.device}), {DTYPE} throughout",
        f"- torch {env['torch_version']}, CUDA {env['cuda_version'] or '-'}, "
        f"{env['num_threads']} threads, host {env['host']}, {env['platform']}",
        f"- CPU: {env['cpu_model']}; git {env['git_commit'] or '-'}; started {env['started_at']}",
        f"- ceilings (best of the run's two measurements): "
        f"{max(before.peak_flops, after.peak_flops) / 1e9:.0f} GFLOP/s matmul "
        f"(n={before.matmul_n}: {before.peak_flops / 1e9:.0f} before, "
        f"{after.peak_flops / 1e9:.0f} after), "
        f"{max(before.peak_bandwidth, after.peak_bandwidth) / 1e9:.0f} GB/s memory",
        f"- timing: {args.rounds} interleaved rounds of {args.min_run_time:g} s per mode, "
        "median over rounds; speed-ups are medians of within-round ratios",
    ]
    if device.type == "cuda":
        lines.append(
            "- TF32 off (torch.backends.cuda.matmul.allow_tf32 = False, cudnn too): full fp32"
            + ("; CUDA graphs captured for the hand-written modes" if args.cuda_graph else "")
        )
    return [*lines, ""]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--min-run-time", type=float, default=0.2, help="seconds per mode per round")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--out", type=Path, help="write the markdown report here too")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--cuda-graph", action="store_true", help="also time CUDA-graph replays")
    p.add_argument("--max-call-time", type=float, default=1.0,
                   help="skip a library mode whose call takes longer (seconds)")
    p.add_argument("--max-retries", type=int, default=1,
                   help="re-runs of a config measured while the speed probe was low")
    p.add_argument("--config", action="append", metavar="L,D,K,P,N",
                   help="run this config instead of the issue's (repeatable)")
    args = p.parse_args(argv)
    if args.min_run_time <= 0 or args.rounds < 1 or args.max_call_time <= 0:
        p.error("--min-run-time and --max-call-time must be positive, --rounds at least 1")
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA device is available")
    if args.cuda_graph and args.device != "cuda":
        p.error("--cuda-graph needs --device cuda")
    if args.config:
        try:
            args.configs = [tuple(int(v) for v in c.split(",")) for c in args.config]
        except ValueError:
            p.error("--config takes five integers L,D,K,P,N")
        if any(len(c) != 5 or min(c) < 1 for c in args.configs):
            p.error("--config takes five positive integers L,D,K,P,N")
    else:
        args.configs = list(CONFIGS)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    env = run_environment()
    budget = max(0.2, min(1.0, 2 * args.min_run_time))
    before = measure_ceilings(device, DTYPE, budget_s=budget)
    tracker = ProbeTracker()
    results = []
    for config in args.configs:
        print(f"config {config} ...", file=sys.stderr, flush=True)
        results.append(run_config(config, args, tracker))
    after = measure_ceilings(device, DTYPE, budget_s=budget)
    best = Ceilings(
        peak_flops=max(before.peak_flops, after.peak_flops),
        peak_bandwidth=max(before.peak_bandwidth, after.peak_bandwidth),
        matmul_n=before.matmul_n, copy_bytes=before.copy_bytes, tf32=before.tf32,
    )
    for res in results:  # floors at the run's best ceilings, as the header states
        attach_floors(res, best)
    lines = header(args, env, before, after)
    for res in results:
        lines += config_table(res)
    lines += targets(results)
    report = "\n".join(lines)
    print(report)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report + "\n")
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
