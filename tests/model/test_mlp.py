"""The model: construction checks, seeded initialisation, and the forward pass against the same
weights run through torch.nn layers (tests/cases.py ``torch_module``)."""

from __future__ import annotations

import math

import pytest
import torch
from cases import ACTIVATION_NAMES, DTYPES, Case, cases, torch_module
from hypothesis import given

import jacbench


def weights(L=2, D=3, K=4, P=2, dtype=torch.float64) -> list[torch.Tensor]:
    return (
        [torch.randn(K, D, dtype=dtype)]
        + [torch.randn(K, K, dtype=dtype) for _ in range(L - 1)]
        + [torch.randn(P, K, dtype=dtype)]
    )


def biases_for(ws: list[torch.Tensor]) -> list[torch.Tensor]:
    return [torch.randn(W.shape[0], dtype=W.dtype) for W in ws]


def parameters(net: jacbench.MLP) -> list[torch.Tensor]:
    return list(net.weights) + list(net.biases or ())


# Construction ------------------------------------------------------------------------------------
def test_mlp_keeps_its_weights_and_reports_its_sizes():
    ws = weights(L=3, D=5, K=4, P=2)
    bs = biases_for(ws)
    net = jacbench.MLP(ws, bs, activation="sigmoid")
    assert (net.L, net.D, net.K, net.P) == (3, 5, 4, 2)
    assert net.dtype == torch.float64 and net.device == torch.device("cpu")
    assert net.activation == "sigmoid"
    assert all(a is b for a, b in zip(net.weights, ws, strict=True))
    assert all(a is b for a, b in zip(net.biases, bs, strict=True))
    assert jacbench.MLP(ws).biases is None
    assert jacbench.MLP(ws).activation == "tanh"


@pytest.mark.parametrize("n_matrices", [0, 1], ids=["no-matrices", "L=0"])
def test_mlp_needs_at_least_one_hidden_layer(n_matrices):
    with pytest.raises(ValueError, match=r"L >= 1, got \d matrices"):
        jacbench.MLP(weights()[:n_matrices])


def test_mlp_rejects_a_hidden_weight_that_is_not_k_by_k():
    ws = weights(L=3, K=4)
    ws[2] = torch.randn(4, 5, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"weights\[2\] must be 4×4 \(K×K\), got \(4, 5\)"):
        jacbench.MLP(ws)


def test_mlp_rejects_an_output_weight_with_the_wrong_number_of_columns():
    ws = weights(L=2, K=4)
    ws[-1] = torch.randn(2, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"W_F \(weights\[-1\]\) must have 4 columns"):
        jacbench.MLP(ws)


@pytest.mark.parametrize(
    "bad",
    [torch.randn(4, dtype=torch.float64), torch.randn(2, 4, 3, dtype=torch.float64), [[1.0] * 3]],
    ids=["1-D", "3-D", "list"],
)
def test_mlp_rejects_a_weight_that_is_not_a_matrix(bad):
    ws = weights(L=2, D=3, K=4)
    ws[1] = bad
    with pytest.raises(ValueError, match=r"weights\[1\] must be a 2-D tensor"):
        jacbench.MLP(ws)


def test_mlp_rejects_integer_weights():
    ws = [torch.ones(4, 3, dtype=torch.int64), torch.ones(2, 4, dtype=torch.int64)]
    with pytest.raises(ValueError, match=r"weights\[0\] must be floating point, got torch.int64"):
        jacbench.MLP(ws)


def test_mlp_rejects_weights_of_mixed_dtypes():
    ws = weights(L=2)
    ws[1] = ws[1].float()
    with pytest.raises(ValueError, match=r"weights\[1\] has dtype torch.float32.*torch.float64"):
        jacbench.MLP(ws)


def test_mlp_rejects_weights_on_mixed_devices():
    # The meta device stands in for a second device on a CPU-only machine.
    ws = weights(L=2)
    ws[2] = ws[2].to("meta")
    with pytest.raises(ValueError, match=r"weights\[2\] is on meta, weights\[0\] is on cpu"):
        jacbench.MLP(ws)


