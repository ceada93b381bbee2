"""The theory: exact multiply-add, byte and memory counts of each Jacobian mode.

Notation as in ``jacbench.model.mlp``: L hidden layers of width K, input D, output P, N = batch
inputs; ``jacbench.theory.shape.Shape`` holds them and every element count below. The weights
hold ``W = K·D + (L-1)·K² + P·K`` numbers; one primal pass through all of them costs W
multiply-adds per input.

The multiply-adds are summed over the mode's operations as ``jacbench.theory.operations`` lists
them (the same list the time model times), which follows what ``jacbench.modes`` really does,
so that ``2 * matmul_macs`` equals the FLOPs that ``torch.utils.flop_counter.FlopCounterMode``
counts while the mode runs (tests/theory/test_cost.py checks this for every mode and several
shapes, counting ``aten.mv`` as well, which FlopCounterMode leaves out).

``elementwise_macs`` counts one multiply per element of a tangent or adjoint scaled by act'(h). It
leaves out evaluating act and act' themselves (a few operations per hidden unit, O(L·K) per input,
the same in every mode) and the bias additions.

``bytes_moved`` is a lower-bound model, at ``dtype_bytes`` per number: every weight read once (a
cache may hold them between passes), the input read once, the Jacobian written once, and each
tensor that one matrix product hands to a later step written once and read once (twice if read
twice). Elementwise temporaries a fused kernel would keep in registers (act(h), s ⊙ T) are not
counted.

``peak_extra_bytes`` models the memory a mode holds at its peak beyond the weights, input and
Jacobian: the algorithm's state (stored derivatives, one tangent or adjoint). The implementations
hold up to about three times the tangent/adjoint term for a moment (the input, scaled copy and
output of one product), so measured peaks sit between 1x and 3x of that term.

>>> import jacbench
>>> c = jacbench.cost("reverse", L=3, D=2, K=5, P=4)
>>> c.matmul_macs  # primal 2·5 + 2·5² = 60; adjoints 2·5²·4 + 4·5·2 = 240
300
>>> cost_at("reverse", Shape(L=3, D=2, K=5, P=4)) == c
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from jacbench.catalog import CATALOG
from jacbench.theory.chain_plan import chain_plan
from jacbench.theory.operations import ELEMENTWISE, GEMM, operations_at
from jacbench.theory.shape import Shape

__all__ = ["Cost", "cost", "cost_at"]


@dataclass(frozen=True)
class Cost:
    """What one call of a mode costs for a batch of inputs, by the model in this module."""

    mode: str
    matmul_macs: int  # multiply-adds inside matrix products (FlopCounterMode's FLOPs / 2)
    elementwise_macs: int  # multiplies by act'(h): the tangent / adjoint scalings
    bytes_moved: int  # lower-bound memory traffic (see the module docstring)
    peak_extra_bytes: int  # state held at the peak beyond weights, input and Jacobian

    @property
    def macs(self) -> int:
        return self.matmul_macs + self.elementwise_macs

    @property
    def flops(self) -> int:
        return 2 * self.macs


# A formula takes a Shape and dtype_bytes and returns the Cost of one call on its N inputs.
Formula = Callable[[Shape, int], Cost]


def _work(mode: str, s: Shape) -> tuple[int, int]:
    """(matmul, elementwise) multiply-adds of the mode's operation list."""
    ops = operations_at(mode, s)
    return (sum(op.macs * op.repeat for op in ops if op.kind == GEMM),
            sum(op.macs * op.repeat for op in ops if op.kind == ELEMENTWISE))


def _forward(s: Shape, b: int) -> Cost:
    """``handwritten.forward_jacobian``: primal without the final W_F product, then D tangents.

    Per input: primal K·D + (L-1)·K² (y = W_F act(h_L) is never formed); tangents
    T_{i+1} = W_{i+1} (s_i ⊙ T_i) cost (L-1)·K²·D, and J = W_F (s_L ⊙ T_L) costs P·K·D (T_1 = W_1
    is free); L·K·D scalings. Bytes: h_1..h_L and tangents T_2..T_L handed on. Peak: one K×D
    tangent and the current h per input.
    """
    moved = (s.weights + s.inputs + s.jacobian + 2 * s.activations
             + 2 * (s.L - 1) * s.tangent)
    return Cost("forward", *_work("forward", s), b * moved, b * (s.tangent + s.layer))


