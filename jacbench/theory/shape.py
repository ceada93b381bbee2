"""A shape: the MLP's sizes and the batch, and the one home of every count derived from them.

Notation as in ``jacbench.model.mlp``: L hidden layers of width K, input D, output P, N = batch
inputs. The layer sizes are d = (D, K, ..., K, P), weight i of shape d[i+1] × d[i]. The cost
model, the time model, the memory check and the benchmarks count elements through this class, so
a formula such as the weight count K·D + (L-1)·K² + P·K is written once.

>>> s = Shape(L=3, D=2, K=5, P=4, N=2)
>>> s.dims, s.weights  # 2·5 + 2·5² + 4·5
((2, 5, 5, 5, 4), 80)
>>> s.activations, s.tangent, s.adjoint, s.jacobian
(30, 20, 40, 16)
"""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["Shape"]


@dataclass(frozen=True)
class Shape:
    """L hidden layers of width K from D inputs to P outputs, for a batch of N inputs.

    Every count is a number of elements (multiply by the dtype's bytes for memory); the counts
    named per batch cover all N inputs.
    """

    L: int
    D: int
    K: int
    P: int
    N: int = 1

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                name = "N (batch)" if f.name == "N" else f.name
                raise ValueError(f"{name} must be a positive integer, got {value!r}")

    @property
    def dims(self) -> tuple[int, ...]:
        """The layer sizes (D, K, ..., K, P): weight i maps dims[i] to dims[i+1]."""
        return (self.D,) + (self.K,) * self.L + (self.P,)

    @property
    def weights(self) -> int:
        """Numbers in [W_1, ..., W_L, W_F]: K·D + (L-1)·K² + P·K; also the multiply-adds of one
        full primal pass per input."""
        return self.K * self.D + (self.L - 1) * self.K * self.K + self.P * self.K

    @property
    def inputs(self) -> int:
        """The batch of inputs x: N·D."""
        return self.N * self.D

    @property
    def outputs(self) -> int:
        """The batch of outputs y: N·P."""
        return self.N * self.P

    @property
    def jacobian(self) -> int:
        """The Jacobians of the batch: N·P·D."""
        return self.N * self.P * self.D

    @property
    def layer(self) -> int:
        """One hidden layer's values h_i (or act'(h_i)) over the batch: N·K."""
        return self.N * self.K

    @property
    def activations(self) -> int:
        """All hidden values h_1..h_L (or the stored act'(h_i)) over the batch: N·L·K."""
        return self.N * self.L * self.K

    @property
    def tangent(self) -> int:
        """One K×D tangent per input (forward mode's state): N·K·D."""
        return self.N * self.K * self.D

    @property
    def adjoint(self) -> int:
        """One P×K adjoint per input (reverse mode's state): N·P·K."""
        return self.N * self.P * self.K
