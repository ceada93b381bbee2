"""Every Jacobian mode behind one call: ``jacobian(net, x, mode)``.

A mode is a function ``(net, x) -> J`` with x of shape (D,) giving (P, D) and x of shape (N, D)
giving the per-sample Jacobians (N, P, D). The registry order is the order ``modes()`` reports,
hand-written modes first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from jacbench.mlp import MLP
from jacbench.modes import baselines, chain, handwritten

__all__ = ["MODES", "Mode", "jacobian", "mode_named", "modes"]


@dataclass(frozen=True)
class Mode:
    """A named Jacobian algorithm. ``family`` is "hand-written" or "library"."""

    name: str
    fn: Callable[[MLP, torch.Tensor], torch.Tensor]
    family: str
    summary: str


MODES: dict[str, Mode] = {
    m.name: m
    for m in (
        Mode("forward", handwritten.forward_jacobian, "hand-written",
             "push D tangents through the layers"),
        Mode("reverse", handwritten.reverse_jacobian, "hand-written",
             "pull P adjoint rows back through stored activations"),
        Mode("chain", chain.chain_jacobian, "hand-written",
             "the matrix chain in its cheapest bracketing (matrix-chain dynamic programme)"),
        Mode("autograd-reverse", baselines.autograd_reverse, "library",
             "torch.autograd.functional.jacobian, reverse, Python loop over P rows"),
        Mode("autograd-reverse-vectorized", baselines.autograd_reverse_vectorized, "library",
             "torch.autograd.functional.jacobian, reverse, vectorize=True"),
        Mode("autograd-forward-vectorized", baselines.autograd_forward_vectorized, "library",
             "torch.autograd.functional.jacobian, forward-mode, vectorize=True"),
        Mode("jacrev", baselines.jacrev, "library", "torch.func.jacrev (vmap over rows)"),
        Mode("jacfwd", baselines.jacfwd, "library", "torch.func.jacfwd (vmap over columns)"),
    )
}


def modes() -> tuple[str, ...]:
    """The names of the modes available in this install, in a stable order."""
    return tuple(MODES)


def mode_named(name: str) -> Mode:
    """Look a mode up by name, with an error that lists the choices."""
    try:
        return MODES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown mode {name!r}; choose one of {', '.join(MODES)}") from None


def jacobian(net: MLP, x: torch.Tensor, mode: str = "reverse") -> torch.Tensor:
    """The Jacobian dy/dx of ``net`` at ``x``: (P, D) for x of shape (D,), (N, P, D) for (N, D).

    >>> import torch, jacbench
    >>> net = jacbench.MLP.random(L=3, D=4, K=8, P=2)
    >>> jacbench.jacobian(net, torch.zeros(4), mode="forward").shape
    torch.Size([2, 4])
    """
    m = mode_named(mode)
    if not isinstance(net, MLP):
        raise ValueError(f"net must be a jacbench.MLP, got {type(net).__name__}")
    net.check_input(x)
    return m.fn(net, x)