def test_mlp_rejects_the_wrong_number_of_biases():
    ws = weights(L=2)
    with pytest.raises(ValueError, match="biases must match weights: 2 != 3"):
        jacbench.MLP(ws, biases_for(ws)[:2])


@pytest.mark.parametrize(
    "bad",
    [torch.randn(3, dtype=torch.float64), torch.randn(4, 1, dtype=torch.float64), [0.0] * 4],
    ids=["wrong-length", "column", "list"],
)
def test_mlp_rejects_a_bias_of_the_wrong_shape(bad):
    ws = weights(L=2, K=4)
    bs = biases_for(ws)
    bs[1] = bad
    with pytest.raises(ValueError, match=r"biases\[1\] must have shape \(4,\)"):
        jacbench.MLP(ws, bs)


@pytest.mark.parametrize(
    "convert", [lambda b: b.float(), lambda b: b.to("meta")], ids=["dtype", "device"]
)
def test_mlp_rejects_a_bias_of_another_dtype_or_device(convert):
    ws = weights(L=2)
    bs = biases_for(ws)
    bs[2] = convert(bs[2])
    with pytest.raises(ValueError, match=r"biases\[2\] must have the dtype and device"):
        jacbench.MLP(ws, bs)


# MLP.random --------------------------------------------------------------------------------------
@pytest.mark.parametrize("bias", [False, True])
def test_random_has_the_documented_shapes(bias):
    net = jacbench.MLP.random(L=4, D=3, K=5, P=2, seed=1, bias=bias, activation="relu")
    assert [tuple(W.shape) for W in net.weights] == [(5, 3), (5, 5), (5, 5), (5, 5), (2, 5)]
    if bias:
        assert [tuple(b.shape) for b in net.biases] == [(5,), (5,), (5,), (5,), (2,)]
        assert all(torch.count_nonzero(b) > 0 for b in net.biases)
    else:
        assert net.biases is None
    assert (net.L, net.D, net.K, net.P) == (4, 3, 5, 2)
    assert net.activation == "relu"
    assert net.dtype == torch.float32  # the default


def test_random_is_deterministic_for_a_seed():
    a = jacbench.MLP.random(3, 4, 5, 2, seed=7, bias=True)
    b = jacbench.MLP.random(3, 4, 5, 2, seed=7, bias=True)
    assert all(torch.equal(p, q) for p, q in zip(parameters(a), parameters(b), strict=True))


def test_random_differs_between_seeds():
    a = jacbench.MLP.random(3, 4, 5, 2, seed=7, bias=True)
    b = jacbench.MLP.random(3, 4, 5, 2, seed=8, bias=True)
    assert all(not torch.equal(p, q) for p, q in zip(parameters(a), parameters(b), strict=True))


def test_random_ignores_and_keeps_the_global_rng():
    torch.manual_seed(1)
    state = torch.random.get_rng_state()
    a = jacbench.MLP.random(2, 3, 4, 2, seed=5, bias=True)
    assert torch.equal(torch.random.get_rng_state(), state), "MLP.random drew from the global RNG"
    torch.manual_seed(2)
    b = jacbench.MLP.random(2, 3, 4, 2, seed=5, bias=True)
    assert all(torch.equal(p, q) for p, q in zip(parameters(a), parameters(b), strict=True))


