"""Machine ceilings: a quick measurement gives sane numbers. The floor they put under a time is
tested in tests/theory/test_floors.py."""

from __future__ import annotations

import math

import pytest
import torch

from jacbench.measure.ceilings import Ceilings, _best_seconds, measure_ceilings


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


@pytest.mark.cuda
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
