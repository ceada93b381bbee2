"""The chain mode: the Jacobian as a matrix chain, multiplied in its cheapest bracketing.

The bracketing and its cost come from ``jacbench.theory.chain_plan``; this module runs the plan's
straight-line program of torch calls.

>>> import torch, jacbench
>>> net = jacbench.MLP.random(L=4, D=64, K=8, P=64)
>>> jacbench.jacobian(net, torch.zeros(64), mode="chain").shape
torch.Size([64, 64])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from jacbench.model.mlp import MLP
from jacbench.modes.handwritten import forward_jacobian, primal_activations, reverse_jacobian
from jacbench.theory.chain_plan import chain_plan
from jacbench.theory.chain_program import LINEAR, MATMUL, SCALE

__all__ = ["chain_jacobian"]


def chain_jacobian(net: MLP, x: torch.Tensor) -> torch.Tensor:
    """The Jacobian multiplied in the bracketing ``chain_plan`` finds cheapest for this shape.

    One primal pass storing a_i = act(h_i), then the plan's straight-line program: L fused
    scalings by act'(h_i), L products (``matmul``, batched where both factors are per sample,
    one GEMM over the folded batch where one is a weight; ``linear`` where a weight is needed
    transposed) and the few transpose views the bracketing needs. When the plan is pure forward
    or reverse mode it calls that mode itself, so it never costs more torch calls than they do.
    Cost: see ``chain_cost`` and the module docstring. Returns (P, D) for x (D,), (N, P, D) for
    x (N, D).
    """
    W = net.weights
    K, D = W[0].shape
    plan = chain_plan(len(W) - 1, D, K, W[-1].shape[0])  # a cached dict look-up after the first
    if plan.kind == "forward":
        return forward_jacobian(net, x)
    if plan.kind == "reverse":
        return reverse_jacobian(net, x)
    acts = primal_activations(net, x)
    times_derivative = net.act.times_derivative
    v: list[torch.Tensor | None] = [*W, *([None] * (plan.slots - len(W)))]
    for op, out, a, b in plan.program:
        if op == SCALE:
            v[out] = times_derivative(v[a], acts[b])
        elif op == MATMUL:
            v[out] = torch.matmul(v[a], v[b])
        elif op == LINEAR:
            v[out] = F.linear(v[a], v[b])
        else:
            v[out] = v[a].mT
    return v[plan.root]
