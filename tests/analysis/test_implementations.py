"""analysis.implementations: the fastest mode of each implementation per point and precision,
from tables of known law."""

from __future__ import annotations

import pytest
from factories import flop_time, frame_of, grid, make_rows

from jacbench.analysis.implementations import (
    OTHER,
    best_by_implementation,
    implementation_of,
    implementations_in,
)
from jacbench.analysis.table import ok_sweep
from jacbench.catalog import CATALOG, IMPLEMENTATIONS
from jacbench.results.schema import Status

#: Per precision, how much faster than ``flop_time`` each mode runs: a made-up GPU where the
#: winners differ by precision (JAX leads in float32, eager reverse with TF32, native nowhere).
SPEED = {
    "float64": {"forward": 1, "reverse": 2, "jacrev": 1.5, "reverse-native": 1.8,
                "jax-jacrev": 1.2, "reverse-compiled": 1.9},
    "float32": {"forward": 1, "reverse": 2, "jacrev": 1.5, "reverse-native": 1.8,
                "jax-jacrev": 3, "reverse-compiled": 2.5},
    "tf32": {"forward": 1, "reverse": 9, "jacrev": 4, "reverse-native": 1.8,
             "jax-jacrev": 6, "reverse-compiled": 8},
}
MODES = tuple(SPEED["float32"])


def rows_of(dtype: str, status: str = Status.OK, **extra: object) -> list[dict]:
    def time(mode: str, p: dict) -> float:
        return flop_time(mode, p) / SPEED[dtype][mode]

    return make_rows(grid(L=[2, 4]), MODES, time=time, device="cuda", dtype=dtype,
                     status=status, **extra)


@pytest.fixture(scope="module")
def best():
    rows = rows_of("float64") + rows_of("float32") + rows_of("tf32", matmul_precision="tf32")
    # faster than everything, but not ok: never a winner
    rows += make_rows(grid(L=[2, 4]), ("reverse", "jax-jacfwd"), device="cuda",
                      time=lambda m, p: 1e-9, status=Status.MISMATCH)
    rows += make_rows(grid(L=[2, 4]), ("chain",), device="cuda", time=lambda m, p: 1e-9,
                      status=Status.SKIPPED)
    return best_by_implementation(ok_sweep(frame_of(rows)))


def expected_winners(dtype: str, L: int) -> dict[str, tuple[str, float]]:
    """Per implementation, its fastest mode and time, worked out from SPEED directly."""
    p = {**grid()[0], "L": L}
    out: dict[str, tuple[str, float]] = {}
    for mode in MODES:
        seconds = flop_time(mode, p) / SPEED[dtype][mode]
        how = CATALOG[mode].implementation
        if how not in out or seconds < out[how][1]:
            out[how] = (mode, seconds)
    return out


@pytest.mark.parametrize("dtype", ["float64", "float32", "tf32"])
@pytest.mark.parametrize("L", [2, 4])
def test_each_implementations_fastest_mode_per_point_and_precision(best, dtype, L):
    mine = best[(best["dtype"] == dtype) & (best["L"] == L)]
    assert set(mine["precision"]) == {dtype}  # tf32's own matmul precision left unsaid
    want = expected_winners(dtype, L)
    got = {r.implementation: (r.mode, r.time_s) for r in mine.itertuples()}
    assert got.keys() == want.keys()
    for how, (mode, seconds) in want.items():
        assert got[how][0] == mode
        assert got[how][1] == pytest.approx(seconds)
    fastest = min(want.values(), key=lambda v: v[1])
    assert list(mine[mine["fastest"]]["mode"]) == [fastest[0]]
    assert mine["ratio"].to_numpy() == pytest.approx(mine["time_s"].to_numpy() / fastest[1])


def test_rows_not_ok_never_count(best):
    assert not {"jax-jacfwd", "chain"} & set(best["mode"])
    assert (best["ratio"] >= 1).all()


def test_the_order_is_shape_then_precision_from_the_most_exact_then_the_catalogues(best):
    first = best[best["L"] == 2]
    assert list(dict.fromkeys(first["precision"])) == ["float64", "float32", "tf32"]
    at = first[first["precision"] == "float32"]["implementation"]
    assert list(at) == implementations_in(at) == [i for i in IMPLEMENTATIONS if i in set(at)]


def test_an_unknown_mode_counts_under_other_and_an_empty_table_is_empty():
    assert implementation_of("not-a-mode") == OTHER
    assert implementations_in([OTHER, "native", "eager"]) == ["eager", "native", OTHER]
    rows = make_rows(grid(), ("reverse",), device="cuda")
    rows += [{**r, "mode": "mine"} for r in make_rows(grid(), ("forward",), device="cuda")]
    table = best_by_implementation(ok_sweep(frame_of(rows)))
    assert set(table["implementation"]) == {"eager", OTHER}
    assert best_by_implementation(ok_sweep(frame_of(rows)).iloc[0:0]).empty
