"""Every Jacobian mode in ``jacbench.modes()`` × named shapes × device, timed by pytest-benchmark.

Run with ``pytest --benchmark-only`` from the repository root (see benchmarks/README.md). Each case
first computes its Jacobian once, untimed, and checks it against the float64 reference (relative
Frobenius error within ``jacbench.model.reference.TOLERANCE``, the sweep's own); that call's
duration also decides whether the case is too slow to time (``SLOW_CALL_S``). Then pytest-benchmark
calibrates and times the mode's prepared call (``jacbench.modes.registry.prepare``):
``jacbench.jacobian(net, x, mode)`` for torch modes; for the JAX modes the jitted call on arrays
converted once beforehand, then ``block_until_ready()``, as the sweep times them. The
torch-compiled modes (seconds of compiling per shape) are left to the sweep.

On CUDA the timed function is the call followed by ``torch.cuda.synchronize()``, under the plugin's
normal calibration, so a round measures finished device work, not kernel launches. Normal
calibration rather than ``benchmark.pedantic`` keeps the CPU and CUDA cases under the same
``--benchmark-max-time`` / ``--benchmark-min-rounds`` / ``--benchmark-precision`` options; the
untimed check call beforehand is the warm-up (CUDA context, cuBLAS handles, torch.func setup).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch

import jacbench
from jacbench.catalog import CATALOG, COMPILED
from jacbench.model.reference import TOLERANCE, relative_error
from jacbench.modes.registry import ModeUnavailable, prepare
from jacbench.theory.cost import cost

# torch.autograd.forward_ad scripts its decompositions on first use; torch 2.13 warns each time.
pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning"
)

DTYPE = torch.float32
#: A case whose untimed call takes longer than this is skipped: pytest-benchmark's minimum of
#: 5 rounds would spend several seconds on it, and it is a mode no one should use at that shape.
SLOW_CALL_S = 0.5


@dataclass(frozen=True)
class Shape:
    """A named MLP shape: L hidden layers of width K, input D, output P, batch N (1: x is (D,))."""

    name: str
    L: int
    D: int
    K: int
    P: int
    batch: int = 1

    def __str__(self) -> str:
        return f"{self.name} L={self.L} D={self.D} K={self.K} P={self.P} N={self.batch}"


SHAPES = {
    s.name: s
    for s in (
        Shape("course-small", L=10, D=2, K=30, P=10),
        Shape("reverse-favoured", L=4, D=2048, K=256, P=1),
        Shape("forward-favoured", L=4, D=4, K=256, P=512),
        Shape("square", L=4, D=256, K=256, P=256),
        Shape("batched", L=4, D=64, K=128, P=64, batch=32),
    )
}

DEVICES = (
    pytest.param("cpu"),
    pytest.param(
        "cuda",
        marks=[pytest.mark.cuda],
    ),
)


def device_call(fn: Callable[[], object], device: str) -> Callable[[], object]:
    """``fn`` as timed on ``device``: on CUDA it returns only once the device has finished."""
    if not device.startswith("cuda"):
        return fn

    def synchronised() -> object:
        J = fn()
        torch.cuda.synchronize(device)
        return J

    return synchronised


def seconds_of(fn: Callable[[], object]) -> tuple[object, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def flops_of(mode: str, shape: Shape) -> int | None:
    """The cost model's FLOPs for one call, or None for a mode it does not model yet."""
    try:
        return int(cost(mode, shape.L, shape.D, shape.K, shape.P, batch=shape.batch).flops)
    except ValueError:  # a mode the cost model does not know
        return None


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape_name", SHAPES)
@pytest.mark.parametrize("mode", [m for m in jacbench.modes() if CATALOG[m].family != COMPILED])
def test_jacobian(benchmark, jacobian_reference, mode: str, shape_name: str, device: str) -> None:
    shape = SHAPES[shape_name]
    net = jacbench.MLP.random(
        shape.L, shape.D, shape.K, shape.P, seed=0, dtype=DTYPE, device=device
    )
    size = (shape.D,) if shape.batch == 1 else (shape.batch, shape.D)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(*size, generator=gen, dtype=torch.float64).to(dtype=DTYPE, device=device)
    try:
        ready = prepare(net, x, mode)
    except ModeUnavailable as exc:
        pytest.skip(str(exc))
    call = device_call(ready.call, device)

    # Untimed: check against the float64 reference, and measure one call.
    result, seconds = seconds_of(call)
    J = ready.to_torch(result)
    J_ref = jacobian_reference(net, x)
    error = relative_error(J, J_ref)
    assert error <= TOLERANCE["float32"], (
        f"{mode} off the float64 reference by {error:.1e} (rel. Frobenius)")
    if seconds > SLOW_CALL_S:
        # A process's first call of a mode can include one-off setup (torch.func / vmap start-up
        # costs 0.5-0.8 s once), so a slow first call is measured again before skipping.
        _, again = seconds_of(call)
        seconds = min(seconds, again)
        if seconds > SLOW_CALL_S:
            pytest.skip(
                f"{mode} at {shape} on {device}: {seconds:.2f} s per call "
                f"(over the {SLOW_CALL_S} s limit for timing)"
            )

    benchmark.group = f"{device} {shape}"
    benchmark.extra_info.update(
        mode=mode,
        shape=shape.name,
        L=shape.L,
        D=shape.D,
        K=shape.K,
        P=shape.P,
        batch=shape.batch,
        device=device,
        dtype=str(DTYPE).removeprefix("torch."),
        threads=ready.threads,
        error_vs_float64=error,
    )
    flops = flops_of(mode, shape)
    if flops is not None:
        benchmark.extra_info["flops"] = flops
    benchmark(call)
