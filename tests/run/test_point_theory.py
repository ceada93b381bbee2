"""run.point_theory: a sweep computes each mode's cost once per point, and every reader in run/
(the shard balance, the estimate, the memory check, the record) gets those counts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from test_sweep import run, tiny_spec

from jacbench.results.folder import read_results
from jacbench.results.point import Point
from jacbench.run import point_theory
from jacbench.run.estimate import estimate_point_s
from jacbench.run.memory import mode_bytes
from jacbench.run.shard import Shard
from jacbench.run.sweep import slice_of
from jacbench.theory.cost import cost


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """Each (point, mode) the cost model is asked about, counted; nothing kept from before."""
    calls: Counter = Counter()
    real = point_theory.cost_at

    def counting(mode, shape, **kwargs):
        calls[(shape, mode)] += 1
        return real(mode, shape, **kwargs)

    monkeypatch.setattr(point_theory, "cost_at", counting)
    point_theory.point_cost.cache_clear()
    yield calls
    point_theory.point_cost.cache_clear()


def test_a_sweep_computes_each_points_theory_once_per_mode(
        tmp_path: Path, steady_machine: object, counted: Counter) -> None:
    spec = tiny_spec(D=(1, 2))
    slice_of(spec, Shard(0, 2))  # the shard balance asks first, for every point
    run(spec, tmp_path)
    rows = read_results(tmp_path)
    assert len(rows) == 4 and set(rows["status"]) == {"ok"}
    assert rows["predicted_bound"].str.len().gt(0).all()
    assert sorted(counted.values()) == [1, 1, 1, 1]
    assert {(shape.D, mode) for shape, mode in counted} == {
        (D, mode) for D in (1, 2) for mode in ("forward", "reverse")}


def test_the_estimate_the_memory_check_and_the_record_read_the_same_counts(
        counted: Counter) -> None:
    point = Point("cpu", "float64", "tanh", False, L=3, D=2, K=5, P=4, batch=2)
    expected = cost("reverse", 3, 2, 5, 4, 2, dtype_bytes=8)
    estimate_point_s(point, ("reverse",), tiny_spec().settings)
    assert mode_bytes(point, "reverse") == expected.peak_extra_bytes + 8 * 2 * 4 * 2
    theory = point_theory.record_theory(point, "reverse", None, None)
    assert (theory.macs, theory.bytes_moved) == (expected.macs, expected.bytes_moved)
    assert list(counted.values()) == [1]


def test_a_mode_without_a_cost_model_is_still_an_error_and_not_kept(counted: Counter) -> None:
    point = Point("cpu", "float32", "tanh", False, L=1, D=2, K=2, P=2, batch=1)
    for _ in range(2):
        with pytest.raises(ValueError, match="no cost model"):
            point_theory.point_cost(point, "sideways")
    assert point_theory.point_cost.cache_info().currsize == 0
