"""The matrix-chain dynamic programme's table, filled bottom-up in O(L) at any depth.

The chain W_F S_L W_L ... S_1 W_1 has dims d = (D, K, ..., K, P): every inner dim is K, so a
cell W_j S ... S W_i depends only on its outer dims (d[i], d[j+1]) and its length j - i. There
are four families: the K×K middle, the middle with W_1 (cols D), with W_F (rows P), and the
whole chain (the root, the only cell holding both W_1 and W_F).

Why peeling one weight off either end is enough below the root. In the K×K middle every
bracketing costs the same multiply-adds (each of its j - i products is K·K·K plus K·K
scalings). In the middle with W_1, the products whose right factor holds W_1 are the t
ancestors of that leaf, each K·K·D plus K·min(K, D) scalings, the other products K³ + K²: the
cost is linear in t, so t = j - i (peel the top weight: forward) or t = 1 (peel W_1: collapse
the middle first) is optimal; the same for W_F. So these cells try two splits, and only the
root tries every split: O(L) cells and O(L) work in all, where the classic programme is O(L²)
(23 s at L = 1200 in pure Python). Ties are broken as there: fewest transpose views, then the
lowest split. ``exhaustive_table`` is the classic programme over every split, kept as the
reference the tests hold this one to at small L.

A cell holds, for each orientation o (``AS_IS``, ``TRANSPOSED``), ``((macs, views), (k - i,
fold, sx, sy, matmul, scalings))`` of its cheapest way to be stored in o, or None. Pure
arithmetic: no torch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from jacbench.theory.chain_program import AS_IS, LEFT, RIGHT, TRANSPOSE_VIEWS, TRANSPOSED

__all__ = ["Cell", "chain_table", "exhaustive_table"]

Cell = list  # [entry for AS_IS or None, entry for TRANSPOSED or None]
Table = dict[tuple[int, int, int], Cell]


# TRANSPOSE_VIEWS as nested lists, [fold][sx][sy][leaf] -> (views as is, views transposed):
# the programme looks it up 16 times a split, 10^5 splits deep.
_VIEWS = [[[[tuple(TRANSPOSE_VIEWS[fold, sx, sy, form, leaf] for form in (AS_IS, TRANSPOSED))
             for leaf in (False, True)] for sy in (AS_IS, TRANSPOSED)]
           for sx in (AS_IS, TRANSPOSED)] for fold in (LEFT, RIGHT)]


def _solve(table: Table, d: tuple[int, ...], i: int, j: int, splits: Iterable[int]) -> Cell:
    """The cell of W_j S ... S W_i from the cells of its parts, over ``splits``."""
    cell: Cell = [None, None]
    best = [None, None]  # (macs, views) of cell's entries, as keys
    for k in splits:  # left = W_j..W_{k+1}, right = W_k..W_i, S_{k+1} between
        lefts = [(s, e[0]) for s, e in enumerate(table[d[k + 1], d[j + 1], j - k - 1]) if e]
        rights = [(s, e[0]) for s, e in enumerate(table[d[i], d[k + 1], k - i]) if e]
        rows, mid, cols = d[j + 1], d[k + 1], d[i]
        matmul = rows * mid * cols
        floor = (min(e[0] for _, e in lefts) + min(e[0] for _, e in rights)
                 + matmul + mid * min(rows, cols))
        if best[0] is not None and best[1] is not None and max(best)[0] < floor:
            continue  # no orientation of this split can win: skip the inner loops
        leaf = k + 1 == j
        for fold, scalings in ((LEFT, rows * mid), (RIGHT, mid * cols)):
            views_of = _VIEWS[fold]
            for sx, (lmacs, lviews) in lefts:
                for sy, (rmacs, rviews) in rights:
                    macs = lmacs + rmacs + matmul + scalings
                    for form, extra in enumerate(views_of[sx][sy][leaf]):
                        key = (macs, lviews + rviews + extra)
                        if best[form] is None or key < best[form]:
                            best[form] = key
                            cell[form] = (key, (k - i, fold, sx, sy, matmul, scalings))
    return cell


def _fill(L: int, D: int, K: int, P: int,
          splits: Callable[[int, int], Iterable[int]]) -> Callable[[int, int], Cell]:
    """The table bottom-up, by length, one representative (i, j) per distinct signature."""
    d = (D,) + (K,) * L + (P,)
    n = L + 1
    table: Table = {}
    for length in range(1, n + 1):
        for i in sorted({0, 1, n - length}):
            if i > n - length:
                continue
            j = i + length - 1
            signature = (d[i], d[j + 1], j - i)
            if signature in table:
                continue
            table[signature] = ([((0, 0), ()), None] if i == j  # a weight is stored as is
                                else _solve(table, d, i, j, splits(i, j)))
    return lambda i, j: table[d[i], d[j + 1], j - i]


def chain_table(L: int, D: int, K: int, P: int) -> Callable[[int, int], Cell]:
    """``cell(i, j)`` of the programme, in O(L): every split at the root, the two end peels
    (k = i, k = j - 1) below it (see the module docstring for why that loses nothing)."""
    def splits(i: int, j: int) -> Iterable[int]:
        return range(i, j) if (i, j) == (0, L) else sorted({i, j - 1})

    return _fill(L, D, K, P, splits)


def exhaustive_table(L: int, D: int, K: int, P: int) -> Callable[[int, int], Cell]:
    """``cell(i, j)`` of the classic programme over every split (O(L²)): the tests' reference."""
    return _fill(L, D, K, P, range)
