"""Triton modes: ``forward-triton`` and ``reverse-triton``, the hand-written algorithms with what
the eager modes launch separately fused into as few kernels as the shape allows.

On a GPU an eager layer is four launches (the primal product, the activation, the scaling by
act'(h), the tangent or adjoint product), about 10 us each on an H200 whatever the work: the
course's small config (L=10, D=2, K=30, P=10) is then ~600 us of launches for a few microseconds
of arithmetic. Here:

- every padded size (D, K, P each rounded up to a power of two, at least 16) at most
  ``NETWORK_MAX``: **one launch** for the whole Jacobian (``triton_kernels`` network kernels,
  one program per input, every layer in registers);
- larger: **one launch per layer** (L + 1 in all; reverse adds L for its forward pass), each a
  product whose epilogue does the activation and the scaling (``layer_kernel``).

The multiply-adds are those of ``forward``/``reverse`` (the identity products of the first
layer aside: D·D·K or P·P·K per input, on the padded tiles). CUDA, float32: true float32
products (``tl.dot`` with ``input_precision="ieee"``) where torch's float32 matmul precision is
"highest", as the runner sets it for a float32 point, TF32 otherwise (``dot_precision``). On the
CPU the modes are unavailable unless
triton's interpreter is on (``TRITON_INTERPRET=1``), which the tests use; triton itself is the
optional extra ``jacbench[triton]``. Nothing here has yet run on a real GPU: block sizes,
``NETWORK_MAX`` and warps are first guesses for ``benchmarks/test_bench_triton.py`` to settle.

>>> import torch, jacbench
>>> net = jacbench.MLP.random(L=3, D=2, K=8, P=4, device="cuda")  # doctest: +SKIP
>>> jacbench.jacobian(net, torch.zeros(5, 2, device="cuda"), mode="reverse-triton").shape
... # doctest: +SKIP
torch.Size([5, 4, 2])
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from types import ModuleType

import torch

from jacbench.model.mlp import MLP
from jacbench.modes.prepared import ModeUnavailable, Prepared

__all__ = ["BLOCK_K", "NETWORK_MAX", "dot_precision", "interpreting", "kernels", "layer",
           "network_warps", "padded", "prepare_triton", "primal", "triton_jacobian"]

#: The whole network runs as one launch where every padded size is at most this.
NETWORK_MAX = 64
#: The layer kernel's inner block; its row and column blocks follow the sizes, up to 64.
BLOCK_K = 32
_BLOCK_MAX = 64
_DTYPES = (torch.float32,)
#: Compiler options of every launch: fused multiply-adds, said outright (triton 3.9 warns when it
#: is left to its default, which changes in 3.10).
_OPTIONS = {"enable_fp_fusion": True}


def padded(n: int) -> int:
    """n rounded up to a power of two, at least 16 (``tl.dot``'s smallest tile)."""
    return max(16, 1 << (n - 1).bit_length())


def _import_triton() -> ModuleType:
    try:
        return importlib.import_module("triton")
    except ImportError as exc:
        raise ModeUnavailable(f"triton is not installed (pip install 'jacbench[triton]'): "
                              f"{exc}") from None


def kernels() -> ModuleType:
    """``triton_kernels``, built for the interpreter when ``TRITON_INTERPRET`` is on now and for
    the GPU otherwise (triton reads the switch once, when a kernel is defined)."""
    interpret = bool(_import_triton().knobs.runtime.interpret)
    from jacbench.modes import triton_kernels
    if interpret != triton_kernels.INTERPRETED:
        triton_kernels = importlib.reload(triton_kernels)
    return triton_kernels


def interpreting() -> bool:
    """Whether triton's CPU interpreter is switched on (``TRITON_INTERPRET``, as triton reads it),
    asked without importing triton (a second's import where the answer is "unavailable")."""
    return os.environ.get("TRITON_INTERPRET", "").strip().lower() in ("1", "true", "on", "yes")


def _check(net: MLP) -> ModuleType:
    """The kernels, or ModeUnavailable with the reason these modes cannot run ``net``."""
    if net.device.type != "cuda" and not (interpreting() and net.device.type == "cpu"):
        raise ModeUnavailable(f"the triton modes run on CUDA (on the CPU only under "
                              f"TRITON_INTERPRET=1), not on {net.device}")
    if net.dtype not in _DTYPES:
        raise ModeUnavailable(f"the triton modes take float32, not {net.dtype}")
    return kernels()


def dot_precision() -> str:
    """``tl.dot``'s input precision for float32, as torch's own products are set for it (the
    runner sets "highest" for a float32 point): "ieee" (true float32), else "tf32"."""
    return "ieee" if torch.get_float32_matmul_precision() == "highest" else "tf32"


def network_warps(*padded_sizes: int) -> int:
    """Warps of a network kernel: 8 from a padded size of 64 (with 4, every size at 64 spilled
    ~460 bytes a thread in sm_90 code, triton 3.9's compiler), 4 below."""
    return 4 if max(padded_sizes) <= 32 else 8


def _block(n: int) -> int:
    return min(padded(n), _BLOCK_MAX)


def _biases(net: MLP) -> torch.Tensor | None:
    """b_1..b_L padded to (L, KP), or None."""
    if net.biases is None:
        return None
    packed = net.weights[0].new_zeros(net.L, padded(net.K))
    for i, b in enumerate(net.biases[:-1]):
        packed[i, :net.K] = b
    return packed


def _pack(net: MLP, transposed: bool) -> torch.Tensor:
    """The weights padded and laid one after the other: Wᵢᵀ for forward, Wᵢ for reverse."""
    blocks = []
    for W in net.weights:
        M = W.T if transposed else W
        block = W.new_zeros(padded(M.shape[0]), padded(M.shape[1]))
        block[:M.shape[0], :M.shape[1]] = M
        blocks.append(block.reshape(-1))
    return torch.cat(blocks)


def _network_call(net: MLP, xs: torch.Tensor, algorithm: str) -> Callable[[], torch.Tensor]:
    """The whole Jacobian as one launch, weights packed now (once per preparation)."""
    k = _check(net)
    N, (L, D, K, P) = xs.shape[0], (net.L, net.D, net.K, net.P)
    weights, biases = _pack(net, transposed=algorithm == "forward"), _biases(net)
    bias_arg = weights if biases is None else biases
    sizes = {"DP": padded(D), "KP": padded(K), "PP": padded(P)}
    options = {**sizes, "ACT": k.ACTIVATION_CODES[net.activation], "HAS_BIAS": biases is not None,
               "PRECISION": dot_precision(), "num_warps": network_warps(*sizes.values()),
               **_OPTIONS}
    out = xs.new_empty(N, P, D)
    if algorithm == "forward":
        kernel, args = k.forward_network_kernel, (xs, weights, bias_arg, out)
    else:
        acts = xs.new_empty(N, L, sizes["KP"])
        kernel, args = k.reverse_network_kernel, (xs, weights, bias_arg, acts, out)

    def call() -> torch.Tensor:
        kernel[(N,)](*args, D, P, L, xs.stride(0), out.stride(0), **options)
        return out

    return call


def layer(k: ModuleType, u: torch.Tensor | None, m: torch.Tensor, out: torch.Tensor, act: int,
           epilogue: int, a: torch.Tensor | None = None, b: torch.Tensor | None = None,
           a_out: torch.Tensor | None = None, precision: str = "ieee") -> None:
    """One ``layer_kernel`` launch: out[n] = (U[n] @ m) with ``epilogue``; U None: identity."""
    N, R, KOUT = out.shape
    KIN = m.shape[0]
    BR, BJ = _block(R), _block(KOUT)
    grid = (N, -(-R // BR), -(-KOUT // BJ))
    dummy = out
    k.layer_kernel[grid](
        dummy if u is None else u, m, dummy if a is None else a, dummy if b is None else b, out,
        dummy if a_out is None else a_out, R, KIN, KOUT,
        0 if u is None else u.stride(0), 0 if u is None else u.stride(1), m.stride(0),
        m.stride(1), 0 if a is None else a.stride(0), out.stride(0), out.stride(1),
        0 if a_out is None else a_out.stride(0), ACT=act, IDENTITY_IN=u is None,
        EPILOGUE=epilogue, HAS_BIAS=b is not None, BLOCK_R=BR, BLOCK_J=BJ, BLOCK_K=BLOCK_K,
        PRECISION=precision, **_OPTIONS)


def primal(k: ModuleType, a: torch.Tensor, W: torch.Tensor, b: torch.Tensor | None,
           out: torch.Tensor, act: int, precision: str = "ieee") -> None:
    """One ``primal_kernel`` launch: out = act(a Wᵀ + b) for a batch a (N, K_in)."""
    (N, KIN), KOUT = a.shape, W.shape[0]
    BM, BJ = _block(N), _block(KOUT)
    k.primal_kernel[(-(-N // BM), -(-KOUT // BJ))](
        a, W, out if b is None else b, out, N, KIN, KOUT, a.stride(0), W.stride(0), W.stride(1),
        out.stride(0), ACT=act, HAS_BIAS=b is not None, BLOCK_M=BM, BLOCK_J=BJ, BLOCK_K=BLOCK_K,
        PRECISION=precision, **_OPTIONS)


def _forward_layers(net: MLP, xs: torch.Tensor) -> Callable[[], torch.Tensor]:
    """Forward, one launch per weight: U_i = s_i ⊙ T_iᵀ and a_i from each epilogue, Jᵀ last;
    the buffers (two of each, used in turn) set up once."""
    k, W = _check(net), net.weights
    act, (N, D) = k.ACTIVATION_CODES[net.activation], xs.shape
    tangents = [xs.new_empty(N, D, net.K) for _ in range(2)]
    primals = [xs.new_empty(N, net.K) for _ in range(2)]
    j_t, precision = xs.new_empty(N, D, net.P), dot_precision()

    def call() -> torch.Tensor:
        a, u = xs, None  # T_1ᵀ = I W_1ᵀ
        for i in range(net.L):
            u_next, a_next = tangents[i % 2], primals[i % 2]
            layer(k, u, W[i].T, u_next, act, 1, a=a, b=net.bias(i), a_out=a_next,
                  precision=precision)
            a, u = a_next, u_next
        layer(k, u, W[-1].T, j_t, act, 0, precision=precision)
        return j_t.mT

    return call


def _reverse_layers(net: MLP, xs: torch.Tensor) -> Callable[[], torch.Tensor]:
    """Reverse: the primal (one launch per layer, every a_i kept), then
    U_{i-1} = (U_i W_i) ⊙ s_{i-1} back to J = U_1 W_1; the buffers set up once."""
    k, W, N = _check(net), net.weights, xs.shape[0]
    act = k.ACTIVATION_CODES[net.activation]
    acts = [xs.new_empty(N, net.K) for _ in range(net.L)]
    adjoints = [xs.new_empty(N, net.P, net.K) for _ in range(2)]
    jac, precision = xs.new_empty(N, net.P, net.D), dot_precision()

    def call() -> torch.Tensor:
        a = xs
        for i in range(net.L):
            primal(k, a, W[i], net.bias(i), acts[i], act, precision)
            a = acts[i]
        u, spare = adjoints
        layer(k, None, W[-1], u, act, 2, a=acts[-1], precision=precision)  # A_L = I W_F ⊙ s_L
        for i in range(net.L - 1, 0, -1):
            layer(k, u, W[i], spare, act, 2, a=acts[i - 1], precision=precision)
            u, spare = spare, u
        layer(k, u, W[0], jac, act, 0, precision=precision)
        return jac

    return call


def _fits_one_launch(net: MLP) -> bool:
    return max(padded(net.D), padded(net.K), padded(net.P)) <= NETWORK_MAX


def _ready(algorithm: str, net: MLP, x: torch.Tensor,
           one_launch: bool | None = None) -> Callable[[], torch.Tensor]:
    """The timed call: J (P, D) for x (D,), (N, P, D) for (N, D)."""
    _check(net)
    xs = (x.unsqueeze(0) if x.dim() == 1 else x).contiguous()
    whole = _fits_one_launch(net) if one_launch is None else one_launch
    if whole:
        run = _network_call(net, xs, algorithm)
    else:
        run = (_forward_layers if algorithm == "forward" else _reverse_layers)(net, xs)
    run = _on_device(run, xs.device)
    return (lambda: run()[0]) if x.dim() == 1 else run


def _on_device(run: Callable[[], torch.Tensor], device: torch.device
               ) -> Callable[[], torch.Tensor]:
    """``run`` launching on ``device``: triton launches on the current CUDA device, so a model on
    another one (``cuda:1``) is run under ``torch.cuda.device``; nothing added otherwise."""
    if device.type != "cuda" or device.index in (None, torch.cuda.current_device()):
        return run

    def call() -> torch.Tensor:
        with torch.cuda.device(device):
            return run()

    return call


def triton_jacobian(algorithm: str) -> Callable[[MLP, torch.Tensor], torch.Tensor]:
    """``forward-triton`` or ``reverse-triton`` as a plain ``(net, x) -> J`` (packs each call)."""
    def jacobian(net: MLP, x: torch.Tensor) -> torch.Tensor:
        return _ready(algorithm, net, x)()

    jacobian.__name__ = f"{algorithm}_triton"
    return jacobian


def prepare_triton(algorithm: str, net: MLP, x: torch.Tensor,
                   one_launch: bool | None = None) -> Prepared:
    """The mode ready to time: weights packed, buffers and kernels' arguments set up once.
    ``one_launch`` forces the whole-network kernel (True) or the layer kernels (False). The
    kernels compile on the first call (about a second each, a guess: the runner's untimed check
    call, recorded as the one-off ``compile_s``), so asking whether the mode runs costs no compile.
    """
    call = _ready(algorithm, net, x, one_launch)
    return Prepared(call, lambda J: J, None)  # type: ignore[arg-type,return-value]
