"""Triton kernels for the hand-written Jacobians: what the eager modes launch separately, fused.

Two kinds, both computing the algorithms of ``jacbench.modes.handwritten`` exactly (the same
products, the scalings by act'(h) written from the activation output a = act(h)):

- **Whole network, one launch** (``forward_network_kernel``, ``reverse_network_kernel``): one
  program per input runs every layer in registers. Forward pushes the D tangent rows Tᵀ (D×K)
  through the layers with the primal h beside them; reverse runs the primal, keeping each a_i in
  a scratch row of its own, then pulls the P adjoint rows back. The weights come packed, each
  padded to powers of two of at least 16 (``tl.dot``'s smallest tile), zeros outside the model:
  a padded unit has h = 0 and a zero weight row and column, so it adds nothing. For small shapes
  (every padded size at most ``jacbench.modes.triton_modes.NETWORK_MAX``).
- **One layer, one launch** (``layer_kernel``): out[n] = (U[n] @ M) ⊙ act'(·)[None, :] for a
  block of rows of one input's tangent or adjoint U[n] and a block of M's columns, the scaling in
  the epilogue. Forward computes the next primal h = M-product of a[n] in the same loop over the
  inner size and scales by act'(h) (``EPILOGUE`` = 1, also writing act(h)); reverse scales by
  act'(·) of a stored activation (``EPILOGUE`` = 2); the Jacobian's own product scales nothing
  (0). ``IDENTITY_IN`` stands an identity for U (the first layer: T_1ᵀ = I W_1ᵀ, A_L = I W_F).
  ``primal_kernel`` is reverse mode's forward pass: act(A Wᵀ + b) over a block of inputs.

Activations by code (``ACT``): 0 tanh, 1 sigmoid, 2 relu; the derivative from the output as in
``jacbench.model.activations`` (tanh' = 1 - a², sigmoid' = a(1 - a), relu' = [a > 0]).
``PRECISION`` is ``tl.dot``'s input precision: "ieee" keeps float32 products float32 (a GPU's
default would be TF32).

Under ``TRITON_INTERPRET=1`` triton turns these into Python run on CPU tensors, which is how the
tests check them; ``jacbench.modes.triton_modes`` reloads this module when that switch changes.
"""

from __future__ import annotations

import triton
import triton.language as tl

__all__ = ["ACTIVATION_CODES", "INTERPRETED", "forward_network_kernel", "layer_kernel",
           "primal_kernel", "reverse_network_kernel"]

ACTIVATION_CODES = {"tanh": 0, "sigmoid": 1, "relu": 2}
#: Whether these kernels were built for triton's CPU interpreter (read once, at import).
INTERPRETED: bool = bool(triton.knobs.runtime.interpret)


@triton.jit
def _add(a, b):
    return a + b


@triton.jit
def _sum(x, axis: tl.constexpr):
    """``tl.sum``, written here: triton's library functions (``tl.sum``, ``tl.sigmoid``,
    ``tl.zeros``...) are built once, when triton is imported, so an interpreter switched on after
    that import cannot run them; these kernels use triton's builtins and their own helpers only."""
    return tl.reduce(x, axis, _add)


@triton.jit
def _act(h, ACT: tl.constexpr):
    if ACT == 0:  # tanh(h) = 1 - 2 / (exp(2h) + 1): exact limits ±1 where exp overflows
        return 1.0 - 2.0 / (tl.exp(2.0 * h) + 1.0)
    elif ACT == 1:  # sigmoid (``tl.sigmoid`` is a library function: see ``_sum``)
        return 1.0 / (1.0 + tl.exp(-h))
    else:
        return tl.maximum(h, 0.0)


@triton.jit
def _slope(a, ACT: tl.constexpr):
    """act'(h) from a = act(h)."""
    if ACT == 0:
        return 1.0 - a * a
    elif ACT == 1:
        return a * (1.0 - a)
    else:
        return tl.where(a > 0.0, 1.0, 0.0)


