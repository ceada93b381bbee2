"""How a bracketing of the Jacobian's matrix chain becomes a straight-line program of calls.

``jacbench.theory.chain_plan`` chooses the bracketing; this module emits, for each product
Z = X S Y it contains, the few instructions (scale, matmul, linear, transpose view) that form it,
and walks the chosen tree into one program with slots reused as partial products are consumed.
Pure Python: ``jacbench.modes.chain`` runs the program with torch.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

__all__ = ["LINEAR", "MATMUL", "SCALE", "TRANSPOSE", "TRANSPOSE_VIEWS", "Instruction",
           "ProgramBuilder"]

# A partial product Z is stored as it is (AS_IS) or transposed (TRANSPOSED). The orientation
# matters only for the number of transpose views a bracketing needs: S scales the last axis of
# a stored tensor, ``linear`` multiplies by a weight's transpose for free, and ``matmul`` wants
# its operands as they are.
AS_IS, TRANSPOSED = 0, 1
# Fold S into the left factor (scale its columns) or into the right factor (scale its rows).
LEFT, RIGHT = 0, 1
# The instructions of a compiled plan; each is one torch call.
SCALE, MATMUL, LINEAR, TRANSPOSE = "scale", "matmul", "linear", "transpose"

Instruction = tuple[str, int, int, int]  # (op, out slot, operand slot, operand slot or S index)


def _combine(
    fold: int,
    stored_x: int,
    stored_y: int,
    form: int,
    x_is_leaf: bool,
    x: int,
    y: int,
    k: int,
    fresh: Callable[[], int],
) -> tuple[list[Instruction], int]:
    """Instructions for Z = X S Y, S = diag(act'(h_{k+1})), from X and Y stored as given.

    ``form`` AS_IS computes Z = X·Y, TRANSPOSED computes Zᵀ = Yᵀ·Xᵀ. S scales X's columns
    (fold LEFT: X must be as is, since S scales a tensor's last axis) or Y's rows (fold RIGHT: Y
    transposed). A weight that is not scaled and is needed transposed costs nothing as the
    second operand of ``linear`` (which computes A·Bᵀ); every other mismatch costs one transpose
    view. Returns the instructions and the slot of the result; ``fresh()`` hands out slots.
    """
    program: list[Instruction] = []

    def transpose(slot: int) -> int:
        out = fresh()
        program.append((TRANSPOSE, out, slot, 0))
        return out

    def scale(slot: int) -> int:
        out = fresh()
        program.append((SCALE, out, slot, k))
        return out

    if fold == LEFT:
        x = scale(x if stored_x == AS_IS else transpose(x))
        stored_x = AS_IS
    else:
        y = scale(y if stored_y == TRANSPOSED else transpose(y))
        stored_y = TRANSPOSED
    out = fresh()
    if form == AS_IS:  # Z = X·Y
        first = x if stored_x == AS_IS else transpose(x)
        second = y if stored_y == AS_IS else transpose(y)
        program.append((MATMUL, out, first, second))
    else:  # Zᵀ = Yᵀ·Xᵀ
        first = y if stored_y == TRANSPOSED else transpose(y)
        if stored_x == TRANSPOSED:
            program.append((MATMUL, out, first, x))
        elif x_is_leaf and fold == RIGHT:  # an unscaled weight: linear(A, W) = A Wᵀ
            program.append((LINEAR, out, first, x))
        else:
            program.append((MATMUL, out, first, transpose(x)))
    return program, out


def _transposes_needed(fold: int, sx: int, sy: int, form: int, x_is_leaf: bool) -> int:
    counter = iter(range(8))
    program, _ = _combine(fold, sx, sy, form, x_is_leaf, -1, -2, 0, lambda: next(counter))
    return sum(op == TRANSPOSE for op, *_ in program)


# Transpose views of every way to combine two factors, from the one function that emits them.
TRANSPOSE_VIEWS = {
    args: _transposes_needed(*args)
    for args in itertools.product((LEFT, RIGHT), (AS_IS, TRANSPOSED), (AS_IS, TRANSPOSED),
                                  (AS_IS, TRANSPOSED), (False, True))
}


class ProgramBuilder:
    """Walks the programme's table (``cell(i, j)``) from the root, emitting the program.

    Tracks what the plan costs (products, scalings) and holds (partial products handed on, and
    the most alive at once), and hands out slots, reusing those of consumed partial products.
    """

    def __init__(self, L: int, D: int, K: int, P: int,
                 cell: Callable[[int, int], list]) -> None:
        self.n = L + 1
        self.d = (D,) + (K,) * L + (P,)
        self.cell = cell
        self.program: list[Instruction] = []
        self.free: list[int] = []  # slots of consumed partial products
        self.top = self.n  # next never-used slot; 0..L are the weights
        self.matmul_macs = self.elementwise_macs = 0
        self.handed_on = self.alive = self.held = 0
        self.folds: list[int] = []

    def fresh(self) -> int:
        if self.free:
            return self.free.pop()
        self.top += 1
        return self.top - 1

    def build(self, i: int, j: int, o: int) -> tuple[int | tuple, int]:
        """(tree, result slot) of W_j S ... S W_i stored in orientation o.

        Post-order (the left part, the right part, then their product), walked with a stack
        rather than recursion, so that a plan of any depth compiles."""
        stack: list[tuple] = [(i, j, o)]
        done: list[tuple[int | tuple, int]] = []  # (tree, slot) of the parts made so far
        while stack:
            frame = stack.pop()
            if len(frame) == 3:
                i, j, o = frame
                if i == j:
                    done.append((i, i))
                    continue
                split, fold, sx, sy, matmul, scalings = self.cell(i, j)[o][1]
                k = i + split
                self.matmul_macs += matmul
                self.elementwise_macs += scalings
                self.folds.append(fold)
                stack += [(i, j, o, k, fold, sx, sy), (i, k, sy), (k + 1, j, sx)]
                continue
            right_tree, y = done.pop()
            left_tree, x = done.pop()
            done.append(((left_tree, right_tree), self._product(*frame, x, y)))
        return done.pop()

    def _product(self, i: int, j: int, o: int, k: int, fold: int, sx: int, sy: int,
                 x: int, y: int) -> int:
        """Emit Z = X S Y from the slots of its parts; its slot."""
        steps, out = _combine(fold, sx, sy, o, k + 1 == j, x, y, k, self.fresh)
        self._account(i, j, k)
        for op, dst, a, b in steps:  # each partial product is read once: free its slot after
            self.program.append((op, dst, a, b))
            for slot in (a, b) if op in (MATMUL, LINEAR) else (a,):
                if slot >= self.n and slot != dst:
                    self.free.append(slot)
        return out

    def _account(self, i: int, j: int, k: int) -> None:
        """Memory of the product W_j..W_i made from W_j..W_{k+1} and W_k..W_i, per input."""
        d = self.d
        size = d[j + 1] * d[i]
        self.handed_on += size if (i, j) != (0, self.n - 1) else 0
        self.alive += size
        self.held = max(self.held, self.alive)  # its operands are still alive while it is made
        self.alive -= (d[j + 1] * d[k + 1] if k + 1 < j else 0) + (d[k + 1] * d[i] if i < k else 0)

    def kind(self, tree: int | tuple) -> str:
        if _is_comb(tree, side=1) and all(f == RIGHT for f in self.folds):
            return "forward"
        if _is_comb(tree, side=0) and all(f == LEFT for f in self.folds):
            return "reverse"
        return "mixed"


def _is_comb(tree: int | tuple, side: int) -> bool:
    """Whether every product has a single weight on the other side (a pure left/right sweep)."""
    while not isinstance(tree, int):
        if not isinstance(tree[1 - side], int):
            return False
        tree = tree[side]
    return True
