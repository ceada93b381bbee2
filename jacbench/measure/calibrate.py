"""Calibrating the time model: short micro-probes that measure a device's ``MachineModel``.

Each parameter of ``jacbench.theory.time_model.MachineModel`` comes from one probe or a few, at
the thread count torch runs with now, in a couple of seconds in all:

- ``dispatch_s``: a Python loop of tiny act, act' and matrix-vector calls, per call;
- ``peak_flops``: a square GEMM; ``gemm_half_dim``: GEMMs of 4 and 16 rows against it;
- ``sync_s``: mid-sized GEMMs (64 and 128 rows of 128×128), what is left beyond dispatch and
  arithmetic;
- ``handoff_s`` and ``sync_flops``: chains of ``HANDOFF_LOOP`` (act', GEMM) pairs, rows × 128 by
  128 × 128, for each of ``HANDOFF_ROWS``: each GEMM reading the act' just made and the next act'
  reading its result, against the same calls on operands made beforehand; the difference per
  pair is what handing operands between the threads costs. ``handoff_s`` is its median over the
  rows at least as large as the sync probes', ``sync_flops`` the smallest GEMM paying half of it;
- ``kernel_sync_s`` and ``kernel_sync_elems``: the activation on vectors of ``KERNEL_SIZES``
  elements: the step up from the smallest (where the math library starts splitting the kernel
  over threads) and the smallest size that pays half of it;
- ``elementwise_rate``: a fused act' kernel (tanh_backward) on 64 Ki elements;
- ``bandwidth``: matrix-vector products cycling forth and back over matrices of a working set of
  each size (256 KiB to 64 MiB on a CPU), less one dispatch per product;
- ``overheads``: each mode handed in (``mode_probes``) timed at three tiny shapes, where only its
  calls cost time; a fixed cost and a cost per call are fitted to the three by least squares;
  a library mode or a JAX peer (``work_probes``) once more at a mid-sized shape, for its work
  factor.

Everything is timed by ``timer(label, build)``, which builds the probe's callable and returns
seconds per call (by default the best block of ``time_callable``); the machine probes run in
``MACHINE_ROUNDS`` rounds and keep their best, since a moment when another process holds a core
only ever slows a probe. Tests hand in a fake that answers by label and builds nothing. Knows
nothing about Jacobians beyond the call counts of ``jacbench.theory.operations``.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timezone

import torch

from jacbench.measure.calibrate_fits import (
    WORK_SHAPE,
    WORK_SHAPES,
    fit_overhead,
    fit_work_factor,
)
from jacbench.measure.plausible import ImplausibleCalibration, implausible
from jacbench.measure.probes_cuda import (
    DISPATCH_LOOP,
    cuda_builders,
    cuda_parameters,
    cycle_shape,
    dispatch_probe,
)
from jacbench.measure.timing import time_callable
from jacbench.theory.time_model import MachineModel

__all__ = ["TINY_SHAPES", "WORK_SHAPE", "Timer", "calibrate", "default_timer", "fit_overhead",
           "fit_work_factor"]

#: (label, build) -> seconds per call of the callable ``build()`` returns.
Timer = Callable[[str, Callable[[], Callable[[], object]]], float]
#: A mode made ready at (L, D, K, P) and a batch N (default one input): returns the callable.
ModeProbe = Callable[[int, int, int, int], Callable[[], object]]
#: The tiny shapes a mode's call costs are fitted to: depth and width (D, P) varied.
TINY_SHAPES = ((2, 4, 4, 4), (8, 4, 4, 4), (2, 16, 4, 16))
GEMM_SQUARE = 512
THIN_ROWS = (4, 16)
MID_GEMMS = ((64, 128, 128), (128, 128, 128))
ELEMENTS = 1 << 16
HANDOFF_K, HANDOFF_ROWS, HANDOFF_LOOP = 128, (16, 64, 256), 8
KERNEL_SIZES = (16, 32, 64, 96, 112, 128, 192, 256)
#: Rounds of the machine probes; each probe keeps its best round (a busy moment only slows).
MACHINE_ROUNDS = 3
WORKING_SETS = tuple(1 << p for p in (18, 20, 22, 24, 26))


def default_timer(device: str, min_run_time: float = 0.02) -> Timer:
    """The best per-call time over ``min_run_time`` of repeats: another process or a slow
    moment only ever slows a probe, and a calibration taken then would mislead every point."""
    def timer(label: str, build: Callable[[], Callable[[], object]]) -> float:
        timing = time_callable(build(), device=device, min_run_time=min_run_time)
        return min(timing.raw_times_s)

    return timer


def _kind(device: str) -> str:
    return "cuda" if str(device).startswith("cuda") else "cpu"


def _randn(*shape: int, device: str, dtype: torch.dtype) -> torch.Tensor:
    return torch.randn(*shape, device=device, dtype=dtype)


def _builders(device: str, dtype: torch.dtype) -> dict[str, Callable[[], Callable[[], object]]]:
    """Every machine probe by label: a function that builds the callable to time."""
    def r(*shape: int) -> torch.Tensor:
        return _randn(*shape, device=device, dtype=dtype)

    def gemm(m: int, k: int, n: int) -> Callable[[], Callable[[], object]]:
        def build() -> Callable[[], object]:
            A, B = r(m, k), r(k, n)
            return lambda: torch.mm(A, B)
        return build

    def elementwise() -> Callable[[], object]:
        g, a = r(ELEMENTS), r(ELEMENTS)
        return lambda: torch.ops.aten.tanh_backward.default(g, a)

    def cycle(size: int) -> Callable[[], Callable[[], object]]:
        def build() -> Callable[[], object]:
            n, count = _cycle_shape(size, dtype.itemsize)
            Ws = [r(n, n) for _ in range(count)]
            order, x = Ws + Ws[::-1], r(n)
            return lambda: [torch.mv(W, x) for W in order]
        return build

    square = GEMM_SQUARE
    found = {"dispatch": lambda: dispatch_probe(r),
             f"gemm {square}x{square}x{square}": gemm(square, square, square),
             f"elementwise {ELEMENTS}": elementwise}
    found |= {f"gemm {s}x{square}x{square}": gemm(s, square, square) for s in THIN_ROWS}
    found |= {f"gemm {m}x{k}x{n}": gemm(m, k, n) for m, k, n in MID_GEMMS}
    found |= {f"bandwidth {s}": cycle(s) for s in WORKING_SETS}
    return found | _thread_builders(r)


def _thread_builders(r: Callable[..., torch.Tensor]
                     ) -> dict[str, Callable[[], Callable[[], object]]]:
    """The probes of what splitting work over threads costs: activations of each of
    ``KERNEL_SIZES``, and (act', GEMM) loops chained and apart for each of ``HANDOFF_ROWS``."""
    def handoff(rows: int, chained: bool) -> Callable[[], Callable[[], object]]:
        def build() -> Callable[[], object]:
            W, a, X = r(HANDOFF_K, HANDOFF_K) / HANDOFF_K**0.5, torch.tanh(r(HANDOFF_K)), \
                r(rows, HANDOFF_K)
            scale = torch.ops.aten.tanh_backward.default

            def loop() -> object:
                x = X
                for _ in range(HANDOFF_LOOP):
                    x = torch.mm(scale(x, a), W) if chained else (scale(X, a), torch.mm(X, W))
                return x

            return loop
        return build

    def act(n: int) -> Callable[[], Callable[[], object]]:
        def build() -> Callable[[], object]:
            x = r(n)
            return lambda: torch.tanh(x)
        return build

    found = {f"act {n}": act(n) for n in KERNEL_SIZES}
    return found | {f"handoff {how} {rows}": handoff(rows, how == "chained")
                    for rows in HANDOFF_ROWS for how in ("chained", "apart")}


def _cycle_shape(size: int, itemsize: int) -> tuple[int, int]:
    """(n, count): ``count`` n×n matrices of ``size`` bytes in all (n at most 1024 on a CPU)."""
    return cycle_shape(size, itemsize, max_side=1024)


def _gemm_law(seconds: Mapping[str, float], dispatch: float, square: int
              ) -> tuple[float, float, float]:
    """(peak_flops, gemm_half_dim, sync_s) from the GEMM probes.

    Each is taken with the others held, a few times over: the square GEMM runs at
    square / (square + half) of the peak, and the thin ones pay the sync too.
    """
    square_rate = 2.0 * square**3 / seconds[f"gemm {square}x{square}x{square}"]
    peak, half, sync = square_rate, 0.0, 0.0
    for _ in range(8):
        halves = []
        for s in THIN_ROWS:
            work = max(seconds[f"gemm {s}x{square}x{square}"] - dispatch - sync, 1e-12)
            efficiency = min(2.0 * s * square * square / work / peak, 1.0)
            halves.append(s * (1 / efficiency - 1))
        half = max(0.0, statistics.median(halves))
        peak = square_rate * (square + half) / square
        syncs = [seconds[f"gemm {m}x{k}x{n}"] - dispatch
                 - 2.0 * m * k * n / (peak * min(m, k, n) / (min(m, k, n) + half))
                 for m, k, n in MID_GEMMS]
        sync = max(0.0, statistics.median(syncs))
    return peak, half, sync


def _machine(seconds: Mapping[str, float], device: str, itemsize: int) -> MachineModel:
    """The parameters from the probes' seconds per call (pure arithmetic: see the docstring)."""
    dispatch = seconds["dispatch"] / (3 * DISPATCH_LOOP)
    if _kind(device) == "cuda":
        return MachineModel(**cuda_parameters(seconds, itemsize))  # type: ignore[arg-type]
    peak, half, sync = _gemm_law(seconds, dispatch, GEMM_SQUARE)
    bandwidth = []
    for size in WORKING_SETS:
        n, count = _cycle_shape(size, itemsize)
        per_mv = seconds[f"bandwidth {size}"] / (2 * count)
        bandwidth.append((float(n * n * count * itemsize), n * n * itemsize / max(
            per_mv - dispatch, 1e-12)))
    elementwise = ELEMENTS / max(seconds[f"elementwise {ELEMENTS}"] - dispatch, 1e-12)
    handoff, sync_flops = _handoff(seconds)
    extra = {n: seconds[f"act {n}"] - seconds[f"act {KERNEL_SIZES[0]}"] for n in KERNEL_SIZES}
    step = max(0.0, statistics.median(extra[n] for n in KERNEL_SIZES[-2:]))
    paying = [n for n in KERNEL_SIZES if step > 0 and extra[n] >= step / 2]
    return MachineModel(dispatch_s=dispatch, peak_flops=peak, gemm_half_dim=half, sync_s=sync,
                        elementwise_rate=elementwise, bandwidth=tuple(bandwidth),
                        handoff_s=handoff, sync_flops=sync_flops, kernel_sync_s=step,
                        kernel_sync_elems=min(paying, default=0))


def _handoff(seconds: Mapping[str, float]) -> tuple[float, float]:
    """(handoff_s, sync_flops) from the chained and apart (act', GEMM) loops (see the docstring)."""
    flops = {rows: 2.0 * rows * HANDOFF_K * HANDOFF_K for rows in HANDOFF_ROWS}
    extra = {rows: max(0.0, (seconds[f"handoff chained {rows}"]
                             - seconds[f"handoff apart {rows}"]) / HANDOFF_LOOP)
             for rows in HANDOFF_ROWS}
    big = [extra[rows] for rows in HANDOFF_ROWS if rows >= min(m for m, _, _ in MID_GEMMS)]
    handoff = statistics.median(big)
    paying = [flops[rows] for rows in HANDOFF_ROWS if handoff > 0 and extra[rows] >= handoff / 2]
    return handoff, min(paying, default=MachineModel.sync_flops)


def _probe_machine(device: str, dtype: torch.dtype, timer: Timer) -> MachineModel:
    """The machine's parameters, the best of ``MACHINE_ROUNDS`` rounds of probes; measured once
    more where one is outside its physical range (``plausible.implausible``), and refused with
    ``ImplausibleCalibration`` where it still is."""
    builders = (cuda_builders if _kind(device) == "cuda" else _builders)(device, dtype)
    problems: list[str] = []
    for _ in range(2):
        seconds: dict[str, float] = {}
        with torch.inference_mode():
            for _ in range(MACHINE_ROUNDS):  # the best of a few rounds: a busy moment only slows
                for label, build in builders.items():
                    seconds[label] = min(seconds.get(label, math.inf), timer(label, build))
        model = _machine(seconds, device, dtype.itemsize)
        problems = implausible(model)
        if not problems:
            return model
    raise ImplausibleCalibration(f"{device} {dtype}: {'; '.join(problems)}")


def calibrate(device: str = "cpu", dtype: str = "float32", *,
              mode_probes: Mapping[str, ModeProbe] | None = None, timer: Timer | None = None,
              clock: Callable[[], float] = time.perf_counter,
              work_probes: frozenset[str] = frozenset(),
              storage: torch.dtype | None = None) -> MachineModel:
    """Measure the time model of ``device`` in ``dtype`` (a couple of seconds on a CPU).

    Each mode of ``mode_probes`` gets its call costs; those named in ``work_probes`` (library
    modes) their work factor too. ``storage`` is the dtype's torch dtype where its name is not
    one (tf32 stores float32; the caller has set its products' precision).
    """
    torch_dtype = storage or getattr(torch, dtype)
    timer = timer or default_timer(device)
    start = clock()
    model = _probe_machine(device, torch_dtype, timer)
    overheads = {}
    for mode, probe in (mode_probes or {}).items():
        measured = {shape: timer(f"mode {mode} {'x'.join(map(str, shape))}",
                                 lambda probe=probe, shape=shape: probe(*shape))
                    for shape in TINY_SHAPES}
        overheads[mode] = fit_overhead(mode, measured, model, torch_dtype.itemsize)
        if mode in work_probes:
            work = WORK_SHAPES[_kind(device)]
            label = f"mode {mode} {'x'.join(map(str, work))}"
            seconds = timer(label, lambda probe=probe, work=work: probe(*work))
            overheads[mode] = fit_work_factor(mode, seconds, overheads[mode], model,
                                              torch_dtype.itemsize, work)
    return replace(model, overheads=overheads, device=device, dtype=dtype,
                   threads=torch.get_num_threads(), calibration_s=clock() - start,
                   calibrated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
