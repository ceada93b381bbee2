"""The float64 reference Jacobian that the sweep checks every mode against before timing it.

Deliberately plain: the forward pass in float64, then the chain W_F S_L W_L ... S_1 W_1 multiplied
one factor at a time from the cheaper end, with S_i = act'(h_i) written from h_i itself (not from
the activation output, as the modes do). It shares no code with the modes beyond the model.
"""

from __future__ import annotations

import torch

from jacbench.model.mlp import MLP

_DERIVATIVES = {
    "tanh": lambda h: 1.0 / torch.cosh(h) ** 2,
    "sigmoid": lambda h: torch.sigmoid(h) * torch.sigmoid(-h),
    "relu": lambda h: (h > 0).to(h.dtype),
}

#: Relative Frobenius error above which a mode is recorded as a mismatch and not timed.
TOLERANCE = {"float64": 1e-10, "float32": 1e-4}


def reference_jacobian(net: MLP, x: torch.Tensor) -> torch.Tensor:
    """dy/dx in float64 on x's device: (P, D) for x (D,), (N, P, D) for x (N, D)."""
    net64 = net.to(dtype=torch.float64)
    xb = (x.unsqueeze(0) if x.dim() == 1 else x).to(torch.float64)
    act, deriv = net64.act.fn, _DERIVATIVES[net64.activation]
    W = net64.weights
    hs = [xb @ W[0].T + (0 if net64.biases is None else net64.biases[0])]
    for i in range(1, len(W) - 1):
        hs.append(act(hs[-1]) @ W[i].T + (0 if net64.biases is None else net64.biases[i]))
    scales = [deriv(h) for h in hs]  # (N, K) each
    if net.P <= net.D:  # row by row from the output end
        J = W[-1].expand(xb.shape[0], -1, -1)
        for i in range(len(W) - 2, -1, -1):
            J = (J * scales[i].unsqueeze(1)) @ W[i]
    else:  # column by column from the input end
        J = W[0].expand(xb.shape[0], -1, -1)
        for i in range(1, len(W)):
            J = W[i] @ (J * scales[i - 1].unsqueeze(2))
    return J[0] if x.dim() == 1 else J


def relative_error(J: torch.Tensor, reference: torch.Tensor) -> float:
    """||J - ref||_F / ||ref||_F in float64 (absolute error when the reference is zero)."""
    diff = torch.linalg.norm((J.detach().to(torch.float64) - reference).reshape(-1))
    scale = torch.linalg.norm(reference.reshape(-1))
    return float(diff / scale) if scale > 0 else float(diff)
