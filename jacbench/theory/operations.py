"""The operations each mode runs: the one list that the cost model counts and the time model times.

``operations_at(mode, shape)`` (``operations(mode, L, D, K, P, batch)`` with loose sizes) lists,
in order, every matrix product, elementwise kernel and view one ``jacobian(net, x, mode)`` call
issues: its shape, its multiply-adds, the elements it reads from the weights and from everything
else (operands, output), and the framework calls it costs. ``jacbench.theory.cost`` sums the
multiply-adds (tests/theory/test_cost.py checks them against torch's own count);
``jacbench.theory.time_model`` turns each operation into seconds.

A matrix product (m×k)·(k×n) is a GEMM of those sizes; a batch folded into the rows makes m
larger, a batched product of per-sample factors repeats the small one (``repeat``). Weights are
listed as W_1 = 0, ..., W_F = L, with weight i of shape d[i+1] × d[i] for d = ``Shape.dims``.

Each mode runs one of these algorithms (``jacbench.catalog``). A mode whose implementation is
one program (``jax-jacrev``, ``reverse-compiled``) runs the algorithm's operations with no call
each, and one call for the program. A native mode (``reverse-native``) is one call too, but each
of its products is still a call into the BLAS of its own, whose threads take their operands over
from the single-threaded code around it (``handed_over``), as an eager mode's do.

>>> ops = operations("reverse", L=3, D=2, K=5, P=4)
>>> sum(op.macs for op in ops if op.kind == GEMM)  # primal 2·5 + 2·5²; adjoints 2·5²·4 + 4·5·2
300
>>> sum(op.calls for op in ops)  # 4 torch calls per layer
12
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from jacbench.catalog import CATALOG
from jacbench.theory.chain_plan import chain_plan
from jacbench.theory.chain_program import LINEAR, MATMUL, SCALE
from jacbench.theory.shape import Shape

__all__ = ["ELEMENTWISE", "GEMM", "VIEW", "Op", "known_modes", "operations", "operations_at"]

GEMM, ELEMENTWISE, VIEW = "gemm", "elementwise", "view"


@dataclass(frozen=True)
class Op:
    """One operation of a mode, done ``repeat`` times with the same shape.

    For a GEMM (m×k)·(k×n), ``macs`` = m·n·k; for an elementwise kernel, ``m`` is its element
    count and ``macs`` the multiplies the cost model counts (a scaling by act'(h): one per
    element; the activation itself: none). Element counts are per repeat.
    """

    name: str
    kind: str
    m: int = 1
    k: int = 1
    n: int = 1
    macs: int = 0
    weight_elems: int = 0  # elements read from the model's weights
    data_elems: int = 0  # other elements read and written (operands, output)
    calls: int = 1  # framework calls (torch dispatches) per repeat
    repeat: int = 1
    #: A library call of its own (eager, or a native mode's BLAS call), not a kernel placed
    #: inside a traced program: its threads take its operands over from the code before it.
    handed_over: bool = True

    @property
    def smallest(self) -> int:
        """A GEMM's smallest dimension: 1 is a matrix-vector product."""
        return min(self.m, self.k, self.n)


def _gemm(name: str, m: int, k: int, n: int, weight: bool = True, repeat: int = 1,
          calls: int = 1) -> Op:
    """(m×k)·(k×n) with the k×n factor a weight (read from the weights) unless ``weight`` False."""
    w = k * n if weight else 0
    return Op(name, GEMM, m, k, n, m * k * n, w, m * k + m * n + (0 if weight else k * n),
              calls, repeat)


def _scale(name: str, elements: int, repeat: int = 1) -> Op:
    """g ⊙ act'(h) from the stored a: reads g and a, writes the result."""
    return Op(name, ELEMENTWISE, elements, macs=elements, data_elems=3 * elements, repeat=repeat)


