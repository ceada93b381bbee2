"""The model under study: a deep MLP whose input-output Jacobian every mode computes.

    h_1 = W_1 x + b_1
    h_i = W_i act(h_{i-1}) + b_i        (i = 2..L)
    y   = W_F act(h_L) + b_F

with W_1: K×D, W_i: K×K, W_F: P×K. The Jacobian dy/dx is P×D per input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from jacbench.model.activations import activation_named

__all__ = ["MLP", "affine"]


def affine(W: torch.Tensor, a: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    """W a + b for a of shape (n,), or a Wᵀ + b row by row for a of shape (N, n).

    A single input is multiplied as ``W @ a`` rather than through ``linear``: torch 2.13's
    forward-mode functional jacobian fails on ``linear`` of a 1-D input (it sees a [1, n]
    forward gradient for an [n] tensor).
    """
    h = W @ a if a.dim() == 1 else a @ W.T
    return h if b is None else h + b


class MLP:
    """A deep MLP ``[W_1, W_2, ..., W_L, W_F]`` with an elementwise activation between layers.

    >>> import torch, jacbench
    >>> net = jacbench.MLP.random(L=3, D=4, K=8, P=2, seed=0)
    >>> net(torch.ones(4)).shape
    torch.Size([2])
    """

    def __init__(
        self,
        weights: Sequence[torch.Tensor],
        biases: Sequence[torch.Tensor] | None = None,
        activation: str = "tanh",
    ) -> None:
        self.act = activation_named(activation)
        self.weights: tuple[torch.Tensor, ...] = tuple(weights)
        self.biases: tuple[torch.Tensor, ...] | None = None if biases is None else tuple(biases)
        self._check()

    def _check(self) -> None:
        ws = self.weights
        if len(ws) < 2:
            raise ValueError(
                f"weights must hold [W1, ..., W_L, W_F] with L >= 1, got {len(ws)} matrices"
            )
        for i, W in enumerate(ws):
            if not isinstance(W, torch.Tensor) or W.dim() != 2:
                raise ValueError(f"weights[{i}] must be a 2-D tensor")
            if not W.is_floating_point():
                raise ValueError(f"weights[{i}] must be floating point, got {W.dtype}")
            if W.dtype != ws[0].dtype:
                raise ValueError(f"weights[{i}] has dtype {W.dtype}, weights[0] has {ws[0].dtype}")
            if W.device != ws[0].device:
                raise ValueError(
                    f"weights[{i}] is on {W.device}, weights[0] is on {ws[0].device}"
                )
        K = ws[0].shape[0]
        for i, W in enumerate(ws[1:-1], start=1):
            if W.shape != (K, K):
                raise ValueError(f"weights[{i}] must be {K}×{K} (K×K), got {tuple(W.shape)}")
        if ws[-1].shape[1] != K:
            raise ValueError(f"W_F (weights[-1]) must have {K} columns, got {tuple(ws[-1].shape)}")
        if self.biases is not None:
            if len(self.biases) != len(ws):
                raise ValueError(f"biases must match weights: {len(self.biases)} != {len(ws)}")
            for i, (b, W) in enumerate(zip(self.biases, ws, strict=True)):
                if not isinstance(b, torch.Tensor) or b.shape != (W.shape[0],):
                    raise ValueError(f"biases[{i}] must have shape ({W.shape[0]},)")
                if b.dtype != W.dtype or b.device != W.device:
                    raise ValueError(f"biases[{i}] must have the dtype and device of weights[{i}]")

    @classmethod
    def random(
        cls,
        L: int,
        D: int,
        K: int,
        P: int,
        *,
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
        activation: str = "tanh",
        bias: bool = False,
    ) -> MLP:
        """A seeded MLP with fan-in scaled weights, N(0, 1/fan_in).

        The numbers are drawn on the CPU in float64 and then cast and moved, so a seed gives the
        same model on every device and in every dtype (up to the cast).
        """
        for name, value in (("L", L), ("D", D), ("K", K), ("P", P)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        activation_named(activation)
        gen = torch.Generator().manual_seed(seed)
        shapes = [(K, D)] + [(K, K)] * (L - 1) + [(P, K)]

        def draw(*shape: int, scale: float) -> torch.Tensor:
            t = torch.randn(*shape, generator=gen, dtype=torch.float64) * scale
            return t.to(dtype=dtype, device=device)

        weights = [draw(r, c, scale=1.0 / math.sqrt(c)) for r, c in shapes]
        biases = [draw(r, scale=0.1) for r, _ in shapes] if bias else None
        return cls(weights, biases, activation)

    # Sizes and placement ------------------------------------------------------------------
    @property
    def L(self) -> int:
        return len(self.weights) - 1

    @property
    def D(self) -> int:
        return self.weights[0].shape[1]

    @property
    def K(self) -> int:
        return self.weights[0].shape[0]

    @property
    def P(self) -> int:
        return self.weights[-1].shape[0]

    @property
    def dtype(self) -> torch.dtype:
        return self.weights[0].dtype

    @property
    def device(self) -> torch.device:
        return self.weights[0].device

    @property
    def activation(self) -> str:
        return self.act.name

    def to(self, dtype: torch.dtype | None = None, device: str | torch.device | None = None) -> MLP:
        """The same model in another dtype and/or on another device (a new object)."""
        ws = [W.to(dtype=dtype, device=device) for W in self.weights]
        bs = self.biases and [b.to(dtype=dtype, device=device) for b in self.biases]
        return MLP(ws, bs, self.act.name)

    def bias(self, i: int) -> torch.Tensor | None:
        return None if self.biases is None else self.biases[i]

    # The forward pass ---------------------------------------------------------------------
    def check_input(self, x: object) -> None:
        """Raise ValueError unless x is a (D,) or (N, D) tensor of this model's dtype and device."""
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() not in (1, 2) or x.shape[-1] != self.D or x.numel() == 0:
            raise ValueError(
                f"x must have shape (D,) or (N, D) with D = {self.D} and N >= 1, "
                f"got {tuple(x.shape)}"
            )
        if x.dtype != self.dtype:
            raise ValueError(f"x has dtype {x.dtype} but the model has {self.dtype}")
        if x.device != self.device:
            raise ValueError(f"x is on {x.device} but the model is on {self.device}")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """y = net(x): (D,) -> (P,), (N, D) -> (N, P)."""
        fn = self.act.fn
        h = affine(self.weights[0], x, self.bias(0))
        for i in range(1, len(self.weights)):
            h = affine(self.weights[i], fn(h), self.bias(i))
        return h

    def __repr__(self) -> str:
        bias = "with" if self.biases is not None else "no"
        return (
            f"MLP(L={self.L}, D={self.D}, K={self.K}, P={self.P}, {self.act.name}, {bias} bias, "
            f"{self.dtype}, {self.device})"
        )
