"""The activations: unknown names are refused everywhere, and each derivative written from the
activation's output (plain and fused) equals autograd's derivative of the activation itself."""

from __future__ import annotations

import pytest
import torch
from cases import ACTIVATION_NAMES

import jacbench
from jacbench.model.activations import activation_named


@pytest.mark.parametrize("activation", ["gelu", "Tanh", "TANH", "", None])
def test_unknown_activation_is_refused(activation):
    with pytest.raises(ValueError, match=r"unknown activation .*; choose one of tanh"):
        activation_named(activation)
    with pytest.raises(ValueError, match=r"unknown activation .*; choose one of tanh"):
        jacbench.MLP.random(2, 3, 4, 2, activation=activation)
    net = jacbench.MLP.random(2, 3, 4, 2)
    with pytest.raises(ValueError, match="unknown activation"):
        jacbench.MLP(net.weights, activation=activation)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_derivative_from_output_is_the_derivative(name):
    act = activation_named(name)
    assert act.name == name
    h = torch.linspace(-4, 4, 41, dtype=torch.float64)[torch.arange(41) != 20]  # relu: off h = 0
    h.requires_grad_(True)
    (expected,) = torch.autograd.grad(act.fn(h).sum(), h)
    a = act.fn(h.detach())
    torch.testing.assert_close(act.derivative_from_output(a), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_times_derivative_broadcasts_the_output_against_the_rows(name):
    # g ⊙ act'(h) with a of shape (N, 1, K) against g of shape (N, R, K): what reverse mode does.
    act = activation_named(name)
    gen = torch.Generator().manual_seed(0)
    a = act.fn(torch.randn(2, 1, 5, generator=gen, dtype=torch.float64))
    g = torch.randn(2, 3, 5, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(act.times_derivative(g, a), g * act.derivative_from_output(a))
