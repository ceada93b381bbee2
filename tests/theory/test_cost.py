"""The cost model against hand counts, and against the work torch counts while each mode runs:
the FLOPs of its matrix products and the elements its fused act'(h) kernels scale."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from cases import ACTIVATION_NAMES, Case, counted, shape_id

import jacbench
from jacbench.catalog import CATALOG, EAGER_FAMILIES
from jacbench.modes.registry import MODES
from jacbench.theory.cost import Cost, cost

# Hand counts at L=3, D=2, K=5, P=4. W = K·D + (L-1)·K² + P·K = 10 + 50 + 20 = 80 weights.
# (mode, batch) -> (matmul_macs, elementwise_macs)
HAND = {
    # primal K·D + (L-1)·K² = 10 + 2·25; tangents (L-1)·K²·D + P·K·D = 2·25·2 + 4·5·2; L·K·D
    ("forward", 1): (10 + 2 * 25 + 2 * 25 * 2 + 4 * 5 * 2, 3 * 5 * 2),
    ("forward", 3): (3 * (10 + 50 + 100 + 40), 3 * 30),
    # primal 10 + 2·25; adjoints (L-1)·K²·P + P·K·D = 2·25·4 + 4·5·2; L·P·K
    ("reverse", 1): (10 + 2 * 25 + 2 * 25 * 4 + 4 * 5 * 2, 3 * 4 * 5),
    ("reverse", 3): (3 * (10 + 50 + 200 + 40), 3 * 60),
    # full primal W, then P = 4 seed rows of W each
    ("autograd-reverse", 1): (80 + 4 * 80, 60),
    ("autograd-reverse", 3): (3 * (80 + 4 * 80), 3 * 60),
    ("autograd-reverse-vectorized", 1): (80 + 4 * 80, 60),
    ("autograd-reverse-vectorized", 3): (3 * 400, 3 * 60),
    ("jacrev", 1): (80 + 4 * 80, 60),
    ("jacrev", 3): (3 * 400, 3 * 60),
    # full primal W twice (zero weight tangents), then D = 2 seed columns of W each; L·D·K
    ("autograd-forward-vectorized", 1): (2 * 80 + 2 * 80, 3 * 2 * 5),
    ("autograd-forward-vectorized", 3): (3 * 320, 3 * 30),
    ("jacfwd", 1): (2 * 80 + 2 * 80, 30),
    ("jacfwd", 3): (3 * 320, 3 * 30),
}


@pytest.mark.parametrize(("mode", "batch"), list(HAND))
def test_macs_match_hand_counts(mode: str, batch: int) -> None:
    c = cost(mode, L=3, D=2, K=5, P=4, batch=batch)
    assert (c.matmul_macs, c.elementwise_macs) == HAND[(mode, batch)]
    assert c.mode == mode
    assert c.macs == c.matmul_macs + c.elementwise_macs
    assert c.flops == 2 * c.macs


def test_bytes_and_peak_match_hand_counts() -> None:
    # Elements, then ×4 bytes. forward: W 80 + x 2 + J 8 + h_1..h_3 2·15 + T_2, T_3 2·2·10.
    fwd = cost("forward", L=3, D=2, K=5, P=4)
    assert fwd.bytes_moved == 4 * (80 + 2 + 8 + 30 + 40)
    assert fwd.peak_extra_bytes == 4 * (5 * 2 + 5)  # one K×D tangent and h
    # reverse: W 80 + x 2 + J 8 + h 2·15 + stored s 2·15 + adjoints A_2, A_1 2·2·20.
    rev = cost("reverse", L=3, D=2, K=5, P=4)
    assert rev.bytes_moved == 4 * (80 + 2 + 8 + 30 + 30 + 80)
    assert rev.peak_extra_bytes == 4 * (3 * 5 + 4 * 5)  # L·K derivatives and a P×K adjoint
    # batch 3 and float64: the per-input terms triple, the weights do not.
    rev3 = cost("reverse", L=3, D=2, K=5, P=4, batch=3, dtype_bytes=8)
    assert rev3.bytes_moved == 8 * (80 + 3 * (2 + 8 + 30 + 30 + 80))
    assert rev3.peak_extra_bytes == 8 * 3 * 35
    # jacrev: W 80 + x 2 + J 8 + seeds 16 + h 30 + y 4 + saved a 2·15 + adjoints 2·3·20.
    jr = cost("jacrev", L=3, D=2, K=5, P=4)
    assert jr.bytes_moved == 4 * (80 + 2 + 8 + 16 + 30 + 4 + 30 + 120)
    # the Python loop re-reads the saved activations in each of its P = 4 passes
    loop = cost("autograd-reverse", L=3, D=2, K=5, P=4)
    assert loop.bytes_moved == jr.bytes_moved + 4 * (4 - 1) * 15


#: (L, D, K, P, N): forward, reverse and mixed chain plans, every axis down to 1, single inputs
#: (N None) and batches.
COUNT_SHAPES = [
    (1, 1, 1, 1, None),
    (1, 3, 4, 2, None),
    (1, 3, 4, 2, 2),
    (3, 2, 5, 4, None),
    (3, 2, 5, 4, 3),
    (2, 6, 3, 5, 2),
    (4, 1, 2, 7, 1),
    (3, 1, 4, 5, None),
    (3, 5, 4, 1, 3),
    (3, 10, 2, 12, None),
    (3, 10, 2, 12, 3),
    (4, 12, 2, 10, 2),
    (6, 32, 8, 32, 1),
    (2, 3, 8, 3, 4),
]
#: Each shape with the next activation and bias in turn, so every pair of them is counted.
COUNT_CASES = [
    Case(*shape, activation, bias)
    for shape, (activation, bias) in zip(
        COUNT_SHAPES, itertools.cycle(itertools.product(ACTIVATION_NAMES, (False, True)))
    )
]


def _case_id(case: Case) -> str:
    shape = (case.L, case.D, case.K, case.P, case.N)
    return f"{shape_id(shape)}-{case.activation}-{'bias' if case.bias else 'nobias'}"


#: FlopCounterMode sees the aten operations of modes torch runs eagerly; JAX's and inductor's
#: compiled programs run outside it. Those modes count as the algorithm they compile (checked
#: below); their eager algorithm is checked here.
EAGER = [m for m in jacbench.modes() if CATALOG[m].family in EAGER_FAMILIES]


@pytest.mark.parametrize("case", COUNT_CASES, ids=_case_id)
@pytest.mark.parametrize("mode", EAGER)
def test_cost_is_the_work_torch_counts(mode: str, case: Case) -> None:
    net, x = case.build()
    c = cost(mode, case.L, case.D, case.K, case.P, case.N or 1)
    work = counted(lambda net, x: jacbench.jacobian(net, x, mode), net, x)
    assert work == (c.matmul_macs, c.elementwise_macs)


def test_every_registered_mode_has_a_cost_model() -> None:
    for mode in MODES:
        assert isinstance(cost(mode, 2, 3, 4, 5), Cost)


@pytest.mark.parametrize("mode", [m for m in jacbench.modes() if m not in EAGER])
def test_a_compiled_mode_counts_as_the_algorithm_it_compiles(mode: str) -> None:
    eager = CATALOG[mode].eager
    for shape in [(3, 2, 5, 4, 1), (6, 512, 64, 512, 2)]:
        assert cost(mode, *shape) == dataclasses.replace(cost(eager, *shape), mode=mode)


def test_forward_reverse_tradeoff() -> None:
    # D < P favours forward, D > P reverse; equal when D = P (their primal passes are the same).
    assert cost("forward", 4, 8, 64, 512).macs < cost("reverse", 4, 8, 64, 512).macs
    assert cost("forward", 4, 512, 64, 8).macs > cost("reverse", 4, 512, 64, 8).macs
    assert cost("forward", 4, 64, 32, 64).matmul_macs == cost("reverse", 4, 64, 32, 64).matmul_macs


def test_unknown_mode_is_named() -> None:
    with pytest.raises(ValueError, match="'sideways'"):
        cost("sideways", 2, 3, 4, 5)
    with pytest.raises(ValueError, match="no cost model"):
        cost(None, 2, 3, 4, 5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"L": 0},
        {"D": -1},
        {"K": 1.5},
        {"P": True},
        {"batch": 0},
        {"dtype_bytes": 0},
    ],
)
def test_non_positive_sizes_are_refused(kwargs: dict) -> None:
    sizes = {"L": 2, "D": 3, "K": 4, "P": 5, "batch": 1, "dtype_bytes": 4, **kwargs}
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=name):
        cost("reverse", **sizes)
