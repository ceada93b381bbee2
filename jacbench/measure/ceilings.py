"""Measuring the machine's ceilings: how fast a device multiplies matrices and moves memory.

The ceilings are measured once per device and dtype, from the best of a few repeats within a time
budget, so a noisy moment lowers them less. ``jacbench.theory.floors`` turns them into floors.

>>> import torch, jacbench
>>> from jacbench.theory.floors import floor_seconds
>>> c = measure_ceilings("cpu", torch.float32, budget_s=0.2)
>>> floor_seconds(jacbench.cost("reverse", L=3, D=64, K=64, P=64), c) > 0
True
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from jacbench.theory.floors import Ceilings

__all__ = ["measure_ceilings"]


def _best_seconds(
    fn: Callable[[], object],
    sync: Callable[[], None],
    budget_s: float,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Best per-call time of ``fn`` over repeats filling ``budget_s``: a warm-up, then >= 3 blocks.

    Plain wall-clock timing with synchronisation uses torch's current thread count (a
    ``torch.utils.benchmark.Timer`` would default to one thread). The best block, not the median,
    because a ceiling is what the machine can do, and noise only ever slows it.
    """
    start = clock()
    fn()
    sync()
    once = max(clock() - start, 1e-9)
    calls = max(1, int(budget_s / 10 / once))  # about ten blocks fill the budget
    best = float("inf")
    deadline = start + budget_s
    blocks = 0
    while blocks < 3 or clock() < deadline:
        t0 = clock()
        for _ in range(calls):
            fn()
        sync()
        best = min(best, (clock() - t0) / calls)
        blocks += 1
    return best


def measure_ceilings(
    device: str | torch.device,
    dtype: torch.dtype,
    *,
    budget_s: float = 1.0,
    matmul_n: int | None = None,
    copy_bytes: int | None = None,
    allow_tf32: bool = False,
) -> Ceilings:
    """Measure the matmul and bandwidth ceilings of ``device`` in ``dtype`` in about ``budget_s``.

    Default sizes: a 1024 matmul and 128 MiB buffers on the CPU (past the caches, a 2-core VM
    does a 1024 matmul near its best), 4096 and 1 GiB on CUDA. For fp32 on CUDA TF32 is switched
    off for the measurement unless ``allow_tf32`` (the global setting is restored afterwards), so
    the ceiling matches full-precision fp32 work; ``Ceilings.tf32`` records which.
    """
    device = torch.device(device)
    if not dtype.is_floating_point:
        raise ValueError(f"dtype must be floating point, got {dtype}")
    if budget_s <= 0:
        raise ValueError(f"budget_s must be positive, got {budget_s}")
    cuda = device.type == "cuda"
    n = matmul_n or (4096 if cuda else 1024)
    size = copy_bytes or (1 << 30 if cuda else 128 << 20)
    if n < 1 or size < 1:
        raise ValueError(f"matmul_n and copy_bytes must be positive, got {n} and {size}")

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize(device)

    tf32 = cuda and dtype == torch.float32 and allow_tf32
    saved_tf32 = torch.backends.cuda.matmul.allow_tf32
    try:
        if cuda:
            torch.backends.cuda.matmul.allow_tf32 = tf32
        matmul_s = _matmul_seconds(n, device, dtype, sync, budget_s / 2)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = saved_tf32
    count = max(1, size // dtype.itemsize)
    copy_s, sum_s = _memory_seconds(count, device, dtype, sync, budget_s / 2)
    moved = count * dtype.itemsize
    return Ceilings(
        peak_flops=2 * n**3 / matmul_s,
        peak_bandwidth=max(2 * moved / copy_s, moved / sum_s),
        matmul_n=n,
        copy_bytes=moved,
        tf32=tf32,
    )


def _matmul_seconds(
    n: int, device: torch.device, dtype: torch.dtype, sync: Callable[[], None], budget_s: float
) -> float:
    """Best time of one n×n by n×n product into a preallocated output (the operands die here)."""
    gen = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(n, n, generator=gen, device=device, dtype=dtype)
    b = torch.randn(n, n, generator=gen, device=device, dtype=dtype)
    out = torch.empty(n, n, device=device, dtype=dtype)
    return _best_seconds(lambda: torch.mm(a, b, out=out), sync, budget_s)


def _memory_seconds(
    count: int, device: torch.device, dtype: torch.dtype, sync: Callable[[], None], budget_s: float
) -> tuple[float, float]:
    """Best times of copying ``count`` numbers (read + write) and of summing them (read only)."""
    src = torch.ones(count, device=device, dtype=dtype)
    dst = torch.empty_like(src)
    copy_s = _best_seconds(lambda: dst.copy_(src), sync, budget_s / 2)
    sum_s = _best_seconds(src.sum, sync, budget_s / 2)
    return copy_s, sum_s