def test_random_is_fan_in_scaled():
    D, K, P = 400, 300, 200
    net = jacbench.MLP.random(L=2, D=D, K=K, P=P, seed=0, dtype=torch.float64)
    for W, fan_in in zip(net.weights, (D, K, K), strict=True):
        assert abs(W.mean().item()) < 0.05 / math.sqrt(fan_in)
        assert W.std().item() == pytest.approx(1 / math.sqrt(fan_in), rel=0.05)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_random_in_a_dtype_is_the_float64_model_cast(dtype):
    narrow = jacbench.MLP.random(3, 4, 5, 2, seed=3, dtype=dtype, bias=True)
    wide = jacbench.MLP.random(3, 4, 5, 2, seed=3, dtype=torch.float64, bias=True)
    assert narrow.dtype == dtype
    for p, q in zip(parameters(narrow), parameters(wide), strict=True):
        assert p.dtype == dtype
        assert torch.equal(p, q.to(dtype))
    assert all(
        torch.equal(p, q)
        for p, q in zip(parameters(wide.to(dtype)), parameters(narrow), strict=True)
    )


@pytest.mark.parametrize(
    ("axis", "value"),
    [("L", 0), ("D", 0), ("K", -1), ("P", 0), ("L", 2.5), ("D", "3"), ("K", True), ("P", None)],
)
def test_random_rejects_a_size_that_is_not_a_positive_integer(axis, value):
    sizes = {"L": 2, "D": 3, "K": 4, "P": 2, axis: value}
    with pytest.raises(ValueError, match=rf"{axis} must be a positive integer, got {value!r}"):
        jacbench.MLP.random(**sizes)


# The forward pass --------------------------------------------------------------------------------
def torch_forward(net: jacbench.MLP, x: torch.Tensor) -> torch.Tensor:
    """y from the same weights through torch.nn layers, in float64 on the CPU."""
    return torch_module(net)(x.cpu().double())


@pytest.mark.parametrize("N", [None, 1, 5])
@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_shapes_and_dtype(N, dtype):
    net, x = Case(3, 4, 6, 2, N).build(dtype)
    y = net(x)
    assert tuple(y.shape) == ((2,) if N is None else (N, 2))
    assert y.dtype == dtype and y.device == x.device


@given(case=cases())
def test_forward_agrees_with_torch_nn_float64(case):
    net, x = case.build(torch.float64)
    y, y_ref = net(x), torch_forward(net, x)
    assert y.shape == y_ref.shape
    torch.testing.assert_close(y, y_ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_forward_agrees_with_torch_nn_float32(activation):
    net, x = Case(6, 7, 9, 5, 4, activation, True, seed=4).build(torch.float32)
    torch.testing.assert_close(net(x).double(), torch_forward(net, x), rtol=2e-5, atol=2e-6)


def test_forward_of_a_batch_is_the_forward_of_each_row():
    net, x = Case(4, 3, 5, 2, 6, "sigmoid", True, seed=2).build(torch.float64)
    y = net(x)
    for n in range(x.shape[0]):
        torch.testing.assert_close(y[n], net(x[n]), rtol=1e-14, atol=1e-14)


# CUDA --------------------------------------------------------------------------------------------
@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [False, True])
def test_random_is_identical_on_cpu_and_cuda(dtype, bias):
    cpu = jacbench.MLP.random(3, 4, 5, 2, seed=11, dtype=dtype, bias=bias)
    gpu = jacbench.MLP.random(3, 4, 5, 2, seed=11, dtype=dtype, bias=bias, device="cuda")
    assert gpu.device.type == "cuda"
    for p, q in zip(parameters(cpu), parameters(gpu), strict=True):
        assert q.device.type == "cuda"
        assert torch.equal(p, q.cpu())


@pytest.mark.cuda
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_forward_agrees_with_torch_nn_on_cuda(activation):
    net, x = Case(5, 6, 8, 3, 4, activation, True, seed=6).build(torch.float64, "cuda")
    y = net(x)
    assert y.device == x.device
    torch.testing.assert_close(y.cpu(), torch_forward(net, x), rtol=1e-12, atol=1e-12)


@pytest.mark.cuda
def test_mlp_rejects_weights_split_between_cpu_and_cuda():
    ws = weights(L=2)
    ws[1] = ws[1].cuda()
    with pytest.raises(ValueError, match=r"weights\[1\] is on cuda:0, weights\[0\] is on cpu"):
        jacbench.MLP(ws)
