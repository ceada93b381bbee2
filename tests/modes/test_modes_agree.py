"""Every Jacobian mode against the float64 reference of ``jacbench.model.reference``, within the
sweep's own tolerance: on drawn cases, at edge and larger shapes, where relu kills every path,
under no_grad and inference_mode, on a non-contiguous batch, and on a GPU.

The eager modes are read from ``jacbench.modes()`` at collection time, so a new mode is tested as
soon as it is registered. Compiled modes (JAX, torch.compile, AOTInductor) compile at every new
shape, seconds each: tests/modes/test_jax_modes.py and test_compiled.py draw fewer cases for them.
"""

from __future__ import annotations

import pytest
import torch
from cases import (
    ACTIVATION_NAMES,
    DTYPES,
    EDGE_CASES,
    LARGE_CASES,
    PLAN_SHAPES,
    Case,
    assert_matches_reference,
    cases,
    check_agrees,
)
from hypothesis import example, given, settings

import jacbench
from jacbench.catalog import CATALOG, EAGER_FAMILIES, hand_written
from jacbench.model.reference import reference_jacobian

MODES = tuple(m for m in jacbench.modes() if CATALOG[m].family in EAGER_FAMILIES)
HAND_WRITTEN = sorted(hand_written())
BY_DTYPE = pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
FIXED_CASES = pytest.mark.parametrize(
    "case",
    [*EDGE_CASES.values(), *LARGE_CASES.values()],
    ids=[*EDGE_CASES.keys(), *LARGE_CASES.keys()],
)


@pytest.mark.parametrize("mode", MODES)
@BY_DTYPE
@given(case=cases())
@example(case=Case(1, 1, 1, 1, None))
@example(case=Case(1, 1, 1, 1, 1, "relu", True))
@example(case=Case(12, 10, 10, 10, 4, "sigmoid", True))
def test_mode_agrees_with_reference(mode, dtype, case):
    check_agrees(mode, case, dtype)


@pytest.mark.parametrize("mode", MODES)
@BY_DTYPE
@FIXED_CASES
def test_mode_agrees_at_edge_and_larger_shapes(mode, dtype, case):
    check_agrees(mode, case, dtype)


@pytest.mark.parametrize("mode", HAND_WRITTEN)
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_hand_written_mode_agrees_at_every_kind_of_chain_plan_with_bias(mode, activation):
    for L, D, K, P in PLAN_SHAPES:
        for N in (None, 3):
            check_agrees(mode, Case(L, D, K, P, N, activation, True, seed=3), torch.float64)


@pytest.mark.parametrize("mode", MODES)
def test_mode_is_exact_zero_where_relu_kills_every_unit(mode):
    # Negative biases far larger than any pre-activation: every relu is off, so J = 0 exactly.
    L, D, K, P = 3, 4, 5, 2
    net = jacbench.MLP.random(L, D, K, P, seed=0, dtype=torch.float64, activation="relu")
    biases = [torch.full((K,), -100.0, dtype=torch.float64)] * L + [torch.zeros(P).double()]
    net = jacbench.MLP(net.weights, biases, activation="relu")
    x = torch.randn(3, D, dtype=torch.float64)
    assert torch.count_nonzero(reference_jacobian(net, x)) == 0
    J = jacbench.jacobian(net, x, mode=mode)
    assert J.shape == (3, P, D)
    assert torch.count_nonzero(J) == 0


@pytest.mark.parametrize("mode", MODES)
def test_mode_accepts_a_non_contiguous_batch(mode):
    net = jacbench.MLP.random(3, 4, 6, 5, seed=3, dtype=torch.float64, bias=True)
    x = torch.randn(4, 3, dtype=torch.float64).T[:, :4]  # (3, 4), column-major storage
    assert not x.is_contiguous()
    assert_matches_reference(jacbench.jacobian(net, x, mode=mode), net, x, mode)


@pytest.mark.parametrize("mode", MODES)
def test_mode_is_right_under_no_grad(mode):
    # A timing loop may well run under torch.no_grad(); every mode must still be right there.
    net, x = Case(3, 4, 5, 3, 2, "tanh", True, seed=5).build(torch.float64)
    with torch.no_grad():
        J = jacbench.jacobian(net, x, mode=mode)
    assert_matches_reference(J, net, x, mode)


@pytest.mark.parametrize("mode", MODES)
def test_mode_is_right_or_refuses_under_inference_mode(mode):
    # Under torch.inference_mode() no autograd graph is recorded: a mode must then still give the
    # right Jacobian or raise, never return a wrong one.
    net, x = Case(3, 4, 5, 3, 2, "tanh", True, seed=5).build(torch.float64)
    try:
        with torch.inference_mode():
            J = jacbench.jacobian(net, x, mode=mode)
    except (ValueError, RuntimeError):
        return
    assert_matches_reference(J, net, x, mode)


# CUDA --------------------------------------------------------------------------------------------
@pytest.mark.cuda
@pytest.mark.parametrize("mode", MODES)
@BY_DTYPE
@FIXED_CASES
def test_mode_agrees_with_reference_on_cuda(mode, dtype, case):
    check_agrees(mode, case, dtype, device="cuda")


@pytest.mark.cuda
@pytest.mark.parametrize("mode", MODES)
@BY_DTYPE
@given(case=cases())
@settings(max_examples=max(3, settings.default.max_examples // 3))
def test_mode_agrees_with_reference_on_cuda_drawn(mode, dtype, case):
    check_agrees(mode, case, dtype, device="cuda")


@pytest.mark.cuda
@pytest.mark.parametrize("mode", HAND_WRITTEN)
@BY_DTYPE
def test_hand_written_mode_agrees_at_every_kind_of_chain_plan_on_cuda(mode, dtype):
    # TF32 would loosen fp32 products past the tolerance; the modes never switch it on.
    saved = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        for L, D, K, P in PLAN_SHAPES:
            for activation in ACTIVATION_NAMES:
                for N in (None, 3):
                    case = Case(L, D, K, P, N, activation, True)
                    check_agrees(mode, case, dtype, device="cuda")
    finally:
        torch.backends.cuda.matmul.allow_tf32 = saved
