"""Native modes: the hand-written forward, reverse and chain Jacobians as one C call each.

``forward-native``, ``reverse-native`` and ``chain-native`` run exactly the algorithms (and
multiply-add counts) of ``forward``, ``reverse`` (``jacbench.modes.handwritten``) and ``chain``
(the bracketing of ``jacbench.theory.chain_plan``, its products done sample by sample where it is
neither pure mode), but a whole Jacobian is a single call into ``native_kernel.c``: the products
go straight to the BLAS torch links, the activation and the scalings by act'(h) are loops in C.
What that removes is dispatch: an eager mode pays 1-4 us for each of its ~4 torch operations per
layer, which is all of its time at small shapes.

State kept beside the model, per (mode, input shape, dtype, device, weights' versions): the
kernel's view of the weights, its activation and work buffers, and its tuned choices. Building
it (compiling the kernel on a machine's first use, ~0.5 s; the tuning, up to ~0.1 s) is the
mode's one-off cost, paid in ``prepare`` (or the first ``jacobian`` call) and recorded apart.
Thread policy, measured there: a product below a size found fastest on one thread runs on one
(tiny products lose more to the threads' fork and join than they gain), the others on torch's
thread count; it is set for the calling thread only (MKL's local thread count), so other modes'
timings never see it, and the row's ``mode_threads`` says 1 where every product ran on one.
Elementwise passes of 32k values or more are split over the same threads (OpenMP, in the libgomp
pool torch's BLAS uses).

CPU only, float32 and float64; the Jacobian is a new tensor that does not track gradients.

>>> import torch, jacbench
>>> net = jacbench.MLP.random(L=3, D=2, K=8, P=4)
>>> jacbench.jacobian(net, torch.zeros(2), mode="reverse-native").shape  # doctest: +SKIP
torch.Size([4, 2])
"""

from __future__ import annotations

import ctypes
import functools
import statistics
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import torch

from jacbench.model.mlp import MLP
from jacbench.modes.native_library import kernel
from jacbench.modes.prepared import ModeUnavailable, Prepared
from jacbench.theory.chain_plan import chain_plan

__all__ = ["Buffers", "NativePlan", "buffer_sizes", "chain_program",
           "native_jacobian", "prepare_native"]

_KIND = {"forward": 0, "reverse": 1, "program": 2}
_ACTIVATION = {"tanh": 0, "sigmoid": 1, "relu": 2}

#: Tuned on the first call (``NativePlan._tune``). Thread policy: a product of fewer multiply-adds
#: than the plan's threshold runs on one thread.
#: The candidates (0: every product on all threads; the last: every product on one); the first
#: call tries them all for ``TUNE_BUDGET_S`` (at least ``TUNE_CALLS`` calls each) where one call
#: takes under ``TUNE_SKIP_S``, and a slower call takes the default: on our 2-core VM a 64³
#: product ran in 3.7 us on one thread against 6.5 us on two, a 64×64×1024 one in 50 us against
#: 35 us.
SERIAL_MACS = (0, 2**16, 2**18, 2**20, 2**22, 2**62)
DEFAULT_SERIAL_MACS = 2**20
TUNE_BUDGET_S = 0.06
TUNE_CALLS = 3
TUNE_SKIP_S = 0.02


class _Net(ctypes.Structure):
    """``struct net_f32``/``net_f64`` of native_kernel.c (the same layout for both)."""

    _fields_ = [(name, ctypes.c_int) for name in ("L", "D", "K", "P", "N", "act", "kind",
                                                  "threads")] + [
        ("W", ctypes.POINTER(ctypes.c_void_p)), ("b", ctypes.POINTER(ctypes.c_void_p)),
        ("acts", ctypes.c_void_p), ("work0", ctypes.c_void_p), ("work1", ctypes.c_void_p),
        ("n_instr", ctypes.c_int), ("program", ctypes.POINTER(ctypes.c_int)),
        ("slots", ctypes.POINTER(ctypes.c_void_p)), ("scratch", ctypes.c_void_p),
        ("slopes", ctypes.c_void_p), ("serial_macs", ctypes.c_longlong),
        ("final_t", ctypes.c_int), ("scratch_size", ctypes.c_longlong), ("across", ctypes.c_int)]