@triton.jit
def forward_network_kernel(x_ptr, w_ptr, b_ptr, j_ptr, D, P, L, stride_x, stride_j,
                           DP: tl.constexpr, KP: tl.constexpr, PP: tl.constexpr,
                           ACT: tl.constexpr, HAS_BIAS: tl.constexpr, PRECISION: tl.constexpr):
    """Jᵀ[n] (D×P) for input n. ``w_ptr``: W_1ᵀ (DP×KP), W_2ᵀ..W_Lᵀ (KP×KP), W_Fᵀ (KP×PP),
    packed one after the other; ``b_ptr``: b_1..b_L (KP each); J stored (N, P, D)."""
    n = tl.program_id(0)
    rd, rk, rp = tl.arange(0, DP), tl.arange(0, KP), tl.arange(0, PP)
    x = tl.load(x_ptr + n * stride_x + rd, mask=rd < D, other=0.0)
    tangent = tl.load(w_ptr + rd[:, None] * KP + rk[None, :])  # T_1ᵀ = W_1ᵀ
    h = _sum(tangent * x[:, None], axis=0)
    if HAS_BIAS:
        h += tl.load(b_ptr + rk)
    for i in range(1, L):
        a = _act(h, ACT)
        w_t = tl.load(w_ptr + DP * KP + (i - 1) * KP * KP + rk[:, None] * KP + rk[None, :])
        tangent = tl.dot(tangent * _slope(a, ACT)[None, :], w_t, input_precision=PRECISION)
        h = _sum(w_t * a[:, None], axis=0)
        if HAS_BIAS:
            h += tl.load(b_ptr + i * KP + rk)
    a = _act(h, ACT)
    w_t = tl.load(w_ptr + DP * KP + (L - 1) * KP * KP + rk[:, None] * PP + rp[None, :])
    j_t = tl.dot(tangent * _slope(a, ACT)[None, :], w_t, input_precision=PRECISION)
    where = j_ptr + n * stride_j + rp[None, :] * D + rd[:, None]
    tl.store(where, j_t, mask=(rd[:, None] < D) & (rp[None, :] < P))


@triton.jit
def reverse_network_kernel(x_ptr, w_ptr, b_ptr, acts_ptr, j_ptr, D, P, L, stride_x, stride_j,
                           DP: tl.constexpr, KP: tl.constexpr, PP: tl.constexpr,
                           ACT: tl.constexpr, HAS_BIAS: tl.constexpr, PRECISION: tl.constexpr):
    """J[n] (P×D) for input n. ``w_ptr``: W_1 (KP×DP), W_2..W_L (KP×KP), W_F (PP×KP) packed;
    ``acts_ptr``: a scratch (N, L, KP) for a_1..a_L."""
    n = tl.program_id(0)
    rd, rk, rp = tl.arange(0, DP), tl.arange(0, KP), tl.arange(0, PP)
    acts = acts_ptr + n * L * KP
    x = tl.load(x_ptr + n * stride_x + rd, mask=rd < D, other=0.0)
    h = _sum(tl.load(w_ptr + rk[:, None] * DP + rd[None, :]) * x[None, :], axis=1)
    for i in range(1, L + 1):
        if HAS_BIAS:
            h += tl.load(b_ptr + (i - 1) * KP + rk)
        a = _act(h, ACT)
        tl.store(acts + (i - 1) * KP + rk, a)
        if i < L:
            w = tl.load(w_ptr + KP * DP + (i - 1) * KP * KP + rk[:, None] * KP + rk[None, :])
            h = _sum(w * a[None, :], axis=1)
    tl.debug_barrier()  # every a_i written before any thread reads one back
    adjoint = tl.load(w_ptr + KP * DP + (L - 1) * KP * KP + rp[:, None] * KP + rk[None, :])
    for j in range(1, L):  # layers L..2: A <- (A ⊙ s_i) W_i
        i = L - j
        w = tl.load(w_ptr + KP * DP + (i - 1) * KP * KP + rk[:, None] * KP + rk[None, :])
        s = _slope(tl.load(acts + i * KP + rk), ACT)
        adjoint = tl.dot(adjoint * s[None, :], w, input_precision=PRECISION)
    s = _slope(tl.load(acts + rk), ACT)
    w = tl.load(w_ptr + rk[:, None] * DP + rd[None, :])
    jac = tl.dot(adjoint * s[None, :], w, input_precision=PRECISION)
    where = j_ptr + n * stride_j + rp[:, None] * D + rd[None, :]
    tl.store(where, jac, mask=(rp[:, None] < P) & (rd[None, :] < D))


