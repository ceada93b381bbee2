"""analysis.devices: the GPU's questions as numbers, from tables of known law."""

from __future__ import annotations

import pytest
from factories import every_figure_rows, flop_time, frame_of, grid, make_rows

from jacbench.analysis.devices import (
    cpu_against_gpu,
    launch_savings,
    precision_label,
    precision_point,
)
from jacbench.analysis.table import ok_sweep
from jacbench.catalog import CATALOG


@pytest.fixture(scope="module")
def ok():
    return ok_sweep(frame_of(every_figure_rows()))


def test_cpu_against_gpu_pairs_each_mode_at_the_same_point(ok) -> None:
    pairs = cpu_against_gpu(ok)
    # the factory's GPU runs every mode 50x faster along the depth sweep, float32 only
    assert set(pairs["L"]) == {1, 2, 4, 8, 16}
    assert set(pairs["dtype"]) == {"float32"}
    assert pairs["speedup"].to_numpy() == pytest.approx(50.0)
    assert (pairs["flops"] > 0).all()
    assert len(pairs) == 5 * len(set(pairs["mode"])) == 5 * len(CATALOG)


def test_launch_savings_only_for_one_program_modes_on_the_gpu() -> None:
    rows = make_rows(grid(L=[1, 2]), ("reverse", "jax-jacrev", "jacrev", "reverse-native"),
                     device="cuda")
    rows += make_rows(grid(L=[1, 2]), ("reverse", "reverse-native"))  # cpu: not counted
    savings = launch_savings(ok_sweep(frame_of(rows)))
    assert set(savings["mode"]) == {"jax-jacrev", "reverse-native"}
    assert set(savings["L"]) == {1, 2} and len(savings) == 4
    jax = savings[savings["mode"] == "jax-jacrev"]
    expected = flop_time("jacrev", grid()[0] | {"L": 1}) / flop_time("jax-jacrev",
                                                                    grid()[0] | {"L": 1})
    assert jax[jax["L"] == 1]["speedup"].iloc[0] == pytest.approx(expected)
    assert launch_savings(ok_sweep(frame_of(rows[-4:]))).empty


def test_launch_savings_keep_matmul_precisions_apart(ok) -> None:
    savings = launch_savings(ok)
    at = savings[(savings["mode"] == "jax-jacrev") & (savings["L"] == 4)]
    assert len(at) == 3  # float32, float32 at TF32 ("high"), float64: each its own pair
    assert at["speedup"].to_numpy() == pytest.approx(at["speedup"].iloc[0])


def test_precisions_from_the_most_exact_down(ok) -> None:
    found = precision_point(ok)
    assert found is not None
    fixed, rows, order = found
    assert order == ["float64", "float32", "float32 (high)"]
    assert dict(fixed)["device"] == "cuda" and "dtype" not in dict(fixed)
    assert set(rows["precision"]) == set(order)
    assert precision_label("float32", "highest") == precision_label("float32", None) == "float32"
    assert precision_point(ok[ok["dtype"] == "float32"].drop(columns="matmul_precision")) is None