def _dense_scale(name: str, N: int, d: int, seeds: int) -> Op:
    """act' seed by seed in the legacy vmap's fallback: each seed's call touches a dense d×d
    matrix and the whole seeds×d batch (measured: its time grows as d² + seeds·d per seed),
    though only N·d multiplies count."""
    touched = d * d + seeds * d
    return Op(name, ELEMENTWISE, touched, macs=N * d, data_elems=2 * touched, repeat=seeds)


def _act(elements: int) -> Op:
    return Op("act", ELEMENTWISE, elements, data_elems=2 * elements)


def _view(name: str, count: int = 1) -> Op:
    return Op(name, VIEW, calls=count)


def _batch_view(N: int, batched: bool) -> list[Op]:
    return [_view("batch view")] if batched else []


def _forward(s: Shape, batched: bool) -> list[Op]:
    """``handwritten.forward_jacobian``: 4 calls per layer, 2 views (W_1ᵀ, Jᵀ), 1 for a batch."""
    L, D, K, N, d = s.L, s.D, s.K, s.N, s.dims
    ops = [*_batch_view(N, batched), _gemm("primal W_1 x", N, D, K), _view("W_1ᵀ")]
    for i in range(1, L + 1):
        ops += [_act(N * K), _scale("tangent ⊙ act'", N * D * K),
                _gemm(f"tangent W_{i + 1 if i < L else 'F'}", N * D, K, d[i + 1])]
        if i < L:
            ops.append(_gemm(f"primal W_{i + 1}", N, K, K))
    return [*ops, _view("Jᵀ")]


def _primal(s: Shape, batched: bool) -> list[Op]:
    """``handwritten.primal_activations``: a_1..a_L, 2 calls per layer (y is never formed)."""
    L, D, K, N = s.L, s.D, s.K, s.N
    ops = [*_batch_view(N, batched), _gemm("primal W_1 x", N, D, K), _act(N * K)]
    for i in range(1, L):
        ops += [_gemm(f"primal W_{i + 1}", N, K, K), _act(N * K)]
    return ops


def _reverse(s: Shape, batched: bool) -> list[Op]:
    """``handwritten.reverse_jacobian``: the primal, then per layer a scaling and a product."""
    K, P, N, d = s.K, s.P, s.N, s.dims
    ops = _primal(s, batched)
    for i in range(s.L - 1, -1, -1):
        ops += [_scale("adjoint ⊙ act'", N * P * K), _gemm(f"adjoint W_{i + 1}", N * P, K, d[i])]
    return ops


def _chain(s: Shape, batched: bool) -> list[Op]:
    """``modes.chain``: a pure plan runs that mode; otherwise the primal, then the plan's program.

    Slots track (rows, cols, per sample). A product with a weight folds the batch into its rows;
    one of two per-sample factors is a batched GEMM: the small product, repeated N times.
    """
    plan = chain_plan(s.L, s.D, s.K, s.P)
    if plan.kind in ("forward", "reverse"):
        return (_forward if plan.kind == "forward" else _reverse)(s, batched)
    N, d = s.N, s.dims
    shape: dict[int, tuple[int, int, bool]] = {m: (d[m + 1], d[m], False) for m in range(s.L + 1)}
    ops = _primal(s, batched)
    for op, out, a, b in plan.program:
        r, c, mine = shape[a]
        if op == SCALE:
            shape[out] = (r, c, True)
            ops.append(_scale("partial ⊙ act'", N * r * c))
            continue
        if op not in (MATMUL, LINEAR):
            shape[out] = (c, r, mine)
            ops.append(_view("transpose"))
            continue
        rb, cb, theirs = shape[b]
        c2 = rb if op == LINEAR else cb
        shape[out] = (r, c2, True)
        if mine and not theirs:  # the batch folds into the rows of a GEMM with a weight
            ops.append(_gemm("chain product", N * r, c, c2))
        else:
            ops.append(_gemm("chain product", r, c, c2, weight=False, repeat=N))
    return ops


