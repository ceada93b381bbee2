"""The floor a machine's ceilings put under a mode's time: the larger of its compute and memory
bounds, and which of the two it is."""

from __future__ import annotations

import pytest

from jacbench.theory.cost import Cost
from jacbench.theory.floors import Ceilings, bound_by, floor_seconds

CEILINGS = Ceilings(peak_flops=1e9, peak_bandwidth=1e8, matmul_n=1024, copy_bytes=1 << 20)
COMPUTE_BOUND = Cost(
    "x", matmul_macs=4_000, elementwise_macs=1_000, bytes_moved=100, peak_extra_bytes=0
)
MEMORY_BOUND = Cost("x", matmul_macs=5, elementwise_macs=0, bytes_moved=2_000, peak_extra_bytes=0)


def test_floor_seconds_is_the_larger_of_compute_and_memory() -> None:
    assert floor_seconds(COMPUTE_BOUND, CEILINGS) == pytest.approx(10_000 / 1e9)
    assert floor_seconds(MEMORY_BOUND, CEILINGS) == pytest.approx(2_000 / 1e8)


def test_bound_by_names_the_term_that_sets_the_floor() -> None:
    assert bound_by(COMPUTE_BOUND, CEILINGS) == "FLOPs"
    assert bound_by(MEMORY_BOUND, CEILINGS) == "bytes"
