"""Test-side helpers: an independent float64 reference for the MLP and its Jacobian, the error
measure the tests bound, and the cases they draw.

Nothing here calls jacbench's activations, derivatives or modes: the forward pass is redone from
``net.weights`` / ``net.biases`` in float64 on the CPU, each activation's derivative is written
out from the pre-activation h, and the Jacobian is the explicit chain product

    J = W_F · diag(s_L) · W_L · ... · W_2 · diag(s_1) · W_1,        s_i = act'(h_i),

built with ``torch.diag`` one sample at a time (the one place in the project where diagonal
matrices are welcome).

A ``Case`` is one model and input (sizes, activation, bias, seed); ``cases()`` is the hypothesis
strategy that draws them, every axis down to 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from hypothesis import strategies as st

import jacbench

ACTIVATION_NAMES = ("tanh", "sigmoid", "relu")
#: Largest relative Frobenius error allowed against the float64 reference, per dtype of the model.
TOLERANCE = {torch.float64: 1e-10, torch.float32: 2e-5}


def _sigmoid(h: torch.Tensor) -> torch.Tensor:
    return 1.0 / (1.0 + torch.exp(-h))


# name -> (act(h), act'(h)), both written from h, in forms that stay accurate in saturation:
# tanh' = sech² h = 1 / cosh² h, sigmoid' = σ(h)(1 - σ(h)) = σ(h)σ(-h), relu' = [h > 0].
_ACTIVATIONS = {
    "tanh": (torch.tanh, lambda h: 1.0 / torch.cosh(h) ** 2),
    "sigmoid": (_sigmoid, lambda h: _sigmoid(h) * _sigmoid(-h)),
    "relu": (
        lambda h: torch.where(h > 0, h, torch.zeros_like(h)),
        lambda h: (h > 0).to(h.dtype),
    ),
}


def _float64_params(net) -> tuple[list[torch.Tensor], list[torch.Tensor | None]]:
    weights = [W.detach().to(device="cpu", dtype=torch.float64) for W in net.weights]
    if net.biases is None:
        biases: list[torch.Tensor | None] = [None] * len(weights)
    else:
        biases = [b.detach().to(device="cpu", dtype=torch.float64) for b in net.biases]
    return weights, biases


def _preactivations(net, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    """[h_1, ..., h_L] and y for one input x of shape (D,), all float64 on the CPU."""
    weights, biases = _float64_params(net)
    act, _ = _ACTIVATIONS[net.activation]
    a = x.detach().to(device="cpu", dtype=torch.float64)
    hs = []
    for W, b in zip(weights, biases, strict=True):
        h = torch.mv(W, a) if b is None else torch.mv(W, a) + b
        hs.append(h)
        a = act(h)
    return hs[:-1], hs[-1]


def _per_sample(fn, x: torch.Tensor) -> torch.Tensor:
    if x.dim() == 1:
        return fn(x)
    return torch.stack([fn(x_n) for x_n in x])


def reference_forward(net, x: torch.Tensor) -> torch.Tensor:
    """y = net(x) in float64 on the CPU: (D,) -> (P,), (N, D) -> (N, P)."""
    return _per_sample(lambda x_n: _preactivations(net, x_n)[1], x)


def reference_jacobian(net, x: torch.Tensor) -> torch.Tensor:
    """dy/dx in float64 on the CPU: (P, D) for x of shape (D,), (N, P, D) for (N, D)."""
    weights, _ = _float64_params(net)
    _, derivative = _ACTIVATIONS[net.activation]

    def one(x_n: torch.Tensor) -> torch.Tensor:
        hs, _ = _preactivations(net, x_n)
        J = weights[0]
        for W, h in zip(weights[1:], hs, strict=True):
            J = W @ torch.diag(derivative(h)) @ J
        return J

    return _per_sample(one, x)


def reference_scale(net, x: torch.Tensor) -> float:
    """The Frobenius norm of |W_F|·|diag(s_L)|·...·|W_1|, over all samples.

    Rounding errors of the chain product, in any order of evaluation, are bounded by a small
    multiple of unit roundoff times this; it is the yardstick when the terms of J cancel.
    """
    weights, _ = _float64_params(net)
    _, derivative = _ACTIVATIONS[net.activation]

    def one(x_n: torch.Tensor) -> torch.Tensor:
        hs, _ = _preactivations(net, x_n)
        M = weights[0].abs()
        for W, h in zip(weights[1:], hs, strict=True):
            M = W.abs() @ torch.diag(derivative(h).abs()) @ M
        return M

    return float(torch.linalg.norm(_per_sample(one, x).reshape(-1)))


def jacobian_error(J: torch.Tensor, net, x: torch.Tensor) -> float:
    """||J - J_ref||_F / max(||J_ref||_F, floor), J_ref the float64 reference at (net, x).

    Normally this is the relative Frobenius error. The floor, 10·u·scale/tol (u the unit roundoff
    of the model's dtype, scale = ``reference_scale``, tol = ``TOLERANCE``), takes over only when
    the terms of J cancel so deeply that J is smaller than what their own rounding can resolve at
    this tolerance: then no implementation in that dtype, torch's own autograd included, can meet
    a purely relative bound, and the error is measured against the terms instead. Where every path
    is dead (relu), scale and J_ref are 0 and the error is absolute: J must be exactly 0.
    """
    J_ref = reference_jacobian(net, x)
    diff = float(torch.linalg.norm((J.detach().to("cpu", torch.float64) - J_ref).reshape(-1)))
    ref = float(torch.linalg.norm(J_ref.reshape(-1)))
    floor = 10 * torch.finfo(net.dtype).eps / 2 * reference_scale(net, x) / TOLERANCE[net.dtype]
    denom = max(ref, floor)
    return diff if denom == 0.0 else diff / denom


# Drawn cases ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One model and one input. N = None means a single input x of shape (D,)."""

    L: int
    D: int
    K: int
    P: int
    N: int | None = None
    activation: str = "tanh"
    bias: bool = False
    seed: int = 0
    x_scale: float = 1.0

    def build(
        self, dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu"
    ) -> tuple[jacbench.MLP, torch.Tensor]:
        """The seeded model and a standard normal input (times x_scale) in dtype on device.

        The input is drawn in float64 on the CPU, so a seed gives the same point everywhere; a
        random input is almost surely away from relu's kink.
        """
        net = jacbench.MLP.random(
            self.L,
            self.D,
            self.K,
            self.P,
            seed=self.seed,
            dtype=dtype,
            device=device,
            activation=self.activation,
            bias=self.bias,
        )
        shape = (self.D,) if self.N is None else (self.N, self.D)
        gen = torch.Generator().manual_seed(10_000 + self.seed)
        x = torch.randn(*shape, generator=gen, dtype=torch.float64) * self.x_scale
        return net, x.to(dtype=dtype, device=device)


@st.composite
def cases(draw, max_L: int = 12, max_size: int = 10, max_N: int = 4) -> Case:
    """Cases with L in 1..max_L, D, K, P in 1..max_size, N None or 1..max_N, every activation.

    Inputs are standard normal or smaller (x_scale 1 or 0.2), so with fan-in scaled weights the
    pre-activations are O(1). Much larger ones saturate tanh and sigmoid, and act'(h) derived from
    the rounded output (1 - a², a(1 - a): what the modes and torch's own autograd kernels do)
    then loses relative accuracy: at |h| ≈ 4 in float32 it is already off by ~1e-4, beyond the
    issue's 2e-5, in every mode alike.
    """
    size = st.integers(1, max_size)
    return Case(
        L=draw(st.integers(1, max_L)),
        D=draw(size),
        K=draw(size),
        P=draw(size),
        N=draw(st.none() | st.integers(1, max_N)),
        activation=draw(st.sampled_from(ACTIVATION_NAMES)),
        bias=draw(st.booleans()),
        seed=draw(st.integers(0, 2**16)),
        x_scale=draw(st.sampled_from((1.0, 0.2))),
    )


#: Every axis at 1 at once, and each axis alone at 1, across activations and biases.
EDGE_CASES = {
    "all-ones": Case(1, 1, 1, 1, None, "tanh", False, seed=1),
    "all-ones-batch": Case(1, 1, 1, 1, 1, "sigmoid", True, seed=2),
    "L=1": Case(1, 5, 6, 4, 3, "relu", True, seed=3),
    "D=1": Case(4, 1, 6, 4, 2, "tanh", True, seed=4),
    "K=1": Case(4, 5, 1, 4, 2, "sigmoid", False, seed=5),
    "P=1": Case(4, 5, 6, 1, None, "relu", True, seed=6),
    "N=1": Case(4, 5, 6, 4, 1, "tanh", False, seed=7),
    "L=12": Case(12, 3, 7, 2, 2, "sigmoid", True, seed=8),
}

#: Larger fixed shapes, still quick for every mode on a CPU.
LARGE_CASES = {
    "L3-D64-K48-P40-N5": Case(3, 64, 48, 40, 5, "tanh", False, seed=11),
    "L2-D80-K32-P72": Case(2, 80, 32, 72, None, "sigmoid", True, seed=12),
    "L5-D40-K64-P24-N3": Case(5, 40, 64, 24, 3, "relu", True, seed=13),
}
