"""Machine ceilings: a quick measurement gives sane numbers; the floor is the larger bound."""

from __future__ import annotations

import math

import pytest
import torch

from jacbench.measure.ceilings import Ceilings, _best_seconds, floor_seconds, measure_ceilings
from jacbench.theory.cost import Cost


def _plausible(c: Ceilings) -> None:
    for value in (c.peak_flops, c.peak_bandwidth):
        assert math.isfinite(value) and value > 0
    assert 1e6 < c.peak_flops < 1e16  # from a stalled VM core to a large GPU
    assert 1e6 < c.peak_bandwidth < 1e14


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_tiny_cpu_measurement_is_positive_and_finite(dtype: torch.dtype) -> None:
    c = measure_ceilings("cpu", dtype, budget_s=0.05, matmul_n=128, copy_bytes=1 << 20)
    _plausible(c)
    assert c.matmul_n == 128
    assert c.copy_bytes == 1 << 20
    assert c.tf32 is False


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="budget_s"):
        measure_ceilings("cpu", torch.float32, budget_s=0)
    with pytest.raises(ValueError, match="floating point"):
        measure_ceilings("cpu", torch.int32, budget_s=0.01)


def test_best_seconds_takes_the_best_block_with_a_fake_clock() -> None:
    now = [0.0]
    durations = iter([1.0, 3.0, 2.0, 5.0] + [4.0] * 100)  # warm-up, then one call per block

    def fn() -> None:
        now[0] += next(durations)

    best = _best_seconds(fn, lambda: None, budget_s=10.0, clock=lambda: now[0])
    assert best == 2.0
    assert now[0] >= 10.0  # it used its budget


def test_floor_seconds_is_the_larger_of_compute_and_memory() -> None:
    ceilings = Ceilings(peak_flops=1e9, peak_bandwidth=1e8, matmul_n=1024, copy_bytes=1 << 20)
    compute_bound = Cost(
        "x", matmul_macs=4_000, elementwise_macs=1_000, bytes_moved=100, peak_extra_bytes=0
    )
    assert floor_seconds(compute_bound, ceilings) == pytest.approx(10_000 / 1e9)
    memory_bound = Cost(
        "x", matmul_macs=5, elementwise_macs=0, bytes_moved=2_000, peak_extra_bytes=0
    )
    assert floor_seconds(memory_bound, ceilings) == pytest.approx(2_000 / 1e8)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_measurement_restores_tf32() -> None:
    before = torch.backends.cuda.matmul.allow_tf32
    c = measure_ceilings("cuda", torch.float32, budget_s=0.2, matmul_n=2048, copy_bytes=64 << 20)
    _plausible(c)
    assert c.tf32 is False
    fast = measure_ceilings(
        "cuda", torch.float32, budget_s=0.2, matmul_n=2048, copy_bytes=64 << 20, allow_tf32=True
    )
    _plausible(fast)
    assert fast.tf32 is True
    assert torch.backends.cuda.matmul.allow_tf32 == before