def _reverse(s: Shape, b: int) -> Cost:
    """``handwritten.reverse_jacobian``: primal storing s_i = act'(h_i), then P adjoint rows back.

    Per input: primal K·D + (L-1)·K²; A_L = W_F ⊙ s_L is a scaling, not a product, so the
    adjoints A_{i-1} = (A_i W_i) ⊙ s_{i-1} cost (L-1)·K²·P and J = A_1 W_1 costs P·K·D; L·P·K
    scalings. Bytes: h_1..h_L handed on, s_1..s_L stored and re-read, A_{L-1}..A_1 handed on.
    Peak: L·K stored derivatives and one P×K adjoint per input.
    """
    moved = (s.weights + s.inputs + s.jacobian + 4 * s.activations
             + 2 * (s.L - 1) * s.adjoint)
    return Cost("reverse", *_work("reverse", s), b * moved, b * (s.activations + s.adjoint))


def _library_reverse(mode: str, s: Shape, b: int) -> Cost:
    """Reverse-mode baselines: full primal, then P one-hot seed rows pulled back densely.

    Counted with FlopCounterMode: the primal is W per input (W_F included), and each seed row
    costs W again: P·K for e_p·W_F (a dense product with a one-hot row), (L-1)·K², K·D. Batch:
    the autograd strategies seed rows of sum_n y_n (one backward pass covers all N inputs), jacrev
    is vmapped over the inputs; both come to N·(1 + P)·W. The Python loop of autograd-reverse
    re-reads the saved activations in each of its P passes. Elementwise: L·P·K, one multiply per
    adjoint element at tanh_backward (approximate: tanh_backward also forms 1 - a²).
    """
    loop = mode == "autograd-reverse"
    saved_reads = s.P if loop else 1  # saved activations read per pass
    moved = (
        (s.weights + s.inputs + s.jacobian + s.P * s.P)  # weights, input, Jacobian, seeds
        + (2 * s.activations + s.outputs)  # primal h_1..h_L handed on, y written
        + s.activations * (1 + saved_reads)  # activations saved for backward
        + 2 * s.L * s.adjoint  # adjoints after e_p·W_F, W_L, ..., W_2
    )
    held_adjoint = s.layer if loop else s.adjoint  # one row at a time, or all P
    peak = s.activations + held_adjoint + s.P * s.P
    return Cost(mode, *_work(mode, s), b * moved, b * peak)


def _library_forward(mode: str, s: Shape, b: int) -> Cost:
    """Forward-mode baselines: full primal, D one-hot seed columns pushed through densely.

    Counted with FlopCounterMode: each seed column costs W (K·D for W_1·e_d, a dense product with
    a one-hot column). torch 2.13's forward derivative of mm/mv, ``self_t @ other_p + self_p @
    other_t``, also multiplies a materialised zero tangent of each (non-dual) weight by the primal,
    so the primal pass is paid twice: N·(2 + D)·W in all. Batch: autograd-forward-vectorized
    differentiates v -> net(x + v) with each of the D seeds perturbing all N inputs; jacfwd is
    vmapped over the inputs; both come to the same count. Elementwise: L·D·K (approximate, as
    for the reverse baselines). Bytes include the zero weight tangents read and their products
    handed on.
    """
    moved = (
        (s.weights + s.inputs + s.jacobian + s.D * s.D)  # weights, input, Jacobian, seeds
        + (2 * s.activations + s.outputs)  # primal h_1..h_L handed on, y written
        + 2 * s.L * s.tangent  # tangents after W_1·E, W_2, ..., W_L
        + (s.weights + 2 * (s.activations + s.outputs))  # zero weight tangents, their products
    )
    return Cost(mode, *_work(mode, s), b * moved, b * (s.tangent + s.layer + s.D * s.D))


