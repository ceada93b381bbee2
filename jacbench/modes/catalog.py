"""The modes jacbench knows: name, family and one line each. Torch-free.

Spec validation, analysis and rendering need the names and families of the modes but not their
implementations; they read them here. ``jacbench.modes.registry`` binds each name to its function
and must list the same names (tests/modes/test_registry.py checks it).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CATALOG", "COMPILED", "COMPILED_PEER", "EAGER_FAMILIES", "HAND_WRITTEN", "LIBRARY",
           "NATIVE", "ModeInfo", "compiled_pairs", "default_modes", "hand_written",
           "jacbench_modes", "mode_names", "mode_order"]

HAND_WRITTEN = "hand-written"
#: A hand-written algorithm run as one native (C) call: the products in torch's BLAS, no dispatch.
NATIVE = "native"
LIBRARY = "library"
#: Another framework's compiled Jacobian (JAX's jit of jacrev/jacfwd): the peers users compare.
COMPILED_PEER = "compiled peer"
#: A torch mode compiled by inductor (torch.compile or AOTInductor): the same algorithm.
COMPILED = "compiled"
#: The families torch runs eagerly, operation by operation (FlopCounterMode sees their work).
EAGER_FAMILIES = (HAND_WRITTEN, LIBRARY)


@dataclass(frozen=True)
class ModeInfo:
    """What a mode is, without its implementation."""

    name: str
    family: str  # HAND_WRITTEN, NATIVE, LIBRARY, COMPILED_PEER or COMPILED
    summary: str
    #: The eager torch mode running the same algorithm, for a compiled or native mode ("" for
    #: an eager one): the pairs of the compiled-against-eager figure.
    compiles: str = ""
    #: Measured when a sweep names no modes. False for modes that compile for seconds at every
    #: point (torch.compile, AOTInductor): presets ask for them on a few points.
    default: bool = True


#: Registry order: hand-written modes first; every listing of modes follows it.
CATALOG: dict[str, ModeInfo] = {
    m.name: m
    for m in (
        ModeInfo("forward", HAND_WRITTEN, "push D tangents through the layers"),
        ModeInfo("reverse", HAND_WRITTEN, "pull P adjoint rows back through stored activations"),
        ModeInfo("chain", HAND_WRITTEN,
                 "the matrix chain in its cheapest bracketing (matrix-chain dynamic programme)"),
        *(ModeInfo(f"{eager}-native", NATIVE,
                   f"{eager} as one C call: torch's BLAS for the products, loops for the rest",
                   eager) for eager in ("forward", "reverse", "chain")),
        ModeInfo("autograd-reverse", LIBRARY,
                 "torch.autograd.functional.jacobian, reverse, Python loop over P rows"),
        ModeInfo("autograd-reverse-vectorized", LIBRARY,
                 "torch.autograd.functional.jacobian, reverse, vectorize=True"),
        ModeInfo("autograd-forward-vectorized", LIBRARY,
                 "torch.autograd.functional.jacobian, forward-mode, vectorize=True"),
        ModeInfo("jacrev", LIBRARY, "torch.func.jacrev (vmap over rows)"),
        ModeInfo("jacfwd", LIBRARY, "torch.func.jacfwd (vmap over columns)"),
        ModeInfo("jax-jacrev", COMPILED_PEER, "jax.jit(jax.vmap(jax.jacrev(f))), JAX's XLA",
                 "jacrev"),
        ModeInfo("jax-jacfwd", COMPILED_PEER, "jax.jit(jax.vmap(jax.jacfwd(f))), JAX's XLA",
                 "jacfwd"),
        *(ModeInfo(f"{eager}-compiled", COMPILED, f"{eager} under torch.compile (inductor)",
                   eager, default=False) for eager in ("forward", "reverse", "chain", "jacrev")),
        *(ModeInfo(f"{eager}-aoti", COMPILED, f"{eager} compiled ahead of time (AOTInductor)",
                   eager, default=False) for eager in ("forward", "reverse", "chain")),
    )
}


def mode_names() -> tuple[str, ...]:
    """The names of every mode jacbench knows, in registry order (a mode whose framework is
    not installed raises ModeUnavailable when called, and a sweep records it unavailable)."""
    return tuple(CATALOG)


def default_modes() -> tuple[str, ...]:
    """The modes a sweep measures when it names none: every mode but the torch-compiled ones."""
    return tuple(name for name, m in CATALOG.items() if m.default)


def compiled_pairs() -> dict[str, str]:
    """Each compiled mode (JAX or torch) and the eager torch mode of the same algorithm."""
    return {name: m.compiles for name, m in CATALOG.items() if m.compiles}


def hand_written() -> frozenset[str]:
    """The hand-written modes: the candidates for the theoretical best."""
    return frozenset(m.name for m in CATALOG.values() if m.family == HAND_WRITTEN)


def jacbench_modes() -> frozenset[str]:
    """The modes jacbench itself ships: hand-written, native, and the hand-written modes compiled
    by inductor; not the library baselines, their compiled forms, or another framework's."""
    return frozenset(m.name for m in CATALOG.values() if m.family in (HAND_WRITTEN, NATIVE)
                     or (m.family == COMPILED and CATALOG[m.compiles].family == HAND_WRITTEN))


def mode_order(names: object) -> list[str]:
    """Modes in registry order (hand-written first), unknown names after, sorted."""
    names = {str(n) for n in names}  # type: ignore[attr-defined]
    known = [m for m in CATALOG if m in names]
    return known + sorted(names - set(known))
