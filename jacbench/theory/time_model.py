"""The time model: a mode's predicted seconds on one device, from its operations and a few
measured machine parameters, split into terms, with the numbers behind the one that dominates
(``jacbench.render.words`` says it in words).

For each operation of ``jacbench.theory.operations`` (done ``repeat`` times):

    t_op = calls · call_s  +  work_factor · max(compute, memory)  +  sync
    compute = 2·m·k·n / (peak_flops · s / (s + gemm_half_dim))     a GEMM, s = min(m, k, n) > 1
            = elements / elementwise_rate                          an act or act' kernel
    memory  = weight bytes / bw(working set)  +  other bytes / bw(those bytes)
    sync    = sync_s + handoff_s for a GEMM of at least sync_flops with s > 1,
              kernel_sync_s for a GEMV of at least kernel_sync_elems outputs or an activation
              of at least kernel_sync_elems elements, else 0 (handoff_s and kernel_sync_s only
              for an operation that is a library call of its own, eager or a native mode's BLAS
              call, not one inside a traced program, whose compiler threads and places its
              operands itself; the activation's kernel_sync_s only for a framework call)

and the mode's time is ``fixed_s + Σ repeat · t_op``. On a GPU (``asynchronous``) the host
queues kernels while the device runs them, so the time is the slower of the two:
``max(fixed_s + Σ calls · call_s, Σ repeat · (work + launch_s))``, ``launch_s`` being the
device's own time per kernel (every product, and every elementwise kernel of an eager mode; a
traced program fuses those); GPUs have no thread sync or hand-over terms. The parameters, each
measured by
``jacbench.measure.calibrate`` in a few seconds at the run's thread count:

- ``dispatch_s``: one framework call in a Python loop (the cost of an operation of no size);
  ``overheads[mode]`` refines it per mode: a fixed cost per Jacobian and a cost per call, fitted
  to the mode itself timed at three tiny shapes, where nothing but calls costs time; for a
  library mode or a JAX peer also a work factor, its time beyond calls and syncs at one
  mid-sized shape over what the machine's rates give its operations (a library's copies,
  unfused kernels and batching; XLA's own GEMMs, slower than torch's BLAS here);
- ``peak_flops`` and ``gemm_half_dim``: a square GEMM's FLOP rate, and the smallest dimension at
  which a thin GEMM reaches half of it (Hockney's n½: a GEMM of smallest dimension s runs at
  peak · s / (s + n½));
- ``sync_s``: what a GEMM big enough to be split over threads pays to start and join them;
- ``handoff_s`` and ``sync_flops``: what such a GEMM pays more when its operand comes from, and
  its result goes to, the single-threaded operation next to it (a mode's chain of act', product,
  act', ...), as against the same product repeated on its own: half of each operand and result
  lives in the other core's cache and crosses between them (measured on a 2-core VM: 0 at 2 kB,
  ~5 us at 32 kB, ~7 us at 128 kB per product; nothing at 1 thread); ``sync_flops`` is the
  smallest product found to pay it (smaller ones the BLAS keeps on one thread);
- ``kernel_sync_s`` and ``kernel_sync_elems``: what a matrix-vector product with that many
  outputs or more, or an activation kernel of that many elements or more, pays when the math
  library splits it over threads (on the 2-core VM both step up by ~1 us between 96 and 112,
  tanh and mv alike; a fused act' kernel, torch's own, does not); measured on the activation;
- ``elementwise_rate``: elements per second of a fused act' kernel in cache;
- ``bandwidth``: bytes per second of matrix-vector products cycling over a working set of each
  measured size (in cache to out of it), interpolated in log(size) between them.

A traced program (``jax-jacrev``, ``reverse-compiled``) calibrated on its own pays its
calibrated fixed cost for its one call; one not calibrated (compiling takes seconds a shape) is
predicted as the eager algorithm it traces, calls and all: on the CPU shapes measured so far,
torch.compile was no faster than eager.

Assumptions. (1) Operations do not overlap: their times add (true of eager frameworks on one
stream; a traced program may overlap a little, so it is predicted a little slow). (2) Within an
operation, arithmetic and memory traffic overlap fully: the slower one counts (the roofline
model: S. Williams, A. Waterman and D. Patterson, "Roofline: an insightful visual performance
model for multicore architectures", CACM 52(4), 2009). (3) The weights live in a working set of
all the weights plus the largest operation's operands: each call cycles through them, so when
they outgrow the cache every pass reads them at the out-of-cache rate (this is why reverse mode
at D = K = 1000, P = 1 grows faster than L once L·4 MB leaves the cache). (4) A tensor one
operation writes and the next reads is as warm as its own size allows. (5) A matrix-vector
product (s = 1) is memory-bound: its arithmetic runs at the peak. What the model counts follows
the cost of tangent and adjoint modes: a forward pass of D tangents or a reverse pass of P
adjoints costs D (or P) times the primal's products (A. Griewank and A. Walther, "Evaluating
Derivatives", 2nd ed., SIAM 2008, chapters 3-4); only their shape (thin or square GEMMs, matrix-
vector products) and the calls they take decide how fast that work runs.

>>> m = MachineModel(dispatch_s=2e-6, peak_flops=1e11, gemm_half_dim=0.0, sync_s=0.0,
...                  elementwise_rate=1e9, bandwidth=((1e6, 1e10),))
>>> p = predict_at("reverse", Shape(1, 1, 1, 1, 1), m)  # 4 calls, each a size-1 operation
>>> round(p.seconds * 1e6, 2), p.dominant, p.tally.calls
(8.0, 'calls', 4)
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import asdict, dataclass, field

from jacbench.catalog import CATALOG
from jacbench.theory.operations import ELEMENTWISE, GEMM, Op, operations_at
from jacbench.theory.shape import Shape

__all__ = ["MachineModel", "ModeOverhead", "Prediction", "Tally", "models_from_json",
           "models_to_json", "predict", "predict_at"]

#: Terms of a prediction, in the order they are listed.
TERMS = ("calls", "sync", "compute", "elementwise", "weights", "data", "kernels")


@dataclass(frozen=True)
class ModeOverhead:
    """A mode's own costs: once per Jacobian, per framework call of its operations, and how much
    slower than the machine's rates its operations run (a library's copies, unfused kernels)."""

    fixed_s: float
    call_s: float
    work_factor: float = 1.0


@dataclass(frozen=True)
class MachineModel:
    """The measured parameters of one device in one dtype (see the module docstring)."""

    dispatch_s: float
    peak_flops: float
    gemm_half_dim: float
    sync_s: float
    elementwise_rate: float
    bandwidth: tuple[tuple[float, float], ...]  # (working-set bytes, bytes/s), by size
    sync_flops: float = 2.0**20
    handoff_s: float = 0.0
    kernel_sync_s: float = 0.0
    kernel_sync_elems: int = 0
    #: A GPU: the device's own time per kernel, and kernels queued by the host and run by the
    #: device at once (the time is the larger of the host's calls and the device's work).
    launch_s: float = 0.0
    asynchronous: bool = False
    overheads: dict[str, ModeOverhead] = field(default_factory=dict)
    device: str = "cpu"
    dtype: str = "float32"
    threads: int = 1
    calibrated_at: str = ""
    calibration_s: float = 0.0

    def bytes_per_s(self, working_set: float) -> float:
        """Bandwidth at a working set: time per byte interpolated in log(size), flat beyond."""
        points = sorted(self.bandwidth)
        if working_set <= points[0][0]:
            return points[0][1]
        for (s0, b0), (s1, b1) in itertools.pairwise(points):
            if working_set <= s1:
                w = math.log(working_set / s0) / math.log(s1 / s0)
                return 1.0 / ((1 - w) / b0 + w / b1)
        return points[-1][1]

    def gemm_flops(self, smallest: int) -> float:
        """FLOP/s of a GEMM whose smallest dimension is ``smallest`` (s > 1)."""
        return self.peak_flops * smallest / (smallest + self.gemm_half_dim)

    def overhead(self, mode: str) -> ModeOverhead:
        """The mode's calibrated call costs; a mode not calibrated pays ``dispatch_s`` a call."""
        return self.overheads.get(mode, ModeOverhead(0.0, self.dispatch_s))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["bandwidth"] = [list(p) for p in self.bandwidth]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> MachineModel:
        d = dict(d)
        d["bandwidth"] = tuple((float(s), float(b)) for s, b in d["bandwidth"])
        d["overheads"] = {m: ModeOverhead(**o) for m, o in d.get("overheads", {}).items()}
        return cls(**d)


