"""The operations each mode runs: the one list that the cost model counts and the time model times.

``operations_at(mode, shape)`` (``operations(mode, L, D, K, P, batch)`` with loose sizes) lists,
in order, every matrix product, elementwise kernel and view one ``jacobian(net, x, mode)`` call
issues: its shape, its multiply-adds, the elements it reads from the weights and from everything
else (operands, output), and the framework calls it costs. ``jacbench.theory.cost`` sums the
multiply-adds (tests/theory/test_cost.py checks them against torch's own count);
``jacbench.theory.time_model`` turns each operation into seconds.

A matrix product (m×k)·(k×n) is a GEMM of those sizes; a batch folded into the rows makes m
larger, a batched product of per-sample factors repeats the small one (``repeat``), and the
L - 1 identical middle layers are each operation once with a repeat count (a model 10^5 layers
deep is a few operations, so the time model predicts it in milliseconds). Weights are
listed as W_1 = 0, ..., W_F = L, with weight i of shape d[i+1] × d[i] for d = ``Shape.dims``.

Each mode runs one of these algorithms (``jacbench.catalog``). A mode whose implementation is
one program (``jax-jacrev``, ``reverse-compiled``) runs the algorithm's operations with no call
each, and one call for the program. A native mode (``reverse-native``) is one call too, but each
of its products is still a call into the BLAS of its own, whose threads take their operands over
from the single-threaded code around it (``handed_over``), as an eager mode's do.

>>> ops = operations("reverse", L=3, D=2, K=5, P=4)
>>> sum(op.macs * op.repeat for op in ops if op.kind == GEMM)  # primal 60, adjoints 240
300
>>> sum(op.calls * op.repeat for op in ops)  # 4 torch calls per layer
12
>>> len(operations("reverse", L=100_000, D=2, K=5, P=4))  # the middle layers: one repeated op each
8
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


def _times(ops: list[Op], layers: int) -> list[Op]:
    """One middle layer's operations done for ``layers`` identical layers: counted once with a
    repeat, so a model 10^5 layers deep is a list of a few operations, not 10^5 of them."""
    return [replace(op, repeat=op.repeat * layers) for op in ops] if layers > 0 else []


def _forward(s: Shape, batched: bool) -> list[Op]:
    """``handwritten.forward_jacobian``: 4 calls per layer, 2 views (W_1ᵀ, Jᵀ), 1 for a batch."""
    L, D, K, P, N = s.L, s.D, s.K, s.P, s.N
    return [*_batch_view(N, batched), _gemm("primal W_1 x", N, D, K), _view("W_1ᵀ"),
            *_times([_act(N * K), _scale("tangent ⊙ act'", N * D * K),
                     _gemm("tangent W_2..W_L", N * D, K, K), _gemm("primal W_2..W_L", N, K, K)],
                    L - 1),
            _act(N * K), _scale("tangent ⊙ act'", N * D * K), _gemm("tangent W_F", N * D, K, P),
            _view("Jᵀ")]


def _primal(s: Shape, batched: bool) -> list[Op]:
    """``handwritten.primal_activations``: a_1..a_L, 2 calls per layer (y is never formed)."""
    L, D, K, N = s.L, s.D, s.K, s.N
    return [*_batch_view(N, batched), _gemm("primal W_1 x", N, D, K), _act(N * K),
            *_times([_gemm("primal W_2..W_L", N, K, K), _act(N * K)], L - 1)]


def _reverse(s: Shape, batched: bool) -> list[Op]:
    """``handwritten.reverse_jacobian``: the primal, then per layer a scaling and a product."""
    L, D, K, P, N = s.L, s.D, s.K, s.P, s.N
    scale = _scale("adjoint ⊙ act'", N * P * K)
    return [*_primal(s, batched), *_times([scale, _gemm("adjoint W_L..W_2", N * P, K, K)], L - 1),
            scale, _gemm("adjoint W_1", N * P, K, D)]


def _chain(s: Shape, batched: bool) -> list[Op]:
    """``modes.chain``: a pure plan runs that mode; otherwise the primal, then the plan's program.

    Slots track (rows, cols, per sample). A product with a weight folds the batch into its rows;
    one of two per-sample factors is a batched GEMM: the small product, repeated N times. Equal
    operations are counted once with a repeat (the sums do not depend on their order).
    """
    plan = chain_plan(s.L, s.D, s.K, s.P)
    if plan.kind in ("forward", "reverse"):
        return (_forward if plan.kind == "forward" else _reverse)(s, batched)
    N, d = s.N, s.dims
    shape: dict[int, tuple[int, int, bool]] = {m: (d[m + 1], d[m], False) for m in range(s.L + 1)}
    counts: dict[tuple, int] = {}  # an operation's arguments -> how many times it is done
    for op, out, a, b in plan.program:
        r, c, mine = shape[a]
        if op == SCALE:
            shape[out] = (r, c, True)
            key: tuple = ("scale", N * r * c)
        elif op not in (MATMUL, LINEAR):
            shape[out] = (c, r, mine)
            key = ("view",)
        else:
            rb, cb, theirs = shape[b]
            c2 = rb if op == LINEAR else cb
            shape[out] = (r, c2, True)
            # the batch folds into the rows of a GEMM with a weight; else a batched GEMM
            key = ("gemm", N * r, c, c2, True, 1) if mine and not theirs else (
                "gemm", r, c, c2, False, N)
        counts[key] = counts.get(key, 0) + 1
    made = {"scale": lambda e: _scale("partial ⊙ act'", e), "view": lambda: _view("transpose"),
            "gemm": lambda m, k, n, w, rep: _gemm("chain product", m, k, n, weight=w, repeat=rep)}
    done = [_times([made[key[0]](*key[1:])], count) for key, count in counts.items()]
    return [*_primal(s, batched), *(op for ops in done for op in ops)]


def _library_reverse(loop: bool, fallback: bool) -> Callable[..., list[Op]]:
    """Reverse baselines: the full primal, then P one-hot seed rows pulled back densely.

    ``loop``: a Python loop of P backward passes (autograd-reverse), each over the N inputs.
    ``fallback``: act' scaled seed by seed (the legacy vmap has no batching rule for it).
    """

    def ops_of(s: Shape, batched: bool) -> list[Op]:
        L, D, K, P, N = s.L, s.D, s.K, s.P, s.N
        rows, repeat = (N, P) if loop else (N * P, 1)
        scale = (_dense_scale("adjoint ⊙ act', seed by seed", N, K, P) if fallback else
                 _scale("adjoint ⊙ act'", N * K * (1 if loop else P), repeat=P if loop else 1))
        return [_gemm("primal W_1", N, D, K), _act(N * K),
                *_times([_gemm("primal W_2..W_L", N, K, K), _act(N * K)], L - 1),
                _gemm("primal W_F", N, K, P),
                _gemm("seed rows W_F", rows, P, K, repeat=repeat), scale,
                *_times([_gemm("seed rows W_L..W_2", rows, K, K, repeat=repeat), scale], L - 1),
                _gemm("seed rows W_1", rows, K, D, repeat=repeat)]

    return ops_of


def _library_forward(fallback: bool) -> Callable[..., list[Op]]:
    """Forward baselines: the primal twice (each weight's zero tangent times the primal), then D
    one-hot seed columns pushed through densely; ``fallback`` scales act' seed by seed."""

    def ops_of(s: Shape, batched: bool) -> list[Op]:
        L, D, K, P, N = s.L, s.D, s.K, s.P, s.N

        def layer(name: str, rows: int, cols: int) -> list[Op]:
            return [_gemm(f"primal {name}", N, rows, cols),
                    _gemm(f"zero tangent {name}", N, rows, cols, weight=False),
                    _gemm(f"seed columns {name}", N * D, rows, cols)]

        scale = (_dense_scale("tangent ⊙ act', seed by seed", N, K, D) if fallback
                 else _scale("tangent ⊙ act'", N * D * K))
        return [*layer("W_1", D, K), _act(N * K), scale,
                *_times([*layer("W_2..W_L", K, K), _act(N * K), scale], L - 1),
                *layer("W_F", K, P)]

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
