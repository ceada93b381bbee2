"""Hand-written forward- and reverse-mode Jacobians of the MLP: no autograd, no diagonal matrices.

Both work on a batch (N, D) natively: the per-sample diagonal act'(h_i) scales rows or columns by
broadcasting, and every layer is one matrix product over the whole batch.

At small shapes the time is all dispatch (1-4 us per torch call), so each layer is written as
the fewest calls that do its work: the activation, one fused ``g ⊙ act'(h)`` kernel working from
the stored activation output (``Activation.times_derivative``), one product for the tangent or
adjoint and one for the primal. Every per-call step that is not a layer is done once, outside the
loop. Nothing here is CPU-specific or reads a value back to the host, so the same code runs on
CUDA without a synchronisation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from jacbench.model.mlp import MLP


def _rows(x: torch.Tensor) -> torch.Tensor:
    """The primal's layout: a single input stays a vector (D,); a batch becomes (N, 1, D).

    The singleton axis lets an activation a_i of shape (N, 1, K) broadcast against a tangent
    (N, D, K) or an adjoint (N, P, K) with no reshaping inside the loop (one view per call instead
    of one per layer); a vector (K,) broadcasts against (D, K) or (P, K) as it is.
    """
    return x if x.dim() == 1 else x.unsqueeze(1)


def _affine(W: torch.Tensor, a: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    """h = W a + b: one call either way.

    A vector takes ``mv``/``addmv`` (about 1 us cheaper per call than a 1-row ``linear``, which
    goes through addmm); rows (N, 1, K) take ``linear``, one GEMM over the N rows. Note that
    FlopCounterMode leaves ``aten.mv``/``aten.addmv`` out: count them with a custom mapping.
    """
    if a.dim() == 1:
        return torch.mv(W, a) if b is None else torch.addmv(b, W, a)
    return F.linear(a, W, b)


def _biases(net: MLP) -> tuple[torch.Tensor | None, ...]:
    return net.biases if net.biases is not None else (None,) * len(net.weights)


def primal_activations(net: MLP, x: torch.Tensor) -> list[torch.Tensor]:
    """[a_1, ..., a_L] with a_i = act(h_i), each (K,) for x (D,) or (N, 1, K) for x (N, D).

    y = W_F a_L + b_F is not formed: no Jacobian needs it. Cost per input: K·D + (L-1)·K²
    multiply-adds. Shared by ``reverse_jacobian`` and the chain mode, which both need every s_i.
    """
    W, b, act = net.weights, _biases(net), net.act.fn
    a = act(_affine(W[0], _rows(x), b[0]))
    acts = [a]
    for i in range(1, len(W) - 1):
        a = act(_affine(W[i], a, b[i]))
        acts.append(a)
    return acts


def forward_jacobian(net: MLP, x: torch.Tensor) -> torch.Tensor:
    """Forward mode: push the D tangent directions e_1..e_D through the layers, column by column.

    With T_i = dh_i/dx (K×D per input) and s_i = act'(h_i):
        T_1 = W_1;  T_i = W_i (s_{i-1} ⊙ T_{i-1});  J = W_F (s_L ⊙ T_L).
    The tangents are kept transposed, T_iᵀ of shape (D, K) or (N, D, K), so that the scaling by s
    broadcasts along the last axis and each layer is one ``linear``: a single (N·D)×K by K×K'
    GEMM, the batch folded into the rows.

    Cost per input, in multiply-adds: primal K·D + (L-1)·K² (y itself is never formed); tangents
    (L-1)·K²·D + P·K·D; scalings L·K·D elements multiplied by act'(h) (act' recomputed from a
    inside the fused kernel). Times N for a batch. Memory: one K×D tangent per input.
    Torch calls: 4 per layer (primal product, act, fused scaling, tangent product), plus 2 views
    per call (W_1ᵀ, Jᵀ) and 1 more for a batch.

    >>> import torch, jacbench
    >>> net = jacbench.MLP.random(L=3, D=2, K=8, P=4)
    >>> forward_jacobian(net, torch.zeros(2)).shape
    torch.Size([4, 2])
    """
    W, b = net.weights, _biases(net)
    act, times_derivative = net.act.fn, net.act.times_derivative
    L = len(W) - 1
    h = _affine(W[0], _rows(x), b[0])
    tangent_t = W[0].T  # T_1ᵀ (D, K): shared by every input until the first scaling
    for i in range(1, L + 1):
        a = act(h)
        # T_{i+1}ᵀ = (s_i ⊙ T_i)ᵀ W_{i+1}ᵀ: ``linear`` multiplies by W_{i+1}ᵀ with no transpose
        # call, and folds the batch axis into the GEMM's rows.
        tangent_t = F.linear(times_derivative(tangent_t, a), W[i])
        if i < L:  # h_{L+1} = y is not needed for the Jacobian
            h = _affine(W[i], a, b[i])
    return tangent_t.mT  # (P, D) or (N, P, D): a view, no copy


def reverse_jacobian(net: MLP, x: torch.Tensor) -> torch.Tensor:
    """Reverse mode: one forward pass storing a_i = act(h_i), then pull the P adjoint rows back.

    With A_i = dy/dh_i (P×K per input):
        A_L = W_F ⊙ s_L (columns scaled);  A_{i-1} = (A_i W_i) ⊙ s_{i-1};  J = A_1 W_1.
    Cost per input, in multiply-adds: primal K·D + (L-1)·K² (y itself is never formed); adjoints
    (L-1)·K²·P + P·K·D; scalings L·P·K elements multiplied by act'(h) (act' recomputed from the
    stored a inside the fused kernel). Times N for a batch. Memory: L·K stored activations per
    input plus one P×K adjoint.
    Torch calls: 4 per layer (primal product, act, fused scaling, adjoint product), plus 1 view
    per call for a batch.

    >>> import torch, jacbench
    >>> net = jacbench.MLP.random(L=3, D=2, K=8, P=4)
    >>> reverse_jacobian(net, torch.zeros(5, 2)).shape
    torch.Size([5, 4, 2])
    """
    W = net.weights
    times_derivative = net.act.times_derivative
    acts = primal_activations(net, x)
    adjoint = W[-1]  # (P, K): dy/d act(h_L), shared by every input until the first scaling
    for i in range(len(W) - 2, -1, -1):
        # A_i W_i: (P, K) @ (K, K') or (N, P, K) @ (K, K'); matmul folds N into the GEMM's rows.
        adjoint = torch.matmul(times_derivative(adjoint, acts[i]), W[i])
    return adjoint
