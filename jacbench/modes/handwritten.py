"""Hand-written forward- and reverse-mode Jacobians of the MLP: no autograd, no diagonal matrices.

Both work on a batch (N, D) natively: the per-sample diagonal act'(h_i) scales rows or columns by
broadcasting, and every layer is one batched matrix product.
"""

from __future__ import annotations

import torch
from jacbench.mlp import MLP, affine


def _as_batch(x: torch.Tensor) -> torch.Tensor:
    return x.unsqueeze(0) if x.dim() == 1 else x


def _like_input(J: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return J[0] if x.dim() == 1 else J


def forward_jacobian(net: MLP, x: torch.Tensor) -> torch.Tensor:
    """Forward mode: push the D tangent directions e_1..e_D through the layers, column by column.

    With T_i = dh_i/dx (K×D per input) and s_i = act'(h_i):
        T_1 = W_1;  T_i = W_i (s_{i-1} ⊙ T_{i-1});  J = W_F (s_L ⊙ T_L).
    The tangents are kept transposed, (N, D, K), so that each layer is one (N·D)×K by K×K' matrix
    product and the scaling by s broadcasts along the last axis.

    Cost per input, in multiply-adds: primal K·D + (L-1)·K²; tangents (L-1)·K²·D + P·K·D;
    scalings L·K·D multiplies. Times N for a batch. Memory: one K×D tangent per input.
    """
    W = net.weights
    act = net.act
    a_in = _as_batch(x)
    h = affine(W[0], a_in, net.bias(0))
    tangent_t = W[0].T  # (D, K): T_1ᵀ, shared by every input until the first scaling
    for i in range(1, len(W)):
        a = act.fn(h)
        s = act.derivative_from_output(a)  # (N, K)
        tangent_t = (tangent_t * s.unsqueeze(1)) @ W[i].T  # (N, D, K_i)
        if i < len(W) - 1:  # h_{L+1} = y is not needed for the Jacobian
            h = affine(W[i], a, net.bias(i))
    return _like_input(tangent_t.transpose(1, 2), x)


def reverse_jacobian(net: MLP, x: torch.Tensor) -> torch.Tensor:
    """Reverse mode: one forward pass storing s_i = act'(h_i), then pull the P adjoint rows back.

    With A_i = dy/dh_i (P×K per input):
        A_L = W_F ⊙ s_L (columns scaled);  A_{i-1} = (A_i W_i) ⊙ s_{i-1};  J = A_1 W_1.
    Cost per input, in multiply-adds: primal K·D + (L-1)·K²; adjoints (L-1)·K²·P + P·K·D;
    scalings L·P·K multiplies. Times N for a batch. Memory: L·K stored derivatives per input
    plus one P×K adjoint.
    """
    W = net.weights
    act = net.act
    L = len(W) - 1
    h = affine(W[0], _as_batch(x), net.bias(0))
    derivs: list[torch.Tensor] = []
    for i in range(1, L + 1):
        a = act.fn(h)
        derivs.append(act.derivative_from_output(a).unsqueeze(1))  # (N, 1, K)
        if i < L:
            h = affine(W[i], a, net.bias(i))
    adjoint = W[L]  # (P, K): dy/d act(h_L), shared by every input until the first scaling
    for i in range(L, 0, -1):
        adjoint = (adjoint * derivs[i - 1]) @ W[i - 1]  # (N, P, K) @ (K, K or D)
    return _like_input(adjoint, x)