@triton.jit
def layer_kernel(u_ptr, m_ptr, a_ptr, b_ptr, out_ptr, a_out_ptr, R, KIN, KOUT,
                 stride_un, stride_ur, stride_mk, stride_mj, stride_an, stride_on, stride_or,
                 stride_aon, ACT: tl.constexpr, IDENTITY_IN: tl.constexpr,
                 EPILOGUE: tl.constexpr, HAS_BIAS: tl.constexpr, BLOCK_R: tl.constexpr,
                 BLOCK_J: tl.constexpr, BLOCK_K: tl.constexpr, PRECISION: tl.constexpr):
    """out[n, rows, cols] = (U[n] @ M)[rows, cols], scaled per ``EPILOGUE``; grid (N, R-blocks,
    KOUT-blocks). Forward (1): also h = a[n] @ M + b, a_out[n] = act(h), scaling by act'(h)."""
    n, pid_r = tl.program_id(0), tl.program_id(1)
    rows = pid_r * BLOCK_R + tl.arange(0, BLOCK_R)
    cols = tl.program_id(2) * BLOCK_J + tl.arange(0, BLOCK_J)
    acc = tl.full((BLOCK_R, BLOCK_J), 0.0, tl.float32)
    h = tl.full((BLOCK_J,), 0.0, tl.float32)
    for k0 in range(0, KIN, BLOCK_K):
        ks = k0 + tl.arange(0, BLOCK_K)
        m = tl.load(m_ptr + ks[:, None] * stride_mk + cols[None, :] * stride_mj,
                    mask=(ks[:, None] < KIN) & (cols[None, :] < KOUT), other=0.0)
        if IDENTITY_IN:
            u = tl.where(rows[:, None] == ks[None, :], 1.0, 0.0)
        else:
            u = tl.load(u_ptr + n * stride_un + rows[:, None] * stride_ur + ks[None, :],
                        mask=(rows[:, None] < R) & (ks[None, :] < KIN), other=0.0)
        acc = tl.dot(u, m, acc, input_precision=PRECISION)
        if EPILOGUE == 1:
            a = tl.load(a_ptr + n * stride_an + ks, mask=ks < KIN, other=0.0)
            h += _sum(a[:, None] * m, axis=0)
    if EPILOGUE == 1:
        if HAS_BIAS:
            h += tl.load(b_ptr + cols, mask=cols < KOUT, other=0.0)
        a_next = _act(h, ACT)
        if pid_r == 0:
            tl.store(a_out_ptr + n * stride_aon + cols, a_next, mask=cols < KOUT)
        acc = acc * _slope(a_next, ACT)[None, :]
    if EPILOGUE == 2:
        a = tl.load(a_ptr + n * stride_an + cols, mask=cols < KOUT, other=0.0)
        acc = acc * _slope(a, ACT)[None, :]
    where = out_ptr + n * stride_on + rows[:, None] * stride_or + cols[None, :]
    tl.store(where, acc, mask=(rows[:, None] < R) & (cols[None, :] < KOUT))


@triton.jit
def primal_kernel(a_ptr, w_ptr, b_ptr, out_ptr, M, KIN, KOUT, stride_am, stride_wj, stride_wk,
                  stride_om, ACT: tl.constexpr, HAS_BIAS: tl.constexpr, BLOCK_M: tl.constexpr,
                  BLOCK_J: tl.constexpr, BLOCK_K: tl.constexpr, PRECISION: tl.constexpr):
    """out = act(A Wᵀ + b) for a block of rows of A (M×KIN) and of W's rows (W: KOUT×KIN)."""
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tl.program_id(1) * BLOCK_J + tl.arange(0, BLOCK_J)
    acc = tl.full((BLOCK_M, BLOCK_J), 0.0, tl.float32)
    for k0 in range(0, KIN, BLOCK_K):
        ks = k0 + tl.arange(0, BLOCK_K)
        a = tl.load(a_ptr + rows[:, None] * stride_am + ks[None, :],
                    mask=(rows[:, None] < M) & (ks[None, :] < KIN), other=0.0)
        w_t = tl.load(w_ptr + ks[:, None] * stride_wk + cols[None, :] * stride_wj,
                      mask=(ks[:, None] < KIN) & (cols[None, :] < KOUT), other=0.0)
        acc = tl.dot(a, w_t, acc, input_precision=PRECISION)
    if HAS_BIAS:
        acc += tl.load(b_ptr + cols, mask=cols < KOUT, other=0.0)[None, :]
    where = out_ptr + rows[:, None] * stride_om + cols[None, :]
    tl.store(where, _act(acc, ACT), mask=(rows[:, None] < M) & (cols[None, :] < KOUT))