def models_to_json(models: list[MachineModel]) -> str:
    """Calibrations as the JSON a results folder (``jacbench.results.folder``) or the advisor's
    cache keeps."""
    return json.dumps({"calibrations": [m.to_dict() for m in models]}, indent=1)


def models_from_json(text: str) -> list[MachineModel]:
    """The calibrations ``models_to_json`` wrote; ValueError (one line) when it is not that."""
    try:
        return [MachineModel.from_dict(d) for d in json.loads(text)["calibrations"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a jacbench calibration ({type(exc).__name__}: {exc})") from None




@dataclass
class Tally:
    """A prediction's seconds per term, and the work behind them: the framework calls, the thread
    syncs, the FLOPs and elements of compute-bound operations, the bytes of memory-bound ones."""

    terms: dict[str, float] = field(default_factory=lambda: dict.fromkeys(TERMS, 0.0))
    calls: int = 0
    flops: float = 0.0
    weight_bytes: float = 0.0
    data_bytes: float = 0.0
    elements: float = 0.0
    syncs: int = 0
    kernels: int = 0


@dataclass(frozen=True)
class Prediction:
    """A mode's predicted seconds, split into terms, the largest named, and the numbers that say
    why (``jacbench.render.words`` writes them as a sentence)."""

    mode: str
    seconds: float
    terms: dict[str, float]
    dominant: str
    tally: Tally
    overhead: ModeOverhead  # the mode's call costs predicted with
    weights_bytes: int  # the model's weights
    bandwidth: float  # bytes/s at the working set: all weights and the largest operation
    asynchronous: bool = False  # predicted for a GPU: the slower of host and device


def _add(t: Tally, op: Op, m: MachineModel, b: int, own: ModeOverhead,
         weights_ws: float) -> None:
    r, f = op.repeat, own.work_factor
    t.calls += r * op.calls
    t.terms["calls"] += r * op.calls * own.call_s
    if m.asynchronous and (op.kind == GEMM or (op.kind == ELEMENTWISE and op.calls)):
        t.terms["kernels"] += r * m.launch_s  # a program fuses its elementwise kernels
        t.kernels += r
    if op.kind == GEMM:
        flops = 2.0 * op.macs
        compute = flops / (m.peak_flops if op.smallest == 1 else m.gemm_flops(op.smallest))
        if op.smallest > 1 and flops >= m.sync_flops:
            # a product inside a traced program (no library call of its own) hands nothing over
            t.terms["sync"] += r * (m.sync_s + (m.handoff_s if op.handed_over else 0.0))
            t.syncs += r
        elif op.smallest == 1 and op.handed_over and op.n >= m.kernel_sync_elems > 0:
            t.terms["sync"] += r * m.kernel_sync_s  # a GEMV the library splits over threads
            t.syncs += r
    elif op.kind == ELEMENTWISE:
        compute = op.m / m.elementwise_rate
        if op.name == "act" and op.calls and op.m >= m.kernel_sync_elems > 0:
            t.terms["sync"] += r * m.kernel_sync_s  # so is the activation (MKL's VML)
            t.syncs += r
    else:
        return
    compute *= f
    weights_s = f * op.weight_elems * b / m.bytes_per_s(weights_ws)
    data_s = f * op.data_elems * b / m.bytes_per_s(op.data_elems * b) if op.data_elems else 0.0
    if compute >= weights_s + data_s:
        key = "compute" if op.kind == GEMM else "elementwise"
        t.terms[key] += r * compute
        t.flops += r * 2.0 * op.macs if op.kind == GEMM else 0.0
        t.elements += r * op.m if op.kind == ELEMENTWISE else 0.0
    else:
        t.terms["weights"] += r * weights_s
        t.terms["data"] += r * data_s
        t.weight_bytes += r * op.weight_elems * b
        t.data_bytes += r * op.data_elems * b


def predict(mode: str, L: int, D: int, K: int, P: int, batch: int, model: MachineModel, *,
            dtype_bytes: int = 4, single: bool | None = None) -> Prediction:
    """``predict_at`` for the shape of these sizes."""
    return predict_at(mode, Shape(L, D, K, P, batch), model, dtype_bytes=dtype_bytes,
                      single=single)


def predict_at(mode: str, shape: Shape, model: MachineModel, *, dtype_bytes: int = 4,
               single: bool | None = None) -> Prediction:
    """The predicted seconds of one ``jacobian(net, x, mode)`` call on ``shape.N`` inputs."""
    base = CATALOG[mode].algorithm if mode in CATALOG else None
    if mode not in model.overheads and base in model.overheads:  # an uncalibrated traced program
        ops, overhead = operations_at(base, shape, single=single), model.overhead(base)
    else:
        ops, overhead = operations_at(mode, shape, single=single), model.overhead(mode)
    weights = shape.weights * dtype_bytes
    largest = max((op.data_elems for op in ops), default=0) * dtype_bytes
    tally = Tally()
    tally.terms["calls"] = overhead.fixed_s
    for op in ops:
        _add(tally, op, model, dtype_bytes, overhead, weights + largest)
    seconds = sum(tally.terms.values())
    dominant = max(TERMS, key=lambda k: tally.terms[k])
    if model.asynchronous:  # the host queues while the device runs: the slower of the two
        device = seconds - tally.terms["calls"]
        seconds = max(tally.terms["calls"], device)
        dominant = "calls" if tally.terms["calls"] >= device else max(
            TERMS[1:], key=lambda k: tally.terms[k])
    return Prediction(mode, seconds, dict(tally.terms), dominant, tally, overhead, weights,
                      model.bytes_per_s(weights + largest), model.asynchronous)
