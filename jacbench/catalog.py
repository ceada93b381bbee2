"""The modes jacbench knows, as data: each mode is an algorithm run by an implementation.

An **algorithm** says what is computed (forward tangents, reverse adjoints, the matrix chain in
its cheapest bracketing, or a library's own: ``jacrev``, ``autograd-reverse``...). An
**implementation** says how it is run (eager torch, one native C call, a CUDA graph,
torch.compile, AOTInductor, JAX's jit). A mode's name, family, summary, devices, dtypes and
whether a default sweep runs it all follow from the pair; the operation list, the cost model,
the time model, the registry of functions and every listing of modes are built from this table,
so a new implementation of existing algorithms is one ``Implementation`` entry in
``_IMPLEMENTED`` plus its function in ``jacbench.modes.registry``.

This module is the package's ground floor: torch-free and importing nothing of jacbench, so
results/, theory/, analysis/ and render/ may all read it.

>>> CATALOG["reverse-native"].algorithm, CATALOG["reverse-native"].implementation
('reverse', 'native')
>>> CATALOG["jax-jacrev"].eager
'jacrev'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "ALGORITHMS",
    "CATALOG",
    "COMPILED",
    "COMPILED_PEER",
    "DTYPES",
    "DTYPE_BYTES",
    "EAGER",
    "EAGER_FAMILIES",
    "FULL_PRECISION",
    "GRAPH",
    "HAND_WRITTEN",
    "IMPLEMENTATIONS",
    "LIBRARY",
    "MATMUL_PRECISION",
    "NATIVE",
    "PLUGIN",
    "TRITON",
    "USER",
    "Algorithm",
    "Implementation",
    "ModeInfo",
    "compiled_pairs",
    "default_modes",
    "hand_written",
    "jacbench_modes",
    "mode_names",
    "mode_order",
    "register",
]

# Families: how a mode is grouped in tables and figures.
HAND_WRITTEN = "hand-written"
#: A hand-written algorithm run as one native (C) call: the products in torch's BLAS, no dispatch.
NATIVE = "native"
LIBRARY = "library"
#: A hand-written algorithm as Triton kernels on a GPU: the whole network in one launch where it
#: fits, else one fused launch per layer (``jacbench.modes.triton_modes``).
TRITON = "triton"
#: Another framework's compiled Jacobian (JAX's jit of jacrev/jacfwd): the peers users compare.
COMPILED_PEER = "compiled peer"
#: A torch mode compiled by inductor (torch.compile or AOTInductor): the same algorithm.
COMPILED = "compiled"
#: A torch mode captured once as a CUDA graph and replayed: the eager kernels, one launch a call.
GRAPH = "cuda graph"
#: A user's own mode, registered by a plugin (``jacbench.register_mode``).
USER = "user"
#: The families torch runs eagerly, operation by operation (FlopCounterMode sees their work).
EAGER_FAMILIES = (HAND_WRITTEN, LIBRARY)

#: The precisions a sweep can name, with the bytes of one element: the one list of them.
DTYPE_BYTES: dict[str, int] = {"float32": 4, "float64": 8, "tf32": 4, "bfloat16": 2, "float16": 2}
DTYPES: tuple[str, ...] = tuple(DTYPE_BYTES)
#: "float32" is strict (TF32 off everywhere); "tf32" stores float32 and multiplies on TF32 tensor
#: cores (CUDA only); "bfloat16" and "float16" hold weights and inputs in that dtype.
#: The precision every framework multiplies matrices at for each dtype, so that a row compares
#: like with like; a row's ``matmul_precision`` column carries it. One vocabulary, the
#: framework-neutral one: "highest" = the products' operands in the stored dtype itself (torch's
#: ``set_float32_matmul_precision("highest")``, TF32 off; JAX's ``precision="highest"``, whose GPU
#: default would be TF32); "tf32" = float32 operands rounded to TF32's 10-bit mantissa on tensor
#: cores, accumulated in float32 (torch's "high", JAX's "tensorfloat32").
MATMUL_PRECISION: dict[str, str] = {"float32": "highest", "float64": "highest", "tf32": "tf32",
                                    "bfloat16": "highest", "float16": "highest"}
#: The dtypes whose products run in their own storage (C's float and double): what a kernel
#: without reduced-precision products (the native one) can run.
FULL_PRECISION: tuple[str, ...] = ("float32", "float64")
_DEVICES = ("cpu", "cuda")


@dataclass(frozen=True)
class Algorithm:
    """What a mode computes: its operation list and cost formula are keyed by this name."""

    name: str
    family: str  # HAND_WRITTEN or LIBRARY: who wrote it
    summary: str


@dataclass(frozen=True)
class Implementation:
    """How a mode runs its algorithm."""

    name: str
    #: The mode's name from the algorithm's: "{}" for eager, "{}-native", "jax-{}".
    pattern: str
    #: The family of its modes; "" keeps the algorithm's (eager torch).
    family: str
    #: The summary of its modes, with "{}" for the algorithm (eager: the algorithm's own).
    summary: str
    #: One traced or native program per call: the algorithm's operations, but no framework call
    #: each (the time model then charges one call for the program).
    program: bool = False
    #: Its products are BLAS calls handed operands by single-threaded code around them (native).
    handed_over: bool = False
    devices: tuple[str, ...] = _DEVICES
    dtypes: tuple[str, ...] = DTYPES
    #: Measured when a sweep names no modes (False where compiling costs seconds per point).
    default: bool = True
    #: Its call costs are probed by the time model's calibration (False where preparing a
    #: shape takes seconds: such modes are predicted as the algorithm's own program).
    probed: bool = True


@dataclass(frozen=True)
class ModeInfo:
    """One mode: an algorithm run by an implementation, with what follows from the pair."""

    name: str
    algorithm: str
    implementation: str
    family: str
    summary: str
    devices: tuple[str, ...]
    dtypes: tuple[str, ...]
    default: bool

    @property
    def eager(self) -> str:
        """The eager torch mode of the same algorithm ("" for an eager mode itself, and for a
        user's mode): the pairs of the compiled-against-eager comparison."""
        return "" if self.implementation in (EAGER, PLUGIN) else self.algorithm

    @property
    def runs(self) -> Implementation:
        return IMPLEMENTATIONS[self.implementation]


_HAND = ("forward", "reverse", "chain")
ALGORITHMS: dict[str, Algorithm] = {a.name: a for a in (
    Algorithm("forward", HAND_WRITTEN, "push D tangents through the layers"),
    Algorithm("reverse", HAND_WRITTEN, "pull P adjoint rows back through stored activations"),
    Algorithm("chain", HAND_WRITTEN,
              "the matrix chain in its cheapest bracketing (matrix-chain dynamic programme)"),
    Algorithm("autograd-reverse", LIBRARY,
              "torch.autograd.functional.jacobian, reverse, Python loop over P rows"),
    Algorithm("autograd-reverse-vectorized", LIBRARY,
              "torch.autograd.functional.jacobian, reverse, vectorize=True"),
    Algorithm("autograd-forward-vectorized", LIBRARY,
              "torch.autograd.functional.jacobian, forward-mode, vectorize=True"),
    Algorithm("jacrev", LIBRARY, "torch.func.jacrev (vmap over rows)"),
    Algorithm("jacfwd", LIBRARY, "torch.func.jacfwd (vmap over columns)"),
)}
_LIBRARY = tuple(a for a in ALGORITHMS if ALGORITHMS[a].family == LIBRARY)

EAGER = "eager"
#: How a user's own mode runs: its function as given, called eagerly.
PLUGIN = "plugin"
IMPLEMENTATIONS: dict[str, Implementation] = {i.name: i for i in (
    Implementation(EAGER, "{}", "", ""),
    Implementation("native", "{}-native", NATIVE,
                   "{} as one C call: torch's BLAS for the products, loops for the rest",
                   program=True, handed_over=True, devices=("cpu",), dtypes=FULL_PRECISION),
    Implementation("jax-jit", "jax-{}", COMPILED_PEER, "jax.jit(jax.vmap(jax.{}(f))), JAX's XLA",
                   program=True),
    Implementation("torch.compile", "{}-compiled", COMPILED, "{} under torch.compile (inductor)",
                   program=True, default=False, probed=False),
    Implementation("aoti", "{}-aoti", COMPILED, "{} compiled ahead of time (AOTInductor)",
                   program=True, default=False, probed=False),
    # On a GPU only: one launch replays the captured kernels (the capture is its compile_s);
    # predicted as the algorithm's program, not probed (the calibration has not run one yet).
    Implementation("cuda-graph", "{}-graph", GRAPH,
                   "{} captured once as a CUDA graph (torch.cuda.CUDAGraph), replayed per call",
                   program=True, devices=("cuda",), probed=False),
    Implementation("torch.compile-cudagraphs", "{}-compiled-cudagraphs", COMPILED,
                   '{} under torch.compile(mode="reduce-overhead"): inductor, CUDA graphs',
                   program=True, devices=("cuda",), default=False, probed=False),
    Implementation("torch.compile-autotune", "{}-compiled-autotune", COMPILED,
                   '{} under torch.compile(mode="max-autotune"): autotuned, CUDA graphs',
                   program=True, devices=("cuda",), default=False, probed=False),
    Implementation("triton", "{}-triton", TRITON,
                   "{} as Triton kernels: one launch for small shapes, else one per layer",
                   program=True, devices=("cuda",), dtypes=("float32",), probed=False),
    Implementation(PLUGIN, "{}", USER, "", probed=False),
)}

#: Which implementation runs which algorithms, in the order every listing of modes follows
#: (hand-written first). A new implementation adds one line here.
_IMPLEMENTED: tuple[tuple[str, tuple[str, ...]], ...] = (
    (EAGER, _HAND),
    ("native", _HAND),
    (EAGER, _LIBRARY),
    ("jax-jit", ("jacrev", "jacfwd")),
    ("torch.compile", (*_HAND, "jacrev")),
    ("aoti", _HAND),
    # torch.func's transforms capture (static shapes, no host reads); the autograd.functional
    # baselines stay the eager yardsticks they are.
    ("cuda-graph", (*_HAND, "jacrev", "jacfwd")),
    ("torch.compile-cudagraphs", (*_HAND, "jacrev")),
    ("torch.compile-autotune", (*_HAND, "jacrev")),
    ("triton", ("forward", "reverse")),
)


def _mode(algorithm: Algorithm, how: Implementation) -> ModeInfo:
    return ModeInfo(
        name=how.pattern.format(algorithm.name), algorithm=algorithm.name,
        implementation=how.name, family=how.family or algorithm.family,
        summary=how.summary.format(algorithm.name) if how.summary else algorithm.summary,
        devices=how.devices, dtypes=how.dtypes, default=how.default)


#: Every mode, in registry order; every listing of modes follows it.
CATALOG: dict[str, ModeInfo] = {
    m.name: m for how, algorithms in _IMPLEMENTED for m in
    (_mode(ALGORITHMS[a], IMPLEMENTATIONS[how]) for a in algorithms)
}


def mode_names() -> tuple[str, ...]:
    """The names of every mode jacbench knows, in registry order (a mode whose framework is
    not installed raises ModeUnavailable when called, and a sweep records it unavailable)."""
    return tuple(CATALOG)


def default_modes(devices: Iterable[str] = ("cpu", "cuda")) -> tuple[str, ...]:
    """The modes a sweep on ``devices`` measures when it names none: every mode but the
    torch-compiled ones that runs on one of them (a CPU sweep lists no CUDA graph)."""
    kinds = {"cuda" if d.startswith("cuda") else "cpu" for d in devices}
    return tuple(name for name, m in CATALOG.items() if m.default and kinds & set(m.devices))


def compiled_pairs() -> dict[str, str]:
    """Each compiled or native mode and the eager torch mode of the same algorithm."""
    return {name: m.eager for name, m in CATALOG.items() if m.eager}


def hand_written() -> frozenset[str]:
    """The hand-written modes: the candidates for the theoretical best."""
    return frozenset(m.name for m in CATALOG.values() if m.family == HAND_WRITTEN)


def jacbench_modes() -> frozenset[str]:
    """The modes jacbench itself ships: the hand-written algorithms under any implementation but
    another framework's; not the library baselines, their compiled forms, or JAX's."""
    return frozenset(m.name for m in CATALOG.values()
                     if ALGORITHMS[m.algorithm].family == HAND_WRITTEN
                     and m.family != COMPILED_PEER and m.implementation != PLUGIN)


def mode_order(names: object) -> list[str]:
    """Modes in registry order (hand-written first), unknown names after, sorted."""
    names = {str(n) for n in names}  # type: ignore[attr-defined]
    known = [m for m in CATALOG if m in names]
    return known + sorted(names - set(known))


def register(name: str, *, algorithm: str = "", family: str = USER, summary: str = "",
             devices: tuple[str, ...] = _DEVICES, dtypes: tuple[str, ...] = DTYPES,
             default: bool = True) -> ModeInfo:
    """Add a user's mode to the catalogue (run by the PLUGIN implementation), so that every
    listing, the cost model and the reports treat it as they treat a built-in mode.

    ``algorithm`` names the catalogued algorithm it runs (its cost model then estimates and
    predicts it); "" makes it an algorithm of its own, with no cost model. Registering the same
    name again replaces a user's mode (a plugin loaded twice); a built-in mode's name is refused.
    """
    if not name or not isinstance(name, str) or name != name.strip():
        raise ValueError(f"a mode's name must be a non-empty word, got {name!r}")
    if name in CATALOG and CATALOG[name].implementation != PLUGIN:
        raise ValueError(f"mode {name!r} is built into jacbench: choose another name")
    if algorithm and algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm {algorithm!r} is not catalogued; choose one of "
                         f"{', '.join(ALGORITHMS)}, or leave it out")
    unknown = [d for d in devices if d not in _DEVICES] + [d for d in dtypes if d not in DTYPES]
    if unknown or not devices or not dtypes:
        raise ValueError(f"mode {name!r}: devices among {', '.join(_DEVICES)} and dtypes among "
                         f"{', '.join(DTYPES)}, got {', '.join(unknown) or 'none'}")
    summary = summary or f"{name}: a user's mode"
    if not algorithm:
        ALGORITHMS[name] = Algorithm(name, USER, summary)
    info = ModeInfo(name=name, algorithm=algorithm or name, implementation=PLUGIN,
                    family=family, summary=summary, devices=tuple(devices), dtypes=tuple(dtypes),
                    default=default)
    CATALOG[name] = info
    return info
