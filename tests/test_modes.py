"""Every Jacobian mode against the independent float64 chain product of tests/reference.py, and the
errors ``jacobian`` gives for bad input.

The modes are read from ``jacbench.modes()`` at collection time, so a new mode is tested as soon as
it is registered.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import example, given, settings
from reference import (
    EDGE_CASES,
    LARGE_CASES,
    TOLERANCE,
    Case,
    cases,
    jacobian_error,
    reference_jacobian,
)

import jacbench

MODES = jacbench.modes()
DTYPES = pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
ISSUE_MODES = (
    "forward",
    "reverse",
    "autograd-reverse",
    "autograd-reverse-vectorized",
    "autograd-forward-vectorized",
    "jacrev",
    "jacfwd",
)
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def check_agrees(mode: str, case: Case, dtype: torch.dtype, device: str = "cpu") -> None:
    """jacobian(net, x, mode) has the right shape, dtype and device, leaves x alone, and matches
    the float64 reference (computed from the very same, possibly float32, weights and input)."""
    net, x = case.build(dtype, device)
    x_before = x.clone()
    J = jacbench.jacobian(net, x, mode=mode)
    expected_shape = (case.P, case.D) if case.N is None else (case.N, case.P, case.D)
    assert tuple(J.shape) == expected_shape
    assert J.dtype == x.dtype
    assert J.device == x.device
    assert torch.equal(x, x_before), f"{mode} modified its input"
    err = jacobian_error(J, net, x)
    assert err <= TOLERANCE[dtype], f"{mode} on {case}: relative error {err:.3g}"


# The mode list -----------------------------------------------------------------------------------
def test_modes_is_a_stable_tuple_of_distinct_names():
    names = jacbench.modes()
    assert isinstance(names, tuple)
    assert all(isinstance(n, str) and n for n in names)
    assert len(set(names)) == len(names)
    assert jacbench.modes() == names


def test_modes_lists_the_seven_issue_modes():
    missing = set(ISSUE_MODES) - set(jacbench.modes())
    assert not missing, f"missing modes: {sorted(missing)}"


# Agreement with the reference --------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@DTYPES
@given(case=cases())
@example(case=Case(1, 1, 1, 1, None))
@example(case=Case(1, 1, 1, 1, 1, "relu", True))
@example(case=Case(12, 10, 10, 10, 4, "sigmoid", True))
def test_mode_agrees_with_reference(mode, dtype, case):
    check_agrees(mode, case, dtype)


@pytest.mark.parametrize("mode", MODES)
@DTYPES
@pytest.mark.parametrize("case", EDGE_CASES.values(), ids=EDGE_CASES.keys())
def test_mode_agrees_at_edge_shapes(mode, dtype, case):
    check_agrees(mode, case, dtype)


@pytest.mark.parametrize("mode", MODES)
@DTYPES
@pytest.mark.parametrize("case", LARGE_CASES.values(), ids=LARGE_CASES.keys())
def test_mode_agrees_at_larger_shapes(mode, dtype, case):
    check_agrees(mode, case, dtype)


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
    J = jacbench.jacobian(net, x, mode=mode)
    assert jacobian_error(J, net, x) <= TOLERANCE[torch.float64]


@pytest.mark.parametrize("mode", MODES)
def test_mode_is_right_under_no_grad(mode):
    # A timing loop may well run under torch.no_grad(); every mode must still be right there.
    net, x = Case(3, 4, 5, 3, 2, "tanh", True, seed=5).build(torch.float64)
    with torch.no_grad():
        J = jacbench.jacobian(net, x, mode=mode)
    assert jacobian_error(J, net, x) <= TOLERANCE[torch.float64]


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
    assert jacobian_error(J, net, x) <= TOLERANCE[torch.float64]


def test_default_mode_is_reverse():
    net, x = Case(2, 3, 4, 2, 2, seed=9).build(torch.float64)
    assert torch.equal(jacbench.jacobian(net, x), jacbench.jacobian(net, x, mode="reverse"))


# Bad input ---------------------------------------------------------------------------------------
@pytest.fixture
def net() -> jacbench.MLP:
    return jacbench.MLP.random(2, 4, 5, 3, seed=0, dtype=torch.float64)


@pytest.mark.parametrize(
    "shape",
    [(5,), (2, 5), (2, 3, 4), (), (0, 4), (0,), (4, 1)],
    ids=["wrong-D", "wrong-D-batch", "3-D", "0-D", "empty-batch", "empty", "transposed"],
)
def test_jacobian_rejects_a_wrong_shape(net, shape):
    x = torch.zeros(shape, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"x must have shape \(D,\) or \(N, D\) with D = 4"):
        jacbench.jacobian(net, x)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.int64])
def test_jacobian_rejects_a_dtype_mismatch(net, dtype):
    x = torch.zeros(4, dtype=dtype)
    with pytest.raises(ValueError, match=rf"x has dtype {dtype}.*model has torch.float64"):
        jacbench.jacobian(net, x)


@pytest.mark.parametrize("x", [[0.0, 0.0, 0.0, 0.0], (0.0,) * 4, None, 1.0], ids=repr)
def test_jacobian_rejects_a_non_tensor(net, x):
    with pytest.raises(ValueError, match=r"x must be a torch\.Tensor"):
        jacbench.jacobian(net, x)


def test_jacobian_rejects_a_device_mismatch_meta(net):
    # The meta device stands in for a second device on a CPU-only machine: the check must fire
    # before any arithmetic.
    with pytest.raises(ValueError, match="x is on meta but the model is on cpu"):
        jacbench.jacobian(net, torch.zeros(4, dtype=torch.float64, device="meta"))
    with pytest.raises(ValueError, match="x is on cpu but the model is on meta"):
        jacbench.jacobian(net.to(device="meta"), torch.zeros(4, dtype=torch.float64))


@pytest.mark.parametrize("mode", ["bogus", "", "Forward", "jac rev", None, ["forward"]])
def test_jacobian_rejects_an_unknown_mode(net, mode):
    with pytest.raises(ValueError, match=r"unknown mode .*; choose one of .*reverse"):
        jacbench.jacobian(net, torch.zeros(4, dtype=torch.float64), mode=mode)


def test_jacobian_rejects_a_net_that_is_not_an_mlp():
    with pytest.raises(ValueError, match=r"net must be a jacbench\.MLP"):
        jacbench.jacobian(torch.nn.Linear(4, 3), torch.zeros(4))


@pytest.mark.parametrize("activation", ["gelu", "Tanh", "", None])
def test_unknown_activation_is_refused(activation):
    with pytest.raises(ValueError, match=r"unknown activation .*; choose one of tanh"):
        jacbench.MLP.random(2, 3, 4, 2, activation=activation)
    net = jacbench.MLP.random(2, 3, 4, 2)
    with pytest.raises(ValueError, match="unknown activation"):
        jacbench.MLP(net.weights, activation=activation)


# CUDA --------------------------------------------------------------------------------------------
@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize("mode", MODES)
@DTYPES
@pytest.mark.parametrize(
    "case",
    [*EDGE_CASES.values(), *LARGE_CASES.values()],
    ids=[*EDGE_CASES.keys(), *LARGE_CASES.keys()],
)
def test_mode_agrees_with_reference_on_cuda(mode, dtype, case):
    check_agrees(mode, case, dtype, device="cuda")


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize("mode", MODES)
@DTYPES
@given(case=cases())
@settings(max_examples=max(3, settings.default.max_examples // 3))
def test_mode_agrees_with_reference_on_cuda_drawn(mode, dtype, case):
    check_agrees(mode, case, dtype, device="cuda")


@pytest.mark.cuda
@needs_cuda
def test_jacobian_rejects_a_device_mismatch_cuda(net):
    with pytest.raises(ValueError, match="x is on cuda:0 but the model is on cpu"):
        jacbench.jacobian(net, torch.zeros(4, dtype=torch.float64, device="cuda"))
    with pytest.raises(ValueError, match="x is on cpu but the model is on cuda:0"):
        jacbench.jacobian(net.to(device="cuda"), torch.zeros(4, dtype=torch.float64))
