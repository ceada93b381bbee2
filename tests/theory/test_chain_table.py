"""The O(L) chain programme: the same plans as the classic O(L²) one at small depth, and plans,
costs and programs at depths where a recursive walk ends in a RecursionError (issue 21, item 4).
Pure arithmetic: no torch here."""

from __future__ import annotations

import itertools
import sys
import time

import pytest

import jacbench
from jacbench.theory.chain_plan import _compile, chain_plan
from jacbench.theory.chain_table import chain_table, exhaustive_table
from jacbench.theory.operations import operations


@pytest.mark.parametrize("L", [1, 2, 3, 5, 8])
def test_the_fast_table_plans_exactly_what_the_exhaustive_one_does(L: int) -> None:
    for D, K, P in itertools.product((1, 3, 16, 40), (1, 2, 4, 9, 20), (1, 5, 16, 40)):
        fast = _compile(L, D, K, P, chain_table(L, D, K, P))
        slow = _compile(L, D, K, P, exhaustive_table(L, D, K, P))
        assert (fast.matmul_macs, fast.elementwise_macs, fast.transposes) == (
            slow.matmul_macs, slow.elementwise_macs, slow.transposes)
        assert (fast.tree, fast.program) == (slow.tree, slow.program), (L, D, K, P)


@pytest.mark.parametrize("L", [1200, 5000])
@pytest.mark.parametrize(("D", "K", "P"), [(64, 8, 64), (10, 100, 10), (1000, 30, 1)])
def test_deep_chains_plan_and_cost_without_recursion(L: int, D: int, K: int, P: int) -> None:
    assert sys.getrecursionlimit() < L  # what a recursive walk could not do
    start = time.perf_counter()
    plan = chain_plan(L, D, K, P)
    assert len(plan.program) >= L  # a product (and its scaling) per layer at least
    assert plan.describe().count(" S_") == L
    c = jacbench.cost("chain", L=L, D=D, K=K, P=P)
    per_input = min((L - 1) * K * K * D + P * K * D + L * K * D,  # forward
                    (L - 1) * K * K * P + P * K * D + L * P * K)  # reverse
    assert c.macs <= K * D + (L - 1) * K * K + per_input
    assert sum(op.macs * op.repeat for op in operations("chain", L, D, K, P)) == c.macs
    assert time.perf_counter() - start < 60  # seconds, not the minutes of an O(L²) programme


def test_a_deep_model_is_counted_with_repeats_not_one_operation_per_layer() -> None:
    for mode in ("forward", "reverse", "jacrev", "jacfwd", "autograd-reverse"):
        assert len(operations(mode, 100_000, 6, 5, 4)) < 30
