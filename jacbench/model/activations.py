"""The activations the MLP may use, each with its derivative written from its own output."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = ["ACTIVATIONS", "Activation", "activation_named"]


@dataclass(frozen=True)
class Activation:
    """An elementwise activation and its derivative, written in terms of the activation's *output*.

    Writing act'(h) as a function of a = act(h) lets the Jacobian modes reuse the forward pass's
    output instead of keeping h as well (tanh' = 1 - a², sigmoid' = a(1 - a), relu' = [a > 0]).
    """

    name: str
    fn: Callable[[torch.Tensor], torch.Tensor]
    derivative_from_output: Callable[[torch.Tensor], torch.Tensor]
    #: ``times_derivative(g, a)`` = g ⊙ act'(h) from a = act(h), with a broadcast against g.
    #: One fused kernel where torch has one (the autograd backward kernels), instead of forming
    #: act'(h) and then multiplying: it saves one to two operations per layer in every mode.
    #: Left out, it falls back to ``g * derivative_from_output(a)``.
    times_derivative: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None

    def __post_init__(self) -> None:
        if self.times_derivative is None:
            derivative = self.derivative_from_output
            object.__setattr__(self, "times_derivative", lambda g, a: g * derivative(a))


def _tanh_derivative(a: torch.Tensor) -> torch.Tensor:
    # 1 - a*a in one kernel: addcmul(1, a, a, value=-1).
    return torch.addcmul(torch.ones_like(a), a, a, value=-1.0)


def _sigmoid_derivative(a: torch.Tensor) -> torch.Tensor:
    return a - a * a


def _relu_derivative(a: torch.Tensor) -> torch.Tensor:
    # relu(h) > 0 exactly when h > 0; at h = 0 the derivative is taken as 0, as torch does.
    return (a > 0).to(a.dtype)


# g ⊙ act'(h) from the output a in one kernel each: tanh_backward is g·(1 - a²), sigmoid_backward
# g·a·(1 - a), threshold_backward(g, a, 0) keeps g where a > 0 (that is, where h > 0). They are
# the kernels autograd itself runs, on every device, and they broadcast a (…, 1, K) against g.
ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation(
        "tanh", torch.tanh, _tanh_derivative, torch.ops.aten.tanh_backward.default
    ),
    "sigmoid": Activation(
        "sigmoid", torch.sigmoid, _sigmoid_derivative, torch.ops.aten.sigmoid_backward.default
    ),
    "relu": Activation(
        "relu", torch.relu, _relu_derivative,
        lambda g, a: torch.ops.aten.threshold_backward.default(g, a, 0),
    ),
}


def activation_named(name: str) -> Activation:
    """Look an activation up by name, with an error that lists the choices."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}"
        ) from None
