"""The chain plan: its bracketing against hand-worked optima and a brute-force search over every
bracketing, its caching, and its refusal of bad sizes. Pure arithmetic: no torch here.

That the chain mode runs the plan is tested in tests/modes/test_chain_mode.py, that its cost is what
torch counts in tests/theory/test_cost.py.
"""

from __future__ import annotations

import functools
import itertools

import pytest

from jacbench.theory.chain_plan import chain_cost, chain_plan


def test_pure_forward_when_D_is_smallest() -> None:
    # L=3, D=1, K=4, P=5: forward costs 2·16·1 + 5·4·1 = 52 in products and 3·4·1 scalings;
    # any product touching P first costs at least 5·4·4 = 80 on its own.
    plan = chain_plan(3, 1, 4, 5)
    assert plan.kind == "forward"
    assert plan.tree == (3, (2, (1, 0)))
    assert (plan.matmul_macs, plan.elementwise_macs) == (52, 12)


def test_pure_reverse_when_P_is_smallest() -> None:
    plan = chain_plan(3, 5, 4, 1)
    assert plan.kind == "reverse"
    assert plan.tree == (((3, 2), 1), 0)
    assert (plan.matmul_macs, plan.elementwise_macs) == (2 * 16 * 1 + 1 * 4 * 5, 3 * 1 * 4)


def test_middle_first_when_K_is_small() -> None:
    # L=3, D=10, K=2, P=12. Forward: 2·K²·D + P·K·D = 80 + 240 = 320 products; reverse
    # 2·K²·P + P·K·D = 96 + 240 = 336. Middle first: W_3 S W_2 (K³ = 8), then with W_1 (K²·D
    # = 40), then W_F on the left (P·K·D = 240): 288, with scalings K·K + K·K + K·min(P, D)
    # = 4 + 4 + 20 = 28.
    plan = chain_plan(3, 10, 2, 12)
    assert plan.kind == "mixed"
    assert plan.tree == (3, ((2, 1), 0))
    assert (plan.matmul_macs, plan.elementwise_macs) == (288, 28)
    assert plan.describe() == "W_F S_3 ((W_3 S_2 W_2) S_1 W_1)"
    # handed on: W_3 S W_2 (K×K = 4) and the K×D middle (20); held: that and J (P×D = 120)
    assert (plan.handed_on, plan.held) == (24, 140)


def test_tie_between_forward_and_reverse_goes_to_reverse() -> None:
    # D = P, K large: forward and reverse cost the same; reverse needs no transpose views.
    plan = chain_plan(2, 3, 8, 3)
    assert plan.kind == "reverse" and plan.transposes == 0


def _brute_force_macs(dims: tuple[int, ...]) -> int:
    """Cheapest products + scalings over every bracketing of the chain, by enumeration."""

    @functools.cache
    def best(i: int, j: int) -> int:  # weights i..j; weight m is dims[m+1] × dims[m]
        if i == j:
            return 0
        return min(
            best(i, k) + best(k + 1, j)
            + dims[j + 1] * dims[k + 1] * dims[i]  # the product
            + dims[k + 1] * min(dims[j + 1], dims[i])  # S folded into the smaller factor
            for k in range(i, j)
        )

    return best(0, len(dims) - 2)


@pytest.mark.parametrize("L", [1, 2, 3, 4, 6])
def test_programme_matches_brute_force(L: int) -> None:
    for D, K, P in itertools.product((1, 3, 16), (1, 4, 9), (1, 5, 16)):
        plan = chain_plan(L, D, K, P)
        dims = (D,) + (K,) * L + (P,)
        assert plan.matmul_macs + plan.elementwise_macs == _brute_force_macs(dims)
        forward = (L - 1) * K * K * D + P * K * D + L * K * D
        reverse = (L - 1) * K * K * P + P * K * D + L * P * K
        assert plan.matmul_macs + plan.elementwise_macs <= min(forward, reverse)


@pytest.mark.parametrize("batch", [1, 3])
def test_chain_cost_is_the_primal_and_the_plan_per_input(batch: int) -> None:
    plan = chain_plan(3, 10, 2, 12)
    primal = 2 * 10 + 2 * 2 * 2  # K·D + (L-1)·K², y never formed
    assert chain_cost(3, 10, 2, 12, batch) == (
        batch * (primal + plan.matmul_macs), batch * plan.elementwise_macs
    )


@pytest.mark.parametrize("sizes", [(0, 2, 3, 4), (2, -1, 3, 4), (2, 2, 1.5, 4), (2, 2, 3, True)])
def test_bad_sizes_are_refused(sizes) -> None:
    with pytest.raises(ValueError, match="positive integer"):
        chain_plan(*sizes)
    with pytest.raises(ValueError, match="positive integer"):
        chain_cost(*sizes)


@pytest.mark.parametrize("batch", [0, -1, 1.0, True])
def test_bad_batch_is_refused(batch) -> None:
    with pytest.raises(ValueError, match="batch must be a positive integer"):
        chain_cost(2, 3, 4, 5, batch=batch)


def test_plan_is_cached_per_shape() -> None:
    assert chain_plan(5, 6, 7, 8) is chain_plan(5, 6, 7, 8)
