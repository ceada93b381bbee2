"""Shards partition the grid exactly: disjoint, covering, deterministic, balanced within the
costliest point, on hypothesis-drawn grids."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jacbench.results.point import Point
from jacbench.run.shard import Shard, parse_shard, shard_points


def points_of(sizes: list[int]) -> list[Point]:
    return [Point("cpu", "float32", "tanh", False, 1 + i % 3, d, 4, 2, 1)
            for i, d in enumerate(sizes)]


def cost(p: Point) -> float:
    return float(p.D * p.L)


@given(st.lists(st.integers(1, 1000), min_size=0, max_size=60, unique=True), st.integers(1, 9))
def test_shards_are_disjoint_covering_deterministic_and_balanced(sizes, count):
    points = points_of(sizes)
    shards = shard_points(points, count, cost)
    assert len(shards) == count
    dealt = [p for shard in shards for p in shard]
    assert sorted(dealt) == sorted(points)  # covering, and disjoint (no point twice)
    assert shards == shard_points(points, count, cost)  # deterministic
    for shard in shards:  # each keeps the grid's order
        assert shard == [p for p in points if p in shard]
    loads = [sum(cost(p) for p in shard) for shard in shards]
    if points:
        assert max(loads) - min(loads) <= max(cost(p) for p in points)


def test_one_big_point_does_not_pull_the_small_ones_with_it():
    points = points_of([1000, *[10] * 10])
    big, small = shard_points(points, 2, cost)
    assert [p.D for p in big] == [1000] and len(small) == 10


@pytest.mark.parametrize("text", ["1", "a/b", "3/3", "-1/2", "0/0"])
def test_bad_shards_are_refused(text):
    with pytest.raises(ValueError, match="shard"):
        parse_shard(text)


def test_a_shard_reads_and_prints_as_i_over_n():
    assert parse_shard("2/5") == Shard(2, 5) and str(Shard(2, 5)) == "2/5"