@functools.lru_cache(maxsize=256)
def chain_program(L: int, D: int, K: int, P: int
                  ) -> tuple[tuple[tuple[int, ...], ...], tuple[int, ...]]:
    """The chain plan's bracketing as the kernel's instructions, and each partial product's size.

    Post-order over the plan's tree: a product (left, right) of an m×k by a k×n factor becomes
    (out, left, right, s, m, k, n, fold_left), slots 0..L being the weights and L+1.. the
    partial products in order; S = diag(act'(h)) of layer s + 1 is folded into the factor that
    costs fewer multiplies (m·k or k·n), as the cost model counts. The last one is the root.
    """
    dims = [(K, D)] + [(K, K)] * (L - 1) + [(P, K)]
    program: list[tuple[int, ...]] = []
    sizes: list[int] = []

    def lowest(node: int | tuple) -> int:
        while not isinstance(node, int):
            node = node[1]
        return node

    # Post-order without recursion: a plan may be any depth.
    stack: list[tuple[int | tuple, bool]] = [(chain_plan(L, D, K, P).tree, False)]
    made: list[tuple[int, int, int]] = []  # (slot, rows, cols) of the factors made so far
    while stack:
        node, ready = stack.pop()
        if isinstance(node, int):
            made.append((node, *dims[node]))
        elif not ready:
            stack += [(node, True), (node[1], False), (node[0], False)]
        else:
            (right, _, n), (left, m, k) = made.pop(), made.pop()
            out = L + 1 + len(sizes)
            sizes.append(m * n)
            program.append((out, left, right, lowest(node[0]) - 1, m, k, n, int(m <= n)))
            made.append((out, m, n))
    return tuple(program), tuple(sizes)


@dataclass(frozen=True)
class Buffers:
    """Elements of each buffer the kernel reads or writes besides the weights, input and output,
    for one plan: the one home of these sizes (tests/modes/test_native_bounds.py runs the kernel
    under AddressSanitizer on buffers of exactly these sizes).

    acts: the L stored activations; work (two of them): forward's tangents (N·D)×K, or Jᵀ
    (N·D)×P, reverse's adjoints (N·P)×K, nothing for a program; slopes: act'(h) for the batch;
    scratch: a program's largest scaled factor, per sample; temps: a program's partial
    products, each one block per sample.
    """

    acts: int
    work: int
    slopes: int
    scratch_each: int
    scratch: int
    temps: tuple[int, ...]


def buffer_sizes(path: str, L: int, D: int, K: int, P: int, N: int) -> Buffers:
    """The buffers of a plan on ``path`` ("forward", "reverse" or "program")."""
    work = {"forward": max(D * K, D * P), "reverse": P * K, "program": 0}[path]
    program, temps = chain_program(L, D, K, P) if path == "program" else ((), ())
    each = max((min(m, n) * k for *_, m, k, n, _ in program), default=0)
    return Buffers(acts=L * N * K, work=N * work, slopes=N * K, scratch_each=each,
                   scratch=N * each, temps=tuple(N * t for t in temps))


