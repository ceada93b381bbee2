"""The Triton modes against eager torch, the CUDA-graph modes (where catalogued) and JAX's jit, on
a GPU only: the two targets of issue 22 that concern them.

- ``course-small`` (L=10, D=2, K=30, P=10, one input): at most 25 us per Jacobian, one launch
  (eager reverse took 596 us on an H200, JAX-jit 43-51 us, an empty launch ~10.7 us);
- ``compute-bound`` (L=4, D=256, K=1024, P=128, N=512): at least 0.9 of the fp32 FLOP floor.

Each case is checked against the float64 reference first (untimed; the check call is the warm-up
that compiles the kernels), then timed by pytest-benchmark as ``test_bench_modes.py`` times it:
the call, then ``torch.cuda.synchronize()``. ``extra_info`` adds ``back_to_back_s``: the mean of
``BACK_TO_BACK`` calls launched one after the other between two CUDA events (what a loop of
Jacobians costs each, the host's launches overlapping the device's work), and the FLOPs of the
mode's algorithm, to set against the ceiling. ``reverse-triton[layers]`` and
``forward-triton[network]`` force one path of the Triton modes, to settle
``triton_modes.NETWORK_MAX``.

    pytest benchmarks/test_bench_triton.py --benchmark-only --benchmark-json triton.json

Nothing here has run on a GPU yet (written on a CPU-only machine): the CUDA-marked cases skip
without one, and the first GPU session measures them (``benchmarks/gpu_check.sh`` runs this file).
"""

from __future__ import annotations

import pytest
import torch
from test_bench_modes import SHAPES, Shape, device_call, flops_of, seconds_of

import jacbench
from jacbench.catalog import CATALOG
from jacbench.model.reference import TOLERANCE, reference_jacobian, relative_error
from jacbench.modes import triton_modes
from jacbench.modes.registry import ModeUnavailable, prepare

pytestmark = pytest.mark.cuda

BACK_TO_BACK = 200
CASES = {"course-small": SHAPES["course-small"],
         "compute-bound": Shape("compute-bound", L=4, D=256, K=1024, P=128, batch=512)}
#: The modes compared: eager, the Triton modes (automatic and each path forced), JAX, and any
#: CUDA-graph or compiled-GPU implementation the catalogue holds by the time this runs.
FORCED = {f"{algorithm}-triton[{path}]": (algorithm, path == "network")
          for algorithm in ("forward", "reverse") for path in ("network", "layers")}
GRAPHS = tuple(m for m, info in CATALOG.items()
               if "graph" in info.implementation and info.algorithm in ("forward", "reverse"))
MODES = ("forward", "reverse", "forward-triton", "reverse-triton", *FORCED, "jax-jacrev",
         "jax-jacfwd", *GRAPHS)


def _ready(mode: str, net: jacbench.MLP, x: torch.Tensor):
    if mode in FORCED:
        algorithm, one_launch = FORCED[mode]
        return triton_modes.prepare_triton(algorithm, net, x, one_launch=one_launch)
    return prepare(net, x, mode)


def back_to_back_s(call) -> float:
    """Mean seconds per call of ``BACK_TO_BACK`` calls launched back to back (CUDA events)."""
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(BACK_TO_BACK):
        call()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / 1e3 / BACK_TO_BACK


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("mode", MODES)
def test_triton_against_the_others(benchmark, mode: str, case: str) -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    shape = CASES[case]
    net = jacbench.MLP.random(shape.L, shape.D, shape.K, shape.P, seed=0, device="cuda")
    size = (shape.D,) if shape.batch == 1 else (shape.batch, shape.D)
    x = torch.randn(*size, generator=torch.Generator().manual_seed(1)).cuda()
    try:
        ready = _ready(mode, net, x)
    except ModeUnavailable as exc:
        pytest.skip(str(exc))
    call = device_call(ready.call, "cuda")
    result, _ = seconds_of(call)
    error = relative_error(ready.to_torch(result), reference_jacobian(net, x))
    assert error <= TOLERANCE["float32"], f"{mode} off the float64 reference by {error:.1e}"
    benchmark.group = f"cuda {shape}"
    benchmark.extra_info.update(mode=mode, shape=shape.name, error_vs_float64=error,
                                back_to_back_s=back_to_back_s(ready.call),
                                flops=flops_of(mode.split("[")[0], shape))
    benchmark(call)
