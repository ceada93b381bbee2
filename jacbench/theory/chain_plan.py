"""Chain planning: the cheapest bracketing of the Jacobian's matrix chain, and what it costs.

Per input the Jacobian is the product

    J = W_F S_L W_L S_{L-1} ... S_1 W_1,        S_i = diag(act'(h_i)),

a chain of L + 1 matrices with dims (P, K, ..., K, D). Forward mode multiplies it from the right
(each product K·K·D), reverse mode from the left (K·K·P); any other bracketing is as valid, and
the classic matrix-chain dynamic programme finds the cheapest one. When K < min(D, P) it is
neither: the K×K middle is collapsed first (K³ per product), and D and P are touched once each.
Choosing the order of accumulation along a chain is the simplest case of the optimal Jacobian
accumulation problem (A. Griewank and U. Naumann, "Accumulating Jacobians as chained sparse
matrix products", Math. Program. 95(3):555-571, 2003). On a chain the matrix-chain programme
solves it exactly in polynomial time; on general computational graphs the problem is NP-complete
(U. Naumann, "Optimal Jacobian accumulation is NP-complete", Math. Program. 112(2), 2008).

Why every product is per sample. S_i depends on the input, and an S sits between every two
neighbouring weight matrices, so no two weights can ever be multiplied once for the whole batch:
every product in every bracketing has an S between its factors and is done for each of the N
inputs. Multiplying an (a×b) by a (b×c) factor costs N·a·b·c multiply-adds in any bracketing, the
S between them is folded into one factor by broadcasting (never a diagonal matrix): b·min(a, c)
multiplies per input, into whichever factor is smaller. Every term of the cost is proportional to
N, so the best bracketing does not depend on the batch: the plan is cached per (L, D, K, P) and
serves every N (and a single (D,) input).

Cost per input, in multiply-adds (``chain_cost``): the primal K·D + (L-1)·K² (y is never formed),
plus the bracketing's products Σ a·b·c and its scalings Σ b·min(a, c), both as small as the
programme can make them; never more than the better of forward and reverse mode, with which it
coincides when one of them is optimal (and then simply calls it). Memory: L·K stored activations
per input plus the partial products alive at once (``ChainPlan.held``).

Pure arithmetic on the shape: no torch. ``jacbench.modes.chain`` runs the plan's program.

>>> chain_plan(4, 64, 8, 64).kind  # K < min(D, P): the K×K middle first
'mixed'
>>> chain_plan(4, 64, 8, 64).describe()
'W_F S_4 (((W_4 S_3 W_3) S_2 W_2) S_1 W_1)'
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from jacbench.theory.chain_program import AS_IS, TRANSPOSE, TRANSPOSED, Instruction, ProgramBuilder
from jacbench.theory.chain_table import chain_table

__all__ = ["ChainPlan", "chain_cost", "chain_plan"]

@dataclass(frozen=True)
class ChainPlan:
    """The cheapest bracketing of the chain for one (L, D, K, P), compiled to torch calls.

    ``tree`` nests pairs of weight indices (0 = W_1, ..., L = W_F): (left, right) is the product
    left · S · right. ``program`` is the straight-line list of instructions that evaluates it;
    slots 0..L hold the weights, the rest partial products. Costs and sizes are per input; the
    scaled copies S ⊙ Z are left out of ``handed_on`` and ``held`` (a fused kernel would keep
    them in registers), as in ``jacbench.theory.cost``.
    """

    L: int
    D: int
    K: int
    P: int
    tree: int | tuple
    kind: str  # "forward", "reverse" or "mixed"
    matmul_macs: int  # the Jacobian's products, primal excluded
    elementwise_macs: int  # elements multiplied by act'(h)
    handed_on: int  # elements of the partial products one product hands to a later one
    held: int  # most elements of partial products alive at once (a product and its operands)
    transposes: int  # transpose views the program needs
    program: tuple[Instruction, ...]
    slots: int
    root: int

    def describe(self) -> str:
        """The bracketing in the maths' names, e.g. ``W_F S_3 ((W_3 S_2 W_2) S_1 W_1)``."""
        names = [f"W_{m + 1}" for m in range(self.L)] + ["W_F"]
        parts: list[str] = []
        stack: list[str | tuple[int | tuple, bool]] = [(self.tree, True)]
        while stack:  # no recursion: a plan may be 10^5 products deep
            item = stack.pop()
            if isinstance(item, str):
                parts.append(item)
                continue
            node, outer = item
            if isinstance(node, int):
                parts.append(names[node])
                continue
            left, right = node
            parts.append("" if outer else "(")
            stack += ["" if outer else ")", (right, False), f" S_{_lowest(left)} ", (left, False)]
        return "".join(parts)