class NativePlan:
    """One native mode bound to one model and input shape: its buffers and its thread count."""

    def __init__(self, kind: str, net: MLP, shape: tuple[int, ...], threads: int) -> None:
        if net.device.type != "cpu":
            raise ModeUnavailable(f"the native modes run on the CPU only, not on {net.device}")
        if net.dtype not in (torch.float32, torch.float64):
            raise ModeUnavailable(f"the native modes take float32 or float64, not {net.dtype}")
        native = kernel()
        self._entry, self._sets_threads = native.entry(net.dtype), native.sets_threads
        N = shape[0] if len(shape) == 2 else 1
        L, D, K, P = self._net_shape = net.L, net.D, net.K, net.P
        self.out_shape = (N, P, D) if len(shape) == 2 else (P, D)
        # Keep every buffer the kernel points at alive for as long as the plan.
        self._weights = [W.contiguous() for W in net.weights]
        self._biases = [b.contiguous() for b in net.biases] if net.biases is not None else None
        new = {"dtype": net.dtype}
        path = self._kind(kind)
        sizes = buffer_sizes(path, L, D, K, P, N)
        self._acts = torch.empty(sizes.acts, **new)
        self._work = [torch.empty(sizes.work, **new) for _ in range(2)]
        self._slopes = torch.empty(sizes.slopes, **new)
        self._scratch = torch.empty(sizes.scratch, **new)
        self._temps = [torch.empty(size, **new) for size in sizes.temps]
        self._W = (ctypes.c_void_p * (L + 1))(*(W.data_ptr() for W in self._weights))
        self._b = (ctypes.c_void_p * (L + 1))(
            *((b.data_ptr() for b in self._biases) if self._biases else [None] * (L + 1)))
        self._net = _Net(L, D, K, P, N, _ACTIVATION[net.activation], _KIND[path],
                         threads, self._W, self._b, self._acts.data_ptr(),
                         self._work[0].data_ptr(), self._work[1].data_ptr())
        self._net.slopes, self._net.scratch = self._slopes.data_ptr(), self._scratch.data_ptr()
        self._net.scratch_size = sizes.scratch_each
        program = chain_program(L, D, K, P)[0] if path == "program" else ()
        if program:
            self._bind_program(program)
        self._ref = ctypes.addressof(self._net)
        self.largest_product = self._largest_product(program)
        self.threads = threads if native.sets_threads else torch.get_num_threads()
        self._tune(threads)

    def _largest_product(self, program: tuple[tuple[int, ...], ...]) -> int:
        """Multiply-adds of the plan's largest product (for the thread policy's record)."""
        if program:
            return max(m * k * n for *_, m, k, n, _ in program)
        _, D, K, P = self._net_shape
        N = self._net.N
        tangents = D if self._net.kind == _KIND["forward"] else P
        return max(N * tangents * K * K, N * P * K * D, N * K * max(K, D))

    def _kind(self, algorithm: str) -> str:
        """The kernel's path: the mode's own, or for chain its plan's (a pure mode or not)."""
        if algorithm != "chain":
            return algorithm
        L, D, K, P = self._net_shape
        kind = chain_plan(L, D, K, P).kind
        return "program" if kind == "mixed" else kind

    def _bind_program(self, program: tuple[tuple[int, ...], ...]) -> None:
        self._program = (ctypes.c_int * (8 * len(program)))(*(v for p in program for v in p))
        self._slots = (ctypes.c_void_p * (len(self._W) + len(self._temps)))(
            *(W.data_ptr() for W in self._weights), *(t.data_ptr() for t in self._temps))
        self._net.n_instr, self._net.program = len(program), self._program
        self._net.slots = self._slots

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """The Jacobian at x (of the shape the plan was built for)."""
        x = x.contiguous()
        out = torch.empty(self.out_shape, dtype=x.dtype)
        self._entry(self._ref, x.data_ptr(), out.data_ptr())
        return out

    def _tune(self, threads: int) -> None:
        """The plan's free choices, measured: for forward mode whether the last product forms Jᵀ
        for the whole batch and transposes it (one GEMM, and MKL's faster orientation when D is
        tiny) or J sample by sample; then below how many multiply-adds a product runs on one
        thread (``threads`` then says 1 where every product of the plan does)."""
        x = torch.zeros((*self.out_shape[:-2], self.out_shape[-1]), dtype=self._acts.dtype)
        start = time.perf_counter()
        self(x)
        quick = time.perf_counter() - start < TUNE_SKIP_S
        if self._net.kind == _KIND["forward"]:
            self._fastest(x, "final_t", (0, 1) if quick else (0,))
        if self._net.kind == _KIND["program"] and self._net.N > 1 and threads > 1:
            self._fastest(x, "across", (0, 1) if quick else (1,))
        if self._sets_threads and threads > 1:
            self._fastest(x, "serial_macs", SERIAL_MACS if quick else (DEFAULT_SERIAL_MACS,))
            self.threads = 1 if self._net.serial_macs >= self.largest_product else threads

    def _fastest(self, x: torch.Tensor, field: str, candidates: tuple[int, ...]) -> None:
        """Set ``field`` of the kernel's plan to the candidate with the least median time
        (interleaved calls for ``TUNE_BUDGET_S``, at least ``TUNE_CALLS`` each)."""
        times: dict[int, list[float]] = {c: [] for c in candidates}
        deadline = time.perf_counter() + TUNE_BUDGET_S
        while len(times) > 1 and (time.perf_counter() < deadline
                                  or min(len(t) for t in times.values()) < TUNE_CALLS):
            for candidate, seen in times.items():
                setattr(self._net, field, candidate)
                start = time.perf_counter()
                self(x)
                seen.append(time.perf_counter() - start)
        setattr(self._net, field, min(times, key=lambda c: statistics.median(times[c] or [0.0])))


#: Plans per model: (mode, shape, dtype, device, weights' versions) -> plan; dropped with it.
_PLANS: weakref.WeakKeyDictionary[MLP, dict[tuple, NativePlan]] = weakref.WeakKeyDictionary()


def _plan(algorithm: str, net: MLP, x: torch.Tensor) -> NativePlan:
    weights = (*net.weights, *(net.biases or ()))
    key = (algorithm, tuple(x.shape), x.dtype, str(x.device),
           tuple((w.data_ptr(), w._version) for w in weights))
    per_net = _PLANS.setdefault(net, {})
    if key not in per_net:
        per_net.clear()  # a plan for old weights or another shape is not needed again
        per_net[key] = NativePlan(algorithm, net, tuple(x.shape), torch.get_num_threads())
    return per_net[key]


def prepare_native(algorithm: str, net: MLP, x: torch.Tensor) -> Prepared:
    """``algorithm`` (forward, reverse, chain) made ready at (net, x) as one native call: the
    plan is built (kernel compiled or loaded, threads chosen) now; the timed call is one native
    call."""
    plan = _plan(algorithm, net, x)
    return Prepared(lambda: plan(x), _as_tensor, plan.threads)


def _as_tensor(result: object) -> torch.Tensor:
    assert isinstance(result, torch.Tensor)
    return result


def native_jacobian(algorithm: str) -> Callable[[MLP, torch.Tensor], torch.Tensor]:
    """The plain ``(net, x) -> J`` function of ``algorithm`` as one native call (its plan built
    on first use)."""

    def jacobian(net: MLP, x: torch.Tensor) -> torch.Tensor:
        return _plan(algorithm, net, x)(x)

    jacobian.__name__ = f"{algorithm}_native"
    jacobian.__doc__ = f"The {algorithm!r} algorithm as one native call."
    return jacobian