def _library_reverse(loop: bool, fallback: bool) -> Callable[..., list[Op]]:
    """Reverse baselines: the full primal, then P one-hot seed rows pulled back densely.

    ``loop``: a Python loop of P backward passes (autograd-reverse), each over the N inputs.
    ``fallback``: act' scaled seed by seed (the legacy vmap has no batching rule for it).
    """

    def ops_of(s: Shape, batched: bool) -> list[Op]:
        L, P, N, d = s.L, s.P, s.N, s.dims
        ops: list[Op] = []
        for m in range(L + 1):
            ops.append(_gemm(f"primal W_{m + 1}", N, d[m], d[m + 1]))
            if m < L:
                ops.append(_act(N * d[m + 1]))
        rows, repeat = (N, P) if loop else (N * P, 1)
        for m in range(L, -1, -1):
            ops.append(_gemm(f"seed rows W_{m + 1}", rows, d[m + 1], d[m], repeat=repeat))
            if m > 0 and fallback:
                ops.append(_dense_scale("adjoint ⊙ act', seed by seed", N, d[m], P))
            elif m > 0:
                ops.append(_scale("adjoint ⊙ act'", N * d[m] * (1 if loop else P),
                                  repeat=P if loop else 1))
        return ops

    return ops_of


def _library_forward(fallback: bool) -> Callable[..., list[Op]]:
    """Forward baselines: the primal twice (each weight's zero tangent times the primal), then D
    one-hot seed columns pushed through densely; ``fallback`` scales act' seed by seed."""

    def ops_of(s: Shape, batched: bool) -> list[Op]:
        L, D, N, d = s.L, s.D, s.N, s.dims
        ops: list[Op] = []
        for m in range(L + 1):
            ops += [_gemm(f"primal W_{m + 1}", N, d[m], d[m + 1]),
                    _gemm(f"zero tangent W_{m + 1}", N, d[m], d[m + 1], weight=False),
                    _gemm(f"seed columns W_{m + 1}", N * D, d[m], d[m + 1])]
            if m < L:
                ops.append(_act(N * d[m + 1]))
                ops.append(_dense_scale("tangent ⊙ act', seed by seed", N, d[m + 1], D)
                           if fallback else _scale("tangent ⊙ act'", N * D * d[m + 1]))
        return ops

    return ops_of


OpsFormula = Callable[[Shape, bool], list[Op]]

# One line per mode; a mode of another framework running one of these algorithms needs none.
_OPERATIONS: dict[str, OpsFormula] = {
    "forward": _forward,
    "reverse": _reverse,
    "chain": _chain,
    "autograd-reverse": _library_reverse(loop=True, fallback=False),
    "autograd-reverse-vectorized": _library_reverse(loop=False, fallback=True),
    "jacrev": _library_reverse(loop=False, fallback=False),
    "autograd-forward-vectorized": _library_forward(fallback=True),
    "jacfwd": _library_forward(fallback=False),
}


def known_modes() -> tuple[str, ...]:
    """The algorithms with an operation list of their own."""
    return tuple(_OPERATIONS)


def operations(mode: str, L: int, D: int, K: int, P: int, batch: int = 1, *,
               single: bool | None = None) -> list[Op]:
    """``operations_at`` for the shape of these sizes."""
    return operations_at(mode, Shape(L, D, K, P, batch), single=single)


def operations_at(mode: str, shape: Shape, *, single: bool | None = None) -> list[Op]:
    """Every operation of one ``jacobian(net, x, mode)`` call on ``shape.N`` inputs, in order.

    ``single`` (default: N == 1) says whether the input is one (D,) vector rather than a
    (N, D) array; a batch costs one more view. A mode that is a traced program of another
    (see the module docstring) keeps the operations and makes them one call in all.
    """
    info = CATALOG.get(mode) if isinstance(mode, str) else None
    if info is None or info.algorithm not in _OPERATIONS:
        raise ValueError(f"no operation list for mode {mode!r}; known: {', '.join(CATALOG)}")
    batched = shape.N > 1 if single is None else not single
    ops = _OPERATIONS[info.algorithm](shape, batched)
    how = info.runs
    if not how.program:
        return ops
    return ([replace(op, calls=0, handed_over=how.handed_over) for op in ops]
            + [_view("program call")])
