"""Library baselines: torch.autograd.functional.jacobian and torch.func.jacrev / jacfwd.

For a batch x of shape (N, D) every baseline returns the per-sample Jacobians (N, P, D) without
ever forming the (N, P, N, D) cross-sample Jacobian, using the formulation each API supports:

- reverse strategies differentiate ``sum_n y_n`` with respect to x: sample n's output depends only
  on x_n, so d(sum_n y_n)/dx_n = dy_n/dx_n, and P backward passes over the batch give every sample;
- the forward strategy differentiates ``v -> net(x + v)`` for one shared v in R^D at v = 0: D
  tangents, each perturbing every sample at once, give every sample's P×D Jacobian;
- torch.func modes map the single-input transform over the batch with ``torch.func.vmap``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch.autograd.functional import jacobian as _functional_jacobian

from jacbench.model.mlp import MLP


@functools.wraps(_functional_jacobian)
def functional_jacobian(func: Callable, x: torch.Tensor, **kwargs: object) -> torch.Tensor:
    """torch.autograd.functional.jacobian with autograd switched on, whatever the caller's mode.

    Under ``torch.inference_mode()`` (or ``no_grad``) it would record no graph and silently return
    zeros; an input made in inference mode is cloned into a normal tensor it may differentiate.
    """
    with torch.inference_mode(False), torch.enable_grad():
        if x.is_inference():
            x = x.clone()
        return _functional_jacobian(func, x, **kwargs)


def _summed_over_batch(net: MLP) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda xb: net(xb).sum(0)


def autograd_reverse(net: MLP, x: torch.Tensor) -> torch.Tensor:
    """``torch.autograd.functional.jacobian(strategy="reverse-mode", vectorize=False)``.

    A Python loop of P backward passes (one per output row), each after the one shared forward
    pass. Batch: the loop runs over the rows of sum_n y_n, each pass covering all N samples.
    Cost in multiply-adds: primal N·(K·D + (L-1)·K² + P·K); each of the P backward passes
    N·(P·K + (L-1)·K² + K·D) (the first product multiplies a one-hot seed by W_F).
    """
    if x.dim() == 1:
        return functional_jacobian(net, x, strategy="reverse-mode", vectorize=False)
    J = functional_jacobian(_summed_over_batch(net), x, strategy="reverse-mode", vectorize=False)
    return J.permute(1, 0, 2)


def autograd_reverse_vectorized(net: MLP, x: torch.Tensor) -> torch.Tensor:
    """``torch.autograd.functional.jacobian(strategy="reverse-mode", vectorize=True)``.

    One backward pass batched over the P one-hot seeds with the legacy vmap prototype; where a
    backward op has no batching rule it falls back to a per-seed loop inside that op. Batch: the
    seeds are rows of sum_n y_n. Cost as autograd-reverse: primal N·(K·D + (L-1)·K² + P·K) plus
    N·P·(P·K + (L-1)·K² + K·D) (identity seeds multiplied through W_F densely).
    """
    if x.dim() == 1:
        return functional_jacobian(net, x, strategy="reverse-mode", vectorize=True)
    J = functional_jacobian(_summed_over_batch(net), x, strategy="reverse-mode", vectorize=True)
    return J.permute(1, 0, 2)


def autograd_forward_vectorized(net: MLP, x: torch.Tensor) -> torch.Tensor:
    """``torch.autograd.functional.jacobian(strategy="forward-mode", vectorize=True)``.

    D forward-mode tangents (one-hot seeds) batched with the legacy vmap prototype; tanh's forward
    derivative has no batching rule there, so it loops over seeds (slow at large D). Batch: the
    function is v -> net(x + v) with v in R^D shared by all samples, so the D seeds perturb every
    sample at once. Cost in multiply-adds, with W = K·D + (L-1)·K² + P·K: primal N·W, tangents
    N·D·W (identity seeds multiplied through W_1 densely), and another N·W because each product's
    forward derivative also multiplies the weight's zero tangent by the primal (torch 2.13).
    """
    if x.dim() == 1:
        return functional_jacobian(net, x, strategy="forward-mode", vectorize=True)
    v0 = torch.zeros(x.shape[-1], dtype=x.dtype, device=x.device)
    return functional_jacobian(
        lambda v: net(x + v), v0, strategy="forward-mode", vectorize=True
    )


def jacrev(net: MLP, x: torch.Tensor) -> torch.Tensor:
    """``torch.func.jacrev``: vmap of a vector-Jacobian product over the P one-hot seeds.

    Batch: ``vmap(jacrev(net))(x)``. Cost in multiply-adds per input: primal
    K·D + (L-1)·K² + P·K plus P·(P·K + (L-1)·K² + K·D) for the P dense seed rows.
    """
    if x.dim() == 1:
        return torch.func.jacrev(net)(x)
    return torch.func.vmap(torch.func.jacrev(net))(x)


def jacfwd(net: MLP, x: torch.Tensor) -> torch.Tensor:
    """``torch.func.jacfwd``: vmap of a Jacobian-vector product over the D one-hot seeds.

    Batch: ``vmap(jacfwd(net))(x)``. Cost in multiply-adds per input, with
    W = K·D + (L-1)·K² + P·K: (2 + D)·W: the primal, the D dense seed columns, and one more W for
    the weights' zero tangents that each product's forward derivative multiplies (torch 2.13).
    """
    if x.dim() == 1:
        return torch.func.jacfwd(net)(x)
    return torch.func.vmap(torch.func.jacfwd(net))(x)
