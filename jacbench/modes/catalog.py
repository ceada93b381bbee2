"""The modes jacbench knows: name, family and one line each. Torch-free.

Spec validation, analysis and rendering need the names and families of the modes but not their
implementations; they read them here. ``jacbench.modes.registry`` binds each name to its function
and must list the same names (tests/modes/test_registry.py checks it).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CATALOG", "HAND_WRITTEN", "LIBRARY", "ModeInfo", "hand_written", "mode_names",
           "mode_order"]

HAND_WRITTEN = "hand-written"
LIBRARY = "library"


@dataclass(frozen=True)
class ModeInfo:
    """What a mode is, without its implementation."""

    name: str
    family: str  # HAND_WRITTEN or LIBRARY
    summary: str


#: Registry order: hand-written modes first; every listing of modes follows it.
CATALOG: dict[str, ModeInfo] = {
    m.name: m
    for m in (
        ModeInfo("forward", HAND_WRITTEN, "push D tangents through the layers"),
        ModeInfo("reverse", HAND_WRITTEN, "pull P adjoint rows back through stored activations"),
        ModeInfo("chain", HAND_WRITTEN,
                 "the matrix chain in its cheapest bracketing (matrix-chain dynamic programme)"),
        ModeInfo("autograd-reverse", LIBRARY,
                 "torch.autograd.functional.jacobian, reverse, Python loop over P rows"),
        ModeInfo("autograd-reverse-vectorized", LIBRARY,
                 "torch.autograd.functional.jacobian, reverse, vectorize=True"),
        ModeInfo("autograd-forward-vectorized", LIBRARY,
                 "torch.autograd.functional.jacobian, forward-mode, vectorize=True"),
        ModeInfo("jacrev", LIBRARY, "torch.func.jacrev (vmap over rows)"),
        ModeInfo("jacfwd", LIBRARY, "torch.func.jacfwd (vmap over columns)"),
    )
}


def mode_names() -> tuple[str, ...]:
    """The names of the modes available in this install, in registry order."""
    return tuple(CATALOG)


def hand_written() -> frozenset[str]:
    """The hand-written modes: the candidates for the theoretical best."""
    return frozenset(m.name for m in CATALOG.values() if m.family == HAND_WRITTEN)


def mode_order(names: object) -> list[str]:
    """Modes in registry order (hand-written first), unknown names after, sorted."""
    names = {str(n) for n in names}  # type: ignore[attr-defined]
    known = [m for m in CATALOG if m in names]
    return known + sorted(names - set(known))