def _chain(s: Shape, b: int) -> Cost:
    """``modes.chain.chain_jacobian``: the chain in its cheapest bracketing (matrix-chain DP).

    A pure forward or reverse plan runs that mode, so it costs exactly that mode. Otherwise the
    products and scalings are ``chain_plan.chain_cost`` (primal K·D + (L-1)·K², then the plan's
    Σ a·b·c and Σ b·min(a, c) per input); bytes: weights, input, Jacobian, h_1..h_L handed on
    and a_1..a_L stored and re-read, and the partial products the plan hands on; peak: the
    stored activations plus the partial products alive at once.
    """
    plan = chain_plan(s.L, s.D, s.K, s.P)
    if plan.kind in ("forward", "reverse"):
        same = _FORMULAS[plan.kind](s, b)
        return Cost("chain", same.matmul_macs, same.elementwise_macs, same.bytes_moved,
                    same.peak_extra_bytes)
    matmul, elementwise = _work("chain", s)
    moved = (s.weights + s.inputs + s.jacobian + 4 * s.activations
             + 2 * s.N * plan.handed_on)
    return Cost("chain", matmul, elementwise, b * moved, b * (s.activations + s.N * plan.held))


def _named(family: Callable[..., Cost], mode: str) -> Formula:
    def formula(s: Shape, b: int) -> Cost:
        return family(mode, s, b)

    formula.__doc__ = family.__doc__
    return formula


# One line per algorithm (``jacbench.catalog``); a new algorithm adds its formula here.
_FORMULAS: dict[str, Formula] = {
    "forward": _forward,
    "reverse": _reverse,
    "chain": _chain,
    "autograd-reverse": _named(_library_reverse, "autograd-reverse"),
    "autograd-reverse-vectorized": _named(_library_reverse, "autograd-reverse-vectorized"),
    "jacrev": _named(_library_reverse, "jacrev"),
    "autograd-forward-vectorized": _named(_library_forward, "autograd-forward-vectorized"),
    "jacfwd": _named(_library_forward, "jacfwd"),
}


def _algorithm(mode: str) -> str:
    """The algorithm ``mode`` runs; ValueError for a mode without a cost model."""
    info = CATALOG.get(mode) if isinstance(mode, str) else None
    if info is None or info.algorithm not in _FORMULAS:
        raise ValueError(f"no cost model for mode {mode!r}; known: {', '.join(CATALOG)}")
    return info.algorithm


def cost(
    mode: str, L: int, D: int, K: int, P: int, batch: int = 1, *, dtype_bytes: int = 4
) -> Cost:
    """The modelled cost of one ``jacobian(net, x, mode)`` call on ``batch`` inputs.

    ``batch`` = 1 also stands for a single (D,) input: the modes treat it as a batch of one.
    ``cost_at`` says the rest; this is it for the shape of these sizes.
    """
    _algorithm(mode)
    return cost_at(mode, Shape(L, D, K, P, batch), dtype_bytes=dtype_bytes)


def cost_at(mode: str, shape: Shape, *, dtype_bytes: int = 4) -> Cost:
    """The modelled cost of one ``jacobian(net, x, mode)`` call on the ``shape.N`` inputs.

    Each algorithm's formula's docstring says where it comes from. A mode that runs an
    algorithm as one program (compiled, JAX, native) has its algorithm's counts: compiling may
    fuse elementwise work and save dispatch and memory traffic, never a multiply-add of a matrix
    product, and the bytes and peak are the algorithm's model too.
    """
    algorithm = _algorithm(mode)
    if not isinstance(dtype_bytes, int) or isinstance(dtype_bytes, bool) or dtype_bytes < 1:
        raise ValueError(f"dtype_bytes must be a positive integer, got {dtype_bytes!r}")
    counted = _FORMULAS[algorithm](shape, dtype_bytes)
    return counted if mode == algorithm else replace(counted, mode=mode)
