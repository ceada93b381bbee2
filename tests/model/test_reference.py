"""The float64 reference Jacobian the sweep (and every mode test) checks against, itself checked
against torch.func's autograd through the same weights in torch.nn layers, and its error measure."""

from __future__ import annotations

import pytest
import torch
from cases import Case, cases, torch_module
from hypothesis import given

from jacbench.model.reference import TOLERANCE, reference_jacobian, relative_error

#: The reference must be far more accurate than the tolerance it is the yardstick for.
REFERENCE_ACCURACY = TOLERANCE["float64"] / 100


def autograd_jacobian(net, x: torch.Tensor) -> torch.Tensor:
    """dy/dx by torch.func.jacrev of the torch.nn model, per sample for a batch, float64 CPU."""
    jac = torch.func.jacrev(torch_module(net))
    x = x.detach().cpu().double()
    return jac(x) if x.dim() == 1 else torch.func.vmap(jac)(x)


@given(cases())
def test_reference_agrees_with_autograd(case) -> None:
    net, x = case.build(torch.float64)
    J = reference_jacobian(net, x)
    assert J.dtype == torch.float64 and J.shape == case.jacobian_shape
    assert relative_error(J, autograd_jacobian(net, x)) <= REFERENCE_ACCURACY


@pytest.mark.parametrize("N", [None, 1, 4], ids=["single", "N1", "N4"])
def test_reference_of_a_batch_is_the_reference_of_each_sample(N) -> None:
    net, x = Case(3, 4, 5, 6, N, "sigmoid", True, seed=1).build(torch.float64)
    J = reference_jacobian(net, x)
    samples = x.unsqueeze(0) if N is None else x
    expected = torch.stack([autograd_jacobian(net, x_n) for x_n in samples])
    torch.testing.assert_close(J, expected[0] if N is None else expected, rtol=1e-12, atol=0)


def test_reference_of_a_float32_model_uses_its_float32_weights_in_float64() -> None:
    net, x = Case(4, 5, 6, 3, 2, "sigmoid", True, seed=3).build(torch.float32)
    J = reference_jacobian(net, x)
    assert J.dtype == torch.float64
    assert relative_error(J, autograd_jacobian(net, x)) <= REFERENCE_ACCURACY
    # the float64 model of the same seed has other (un-rounded) weights: a different Jacobian
    net64, x64 = Case(4, 5, 6, 3, 2, "sigmoid", True, seed=3).build(torch.float64)
    assert relative_error(J, reference_jacobian(net64, x64)) > REFERENCE_ACCURACY


def test_relative_error_is_absolute_against_a_zero_reference() -> None:
    zero = torch.zeros(2, 3, dtype=torch.float64)
    assert relative_error(zero, zero) == 0.0
    assert relative_error(torch.full((2, 3), 0.5), zero) == pytest.approx(0.5 * 6**0.5)


def test_relative_error_is_relative_in_the_frobenius_norm() -> None:
    ref = torch.tensor([[3.0, 0.0], [0.0, 4.0]], dtype=torch.float64)  # ||ref||_F = 5
    J = ref + torch.tensor([[0.0, 0.5], [0.0, 0.0]], dtype=torch.float64)
    assert relative_error(J, ref) == pytest.approx(0.1)
    assert relative_error(J.float(), ref) == pytest.approx(0.1)


def test_tolerances_are_no_looser_than_float32_rounding_needs() -> None:
    assert set(TOLERANCE) == {"float64", "float32"}
    assert TOLERANCE["float64"] <= 1e-10 and TOLERANCE["float32"] <= 1e-4
