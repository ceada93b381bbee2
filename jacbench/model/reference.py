"""The float64 reference Jacobian that the sweep checks every mode against before timing it.

Deliberately plain: the forward pass in float64, then the chain W_F S_L W_L ... S_1 W_1 multiplied
one factor at a time from the cheaper end, with S_i = act'(h_i) written from h_i itself (not from
the activation output, as the modes do). It shares no code with the modes beyond the model.
"""

from __future__ import annotations

import math

import torch

from jacbench.model.mlp import MLP

_DERIVATIVES = {
    "tanh": lambda h: 1.0 / torch.cosh(h) ** 2,
    "sigmoid": lambda h: torch.sigmoid(h) * torch.sigmoid(-h),
    "relu": lambda h: (h > 0).to(h.dtype),
}

#: The least tolerance of float64 and float32 (the sweep's tolerance before precision became an
#: axis): ``tolerance`` never goes below it, so these two check as they always have at the
#: shapes they always had.
TOLERANCE = {"float64": 1e-10, "float32": 1e-4}
#: Unit roundoff u = 2^-(p+1) of each dtype's products (p mantissa bits after the point): the
#: products run at MATMUL_PRECISION, so tf32 (float32 storage) rounds to TF32's 10 bits.
UNIT_ROUNDOFF: dict[str, float] = {"float64": 2.0**-53, "float32": 2.0**-24, "tf32": 2.0**-11,
                                   "bfloat16": 2.0**-8, "float16": 2.0**-11}
#: Every product accumulates in float32 (float64 for float64): tensor cores, BLAS and XLA do.
_ACCUMULATE = {dtype: UNIT_ROUNDOFF["float64" if dtype == "float64" else "float32"]
               for dtype in UNIT_ROUNDOFF}
#: Safety factor over the first-order error estimate (a tolerance, not an expected error).
SAFETY = 4.0
#: Activations with a kink, where a unit switches on or off as rounding moves its input past 0.
KINKED = frozenset({"relu"})


def tolerance(dtype: str, L: int, width: int, activation: str = "tanh") -> float:
    """Relative Frobenius error above which a mode in ``dtype`` is a mismatch and is not timed.

    The Jacobian is a chain of L + 1 matrix products (W_F S_L W_L ... S_1 W_1, each S an
    activation's derivative computed in the dtype), plus the forward pass that gives the S's. Each
    product's relative error is at most about u + sqrt(n)·u_acc: its operands (and the stored
    result) rounded at the products' unit roundoff u, and an inner product of length n
    accumulated in float32 (u_acc; float64 for float64), whose rounding errors grow as sqrt(n)
    in practice (Higham & Mary, "A new approach to probabilistic rounding error analysis",
    2019). Errors of the L + 1 products add to first order; n is the widest inner dimension of
    the chain, max(D, K) (the width). With the safety factor:

        tolerance = max(TOLERANCE[dtype], SAFETY · (L + 1) · (u + sqrt(width) · u_acc))

    A kink (relu) adds what no roundoff bound covers: a unit whose pre-activation lies within the
    forward pass's rounding of zero is switched on or off, which moves the Jacobian by that
    unit's whole share. About a (L + 1)·u share of the units lies that close, so the relative
    error is about sqrt((L + 1)·u): ``+ SAFETY · sqrt((L + 1) · u)``. At float32's u a switched
    unit is expected only past ~10^7 units (seen: none), so the term is added where u is coarser
    than float32's (tf32, bfloat16, float16; measured on the CPU: 0.16 in bf16 at L = 4, width
    256, where the roundoff term alone gives 0.08). A Jacobian below a half precision's range
    (deep sigmoid nets in float16) is out of reach of any tolerance: a mismatch says so.

    >>> round(tolerance("bfloat16", L=3, width=16), 5)  # 4 · 4 · (2^-8 + 4 · 2^-24)
    0.0625
    >>> tolerance("float32", L=3, width=16)  # below float32's least tolerance
    0.0001
    >>> round(tolerance("bfloat16", L=3, width=16, activation="relu"), 4)  # + 4 · sqrt(4 · 2^-8)
    0.5625
    """
    if dtype not in UNIT_ROUNDOFF:
        raise ValueError(f"no tolerance for dtype {dtype!r}; known: {', '.join(UNIT_ROUNDOFF)}")
    if L < 1 or width < 1:
        raise ValueError(f"L and width must be positive, got {L} and {width}")
    u = UNIT_ROUNDOFF[dtype]
    estimate = SAFETY * (L + 1) * (u + math.sqrt(width) * _ACCUMULATE[dtype])
    if activation in KINKED and u > UNIT_ROUNDOFF["float32"]:
        estimate += SAFETY * math.sqrt((L + 1) * u)
    return max(TOLERANCE.get(dtype, 0.0), estimate)


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
