"""The time model's machine probes on a GPU: sized for the device's work, not for its launches.

On a GPU the host queues kernels and the device runs them, so a probe of a few microseconds of
work times the host's launch (about 10 us each on the H200 we measured), not the device: a
matrix-vector product over 4 MiB read as "1e9 GB/s" there, and a 64 Ki-element act' kernel as
6.5e16 elements/s. Here every probe either does milliseconds of work in one kernel (a 4096³ GEMM,
act' on 64 Mi elements) or is replayed as a CUDA graph of many kernels, which takes the host out:

- ``dispatch``: the same Python loop of tiny calls as on a CPU: the host's cost of one call;
- ``launch``: a graph of ``GRAPH_KERNELS`` tiny kernels: the device's own time per kernel;
- ``gemm``: a ``GEMM_SQUARE``³ product and ``THIN_ROWS`` × ``GEMM_SQUARE``² ones;
- ``elementwise``: act' (tanh_backward) on ``ELEMENTS`` elements;
- ``bandwidth``: graphs of matrix-vector products cycling over ``WORKING_SETS`` bytes, from
  inside the L2 cache (60 MB on an H200) to far beyond it, less one kernel's device time each.

The work is timed by ``jacbench.measure.calibrate``'s timer, which synchronises the device at the
edges of each block of calls. Knows nothing about Jacobians.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping

import torch

__all__ = ["DISPATCH_LOOP", "ELEMENTS", "GEMM_SQUARE", "GRAPH_KERNELS", "THIN_ROWS",
           "WORKING_SETS", "cuda_builders", "cuda_parameters", "cycle_shape", "dispatch_probe"]

Build = Callable[[], Callable[[], object]]

GEMM_SQUARE = 4096
THIN_ROWS = (64, 256)
ELEMENTS = 1 << 26
GRAPH_KERNELS = 64
WORKING_SETS = (1 << 22, 1 << 25, 1 << 28, 1 << 30)
DISPATCH_LOOP = 8  # layers of (act, act', mv) in the dispatch probe: 3 calls each
MAX_SIDE = 8192  # the largest matrix side of the bandwidth probes


def graphed(calls: Callable[[], object], device: str) -> Callable[[], object]:
    """``calls`` captured once in a CUDA graph (warmed up on a side stream, as torch asks);
    the returned callable replays it."""
    stream = torch.cuda.Stream(device)
    stream.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(stream):
        calls()
    torch.cuda.current_stream(device).wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        calls()
    return graph.replay


def cycle_shape(size: int, itemsize: int, max_side: int = MAX_SIDE) -> tuple[int, int]:
    """(n, count): ``count`` n×n matrices of ``size`` bytes in all (n at most ``max_side``)."""
    n = min(max_side, int((size / itemsize) ** 0.5))
    return n, max(1, size // (n * n * itemsize))


def dispatch_probe(r: Callable[..., torch.Tensor]) -> Callable[[], object]:
    """The host's cost of a framework call, on a CPU and a GPU alike: ``DISPATCH_LOOP`` layers
    of (act, act', mv) on 4-element operands made by ``r``, 3 calls each."""
    W, h, g = r(4, 4), r(4), r(4)

    def loop() -> object:
        x = h
        for _ in range(DISPATCH_LOOP):
            a = torch.tanh(x)
            torch.ops.aten.tanh_backward.default(g, a)
            x = torch.mv(W, a)
        return x

    return loop


def cuda_builders(device: str, dtype: torch.dtype) -> dict[str, Build]:
    """Every GPU machine probe by label: a function that builds the callable to time."""
    def r(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, device=device, dtype=dtype)

    def launch() -> Callable[[], object]:
        x = r(4)
        return graphed(lambda: [torch.tanh(x) for _ in range(GRAPH_KERNELS)], device)

    def gemm(m: int) -> Build:
        def build() -> Callable[[], object]:
            A, B = r(m, GEMM_SQUARE), r(GEMM_SQUARE, GEMM_SQUARE)
            out = torch.empty(m, GEMM_SQUARE, device=device, dtype=dtype)
            return lambda: torch.mm(A, B, out=out)
        return build

    def elementwise() -> Callable[[], object]:
        g, a = r(ELEMENTS), r(ELEMENTS)
        out = torch.empty_like(g)
        return lambda: torch.ops.aten.tanh_backward.grad_input(g, a, grad_input=out)

    def cycle(size: int) -> Build:
        def build() -> Callable[[], object]:
            n, count = cycle_shape(size, dtype.itemsize)
            Ws, x = [r(n, n) for _ in range(count)], r(n)
            order = Ws + Ws[::-1]
            return graphed(lambda: [torch.mv(W, x) for W in order], device)
        return build

    found: dict[str, Build] = {"dispatch": lambda: dispatch_probe(r), "launch": launch,
                               f"gemm {GEMM_SQUARE}": gemm(GEMM_SQUARE),
                               f"elementwise {ELEMENTS}": elementwise}
    found |= {f"gemm {m}": gemm(m) for m in THIN_ROWS}
    return found | {f"bandwidth {s}": cycle(s) for s in WORKING_SETS}


def cuda_parameters(seconds: Mapping[str, float], itemsize: int) -> dict[str, object]:
    """The MachineModel fields from the GPU probes' seconds per call (pure arithmetic).

    A thin GEMM of s rows runs at peak · s / (s + n½) after its kernel's own time; the square
    one at square / (square + n½) of the peak. GPUs have no thread start, join or hand-over of
    a CPU's BLAS: those terms are zero; ``asynchronous`` makes the time model take the larger of
    the host's calls and the device's work.
    """
    dispatch = seconds["dispatch"] / (3 * DISPATCH_LOOP)
    launch = seconds["launch"] / GRAPH_KERNELS
    square_rate = 2.0 * GEMM_SQUARE**3 / max(seconds[f"gemm {GEMM_SQUARE}"] - launch, 1e-12)
    halves = []
    for s in THIN_ROWS:
        rate = 2.0 * s * GEMM_SQUARE**2 / max(seconds[f"gemm {s}"] - launch, 1e-12)
        halves.append(s * max(0.0, square_rate / rate - 1))  # against the square's rate
    half = statistics.median(halves)
    peak = square_rate * (GEMM_SQUARE + half) / GEMM_SQUARE
    bandwidth = []
    for size in WORKING_SETS:
        n, count = cycle_shape(size, itemsize)
        per_mv = seconds[f"bandwidth {size}"] / (2 * count)
        bandwidth.append((float(n * n * count * itemsize),
                          n * n * itemsize / max(per_mv - launch, 1e-12)))
    elementwise = ELEMENTS / max(seconds[f"elementwise {ELEMENTS}"] - launch, 1e-12)
    return {"dispatch_s": dispatch, "launch_s": launch, "peak_flops": peak,
            "gemm_half_dim": half, "sync_s": 0.0, "elementwise_rate": elementwise,
            "bandwidth": tuple(bandwidth), "asynchronous": True}
