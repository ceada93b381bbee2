"""Deterministic shards of a sweep: N disjoint slices that cover the grid, balanced by cost.

Points are dealt out greedily, most expensive first (by the cost model's estimate of the time to
measure them, not by count: a sweep passes ``run.estimate``'s, from the same counts of
``run.point_theory`` that its runner records), each to the shard with the least estimated work so
far; ties go to the lowest shard, and points of equal cost keep their grid order, so every process
that computes the shards of a spec gets the same ones. This is Graham's longest-processing-time
rule: no shard ends more than the costliest single point above the lightest one.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from jacbench.results.point import Point

__all__ = ["WHOLE", "Shard", "parse_shard", "shard_points"]


@dataclass(frozen=True)
class Shard:
    """The ``index``-th of ``count`` shards (0-based)."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


#: An unsharded run: the one shard of one.
WHOLE = Shard(0, 1)


def parse_shard(text: str) -> Shard:
    """'I/N' with 0 <= I < N; ValueError (one line) otherwise."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard takes I/N (e.g. 0/4), got {text!r}") from None
    if not (count >= 1 and 0 <= index < count):
        raise ValueError(f"--shard {text}: need 0 <= I < N")
    return Shard(index, count)


def shard_points(points: Sequence[Point], count: int,
                 cost: Callable[[Point], float]) -> list[list[Point]]:
    """``points`` dealt into ``count`` shards, each in grid order; see the module docstring."""
    if count < 1:
        raise ValueError(f"the number of shards must be at least 1, got {count}")
    work = [cost(p) for p in points]  # each point's estimate, asked for once
    order = sorted(range(len(points)), key=lambda i: (-work[i], i))
    loads = [(0.0, shard) for shard in range(count)]  # a heap of (work so far, shard)
    members: list[list[int]] = [[] for _ in range(count)]
    for i in order:
        load, shard = heapq.heappop(loads)
        members[shard].append(i)
        heapq.heappush(loads, (load + work[i], shard))
    return [[points[i] for i in sorted(m)] for m in members]
