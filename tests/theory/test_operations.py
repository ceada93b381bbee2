"""The operation lists: the work the cost model counts, the calls each mode makes, and how a
traced program of a known algorithm is read."""

from __future__ import annotations

import itertools

import pytest

from jacbench.catalog import CATALOG
from jacbench.theory.chain_plan import chain_cost, chain_plan
from jacbench.theory.cost import cost
from jacbench.theory.operations import ELEMENTWISE, GEMM, known_modes, operations

SHAPES = list(itertools.product([1, 3], [1, 6, 64], [2, 8], [1, 5, 64], [1, 3]))


def _work(ops) -> tuple[int, int]:
    return (sum(op.macs * op.repeat for op in ops if op.kind == GEMM),
            sum(op.macs * op.repeat for op in ops if op.kind == ELEMENTWISE))


def test_every_catalogued_mode_has_operations() -> None:
    for mode, info in CATALOG.items():  # those of the algorithm it runs
        assert info.algorithm in known_modes(), mode
        assert operations(mode, 2, 3, 4, 5)


@pytest.mark.parametrize("mode", known_modes())
def test_the_cost_model_counts_the_operations(mode: str) -> None:
    for L, D, K, P, N in SHAPES:
        c = cost(mode, L, D, K, P, N)
        assert _work(operations(mode, L, D, K, P, N)) == (c.matmul_macs, c.elementwise_macs)


def test_a_mixed_chain_plan_does_what_the_plan_counts() -> None:
    L, D, K, P, N = 4, 64, 8, 64, 3
    assert chain_plan(L, D, K, P).kind == "mixed"
    assert _work(operations("chain", L, D, K, P, N)) == chain_cost(L, D, K, P, N)
    products = [op for op in operations("chain", L, D, K, P, N) if op.name == "chain product"]
    per_sample = [op for op in products if op.weight_elems == 0]  # two per-sample factors
    assert per_sample and all(op.repeat % N == 0 for op in per_sample)  # a batched GEMM
    assert all(op.m % N == 0 for op in products if op.weight_elems)  # the batch in the rows


@pytest.mark.parametrize(("mode", "per_layer", "fixed"), [("forward", 4, 2), ("reverse", 4, 0)])
def test_calls_are_the_documented_ones(mode: str, per_layer: int, fixed: int) -> None:
    for L in (1, 2, 7):
        ops = operations(mode, L, 5, 4, 3)
        assert sum(op.calls * op.repeat for op in ops) == per_layer * L + fixed
        batch = operations(mode, L, 5, 4, 3, batch=2)
        assert sum(op.calls * op.repeat for op in batch) == per_layer * L + fixed + 1  # batch view


def test_reverse_shapes_by_hand() -> None:
    ops = operations("reverse", L=2, D=3, K=4, P=5, batch=2)
    gemms = [(op.m, op.k, op.n, op.weight_elems) for op in ops if op.kind == GEMM]
    # primal (N×D)(D×K), (N×K)(K×K); adjoints with the batch folded into the rows: N·P rows
    assert gemms == [(2, 3, 4, 12), (2, 4, 4, 16), (10, 4, 4, 16), (10, 4, 3, 12)]


def test_library_loops_repeat_their_operations() -> None:
    loop = operations("autograd-reverse", L=2, D=3, K=4, P=5)
    assert {op.repeat for op in loop if op.name.startswith("seed rows")} == {5}
    fallback = operations("autograd-forward-vectorized", L=2, D=3, K=4, P=5)
    assert {op.repeat for op in fallback if op.kind == ELEMENTWISE and op.macs} == {3}


@pytest.mark.parametrize(("mode", "base"), [
    ("jax-jacrev", "jacrev"), ("reverse-compiled", "reverse"),
    ("jacrev-compiled", "jacrev"), ("forward", "forward")])
def test_a_traced_program_runs_its_algorithm_in_one_call(mode: str, base: str) -> None:
    assert CATALOG[mode].algorithm == base
    ops, plain = operations(mode, 3, 4, 5, 6), operations(base, 3, 4, 5, 6)
    assert _work(ops) == _work(plain)
    assert sum(op.calls * op.repeat for op in ops) == (1 if mode != base else
                                                       sum(op.calls * op.repeat for op in plain))


def test_a_native_mode_is_one_call_whose_products_are_library_calls_of_their_own() -> None:
    native = operations("chain-native", 3, 4, 5, 6)
    traced = operations("chain-compiled", 3, 4, 5, 6)
    assert _work(native) == _work(operations("chain", 3, 4, 5, 6))
    assert sum(op.calls * op.repeat for op in native) == 1
    assert all(op.handed_over for op in native if op.kind == GEMM)
    assert not any(op.handed_over for op in traced if op.kind == GEMM)


def test_unknown_mode_is_named() -> None:
    assert "sideways" not in CATALOG
    with pytest.raises(ValueError, match="'sideways'"):
        operations("sideways", 1, 1, 1, 1)