def _lowest(node: int | tuple) -> int:
    """The 0-based index m of a subtree's lowest weight: the S on its right is S_m (1-based)."""
    while not isinstance(node, int):
        node = node[1]
    return node


@functools.lru_cache(maxsize=256)
def chain_plan(L: int, D: int, K: int, P: int) -> ChainPlan:
    """The matrix-chain dynamic programme over W_F S_L W_L ... S_1 W_1, compiled.

    The cell of W_j S ... S W_i (0-based weights, W_L = W_F) holds, for each orientation o, the
    cheapest way to form it stored in o as (multiply-adds, transpose views): multiply-adds first
    (products plus scalings), then the fewest views, then the lowest split. A single weight is a
    leaf, stored as is. ``chain_table`` fills it bottom-up in O(L), so any depth plans in
    seconds; the program is built without recursion. The batch does not enter (see the module
    docstring).
    """
    for name, value in (("L", L), ("D", D), ("K", K), ("P", P)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return _compile(L, D, K, P, chain_table(L, D, K, P))


def _compile(L: int, D: int, K: int, P: int, cell: Callable[[int, int], list]) -> ChainPlan:
    """Turn the programme's table (``cell(i, j)``) into a tree, a kind and a program."""
    root_cell = cell(0, L)
    # Finish as is; a transposed result costs one more view at the end.
    candidates = [(root_cell[AS_IS][0], AS_IS)] if root_cell[AS_IS] else []
    if root_cell[TRANSPOSED]:
        macs, views = root_cell[TRANSPOSED][0]
        candidates.append(((macs, views + 1), TRANSPOSED))
    (_, views), orientation = min(candidates)
    compiler = ProgramBuilder(L, D, K, P, cell)
    tree, root = compiler.build(0, L, orientation)
    if orientation == TRANSPOSED:
        out = compiler.fresh()
        compiler.program.append((TRANSPOSE, out, root, 0))
        root = out
    return ChainPlan(
        L=L, D=D, K=K, P=P, tree=tree, kind=compiler.kind(tree),
        matmul_macs=compiler.matmul_macs, elementwise_macs=compiler.elementwise_macs,
        handed_on=compiler.handed_on, held=compiler.held, transposes=views,
        program=tuple(compiler.program), slots=compiler.top, root=root,
    )


def chain_cost(L: int, D: int, K: int, P: int, batch: int = 1) -> tuple[int, int]:
    """(matmul multiply-adds, elementwise multiplies) of one ``chain_jacobian`` call on ``batch``.

    Exactly what the implementation does: batch · (K·D + (L-1)·K² + the plan's products) in
    matrix products (the primal without y, then the bracketing's Σ a·b·c), and
    batch · (the plan's Σ b·min(a, c)) elements multiplied by act'(h). A single (D,) input
    counts as batch 1. Equals the forward or reverse mode's count when the plan is that mode.
    """
    plan = chain_plan(L, D, K, P)
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise ValueError(f"batch must be a positive integer, got {batch!r}")
    primal = K * D + (L - 1) * K * K
    return batch * (primal + plan.matmul_macs), batch * plan.elementwise_macs
