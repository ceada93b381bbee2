"""Every Jacobian mode behind one call: ``jacobian(net, x, mode)``.

A mode is a function ``(net, x) -> J`` with x of shape (D,) giving (P, D) and x of shape (N, D)
giving the per-sample Jacobians (N, P, D). The names, families and summaries come from
``jacbench.catalog``; this module binds each name to its implementation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch

from jacbench.catalog import CATALOG, PLUGIN, ModeInfo, register
from jacbench.model.mlp import MLP
from jacbench.modes import (
    baselines,
    chain,
    compiled,
    graphs,
    handwritten,
    jax_modes,
    native,
    triton_modes,
)
from jacbench.modes.prepared import ModeUnavailable, Prepared

__all__ = ["BINDERS", "EAGER_FUNCTIONS", "MODES", "USER_FUNCTIONS", "Mode", "ModeUnavailable",
           "Prepared", "jacobian", "mode_named", "modes", "prepare", "register_mode"]

JacobianFn = Callable[[MLP, torch.Tensor], torch.Tensor]


#: A mode's own preparation, for modes whose timed call is not simply ``fn(net, x)``.
PrepareFn = Callable[[MLP, torch.Tensor], Prepared]


@dataclass(frozen=True)
class Mode:
    """A named Jacobian algorithm: its catalogue entry and its function."""

    info: ModeInfo
    fn: JacobianFn
    prepare: PrepareFn | None = None

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def family(self) -> str:
        return self.info.family


#: Each algorithm's eager torch function: what the eager implementation runs and what the
#: inductor implementations compile.
EAGER_FUNCTIONS: dict[str, JacobianFn] = {
    "forward": handwritten.forward_jacobian,
    "reverse": handwritten.reverse_jacobian,
    "chain": chain.chain_jacobian,
    "autograd-reverse": baselines.autograd_reverse,
    "autograd-reverse-vectorized": baselines.autograd_reverse_vectorized,
    "autograd-forward-vectorized": baselines.autograd_forward_vectorized,
    "jacrev": baselines.jacrev,
    "jacfwd": baselines.jacfwd,
}

Binding = tuple[JacobianFn, PrepareFn | None]


def _eager(info: ModeInfo) -> Binding:
    return EAGER_FUNCTIONS[info.algorithm], None


def _native(info: ModeInfo) -> Binding:
    return (native.native_jacobian(info.algorithm),
            partial(native.prepare_native, info.algorithm))


def _jax(info: ModeInfo) -> Binding:
    return jax_modes.jax_jacobian(info.algorithm), partial(jax_modes.prepare_jax, info.algorithm)


def _inductor(info: ModeInfo) -> Binding:
    eager, how = EAGER_FUNCTIONS[info.algorithm], info.implementation
    return (compiled.compiled_jacobian(info.name, eager, how),
            partial(compiled.prepare_compiled, info.name, eager, how))


def _graph(info: ModeInfo) -> Binding:
    eager = EAGER_FUNCTIONS[info.algorithm]
    return graphs.graph_jacobian(info.name, eager), partial(graphs.prepare_graph, eager)


def _triton(info: ModeInfo) -> Binding:
    return (triton_modes.triton_jacobian(info.algorithm),
            partial(triton_modes.prepare_triton, info.algorithm))


#: Each user's mode's own function, by name (``register_mode``).
USER_FUNCTIONS: dict[str, JacobianFn] = {}


def _plugin(info: ModeInfo) -> Binding:
    return USER_FUNCTIONS[info.name], None


#: How each implementation of the catalogue binds a mode to its function and, where the timed
#: call is not simply ``fn(net, x)`` (another framework's arrays, a compiled program, a native
#: plan), its preparation. A new implementation adds its line here.
BINDERS: dict[str, Callable[[ModeInfo], Binding]] = {
    "eager": _eager,
    "native": _native,
    "jax-jit": _jax,
    "torch.compile": _inductor,
    "aoti": _inductor,
    "cuda-graph": _graph,
    "torch.compile-cudagraphs": _inductor,
    "torch.compile-autotune": _inductor,
    "triton": _triton,
    PLUGIN: _plugin,
}

MODES: dict[str, Mode] = {name: Mode(info, *BINDERS[info.implementation](info))
                          for name, info in CATALOG.items()}


def register_mode(name: str, fn: JacobianFn, **facts: object) -> Mode:
    """Add your own Jacobian mode: ``fn(net, x)`` returns J as every mode does ((P, D) for x of
    shape (D,), (N, P, D) for (N, D)). It joins the catalogue, so a sweep checks it against the
    reference, times, estimates, plots and reports it like a built-in mode. The keyword facts
    (``jacbench.catalog.register``) have defaults: ``algorithm`` (a catalogued one, such as
    "reverse", for its cost model; none by default), ``family`` ("user"), ``summary``,
    ``devices``, ``dtypes`` and ``default`` (measured when a sweep names no modes).

    A plugin file (``--plugin my_modes.py``) registers at import time::

        import jacbench
        jacbench.register_mode("my-reverse", my_reverse, algorithm="reverse")
    """
    if not callable(fn):
        raise ValueError(f"mode {name!r}: fn must be callable as fn(net, x), got {fn!r}")
    info = register(name, **facts)  # type: ignore[arg-type]
    USER_FUNCTIONS[name] = fn
    MODES[name] = Mode(info, *BINDERS[PLUGIN](info))
    return MODES[name]


def modes() -> tuple[str, ...]:
    """The names of the modes available in this install, in a stable order."""
    return tuple(MODES)


def mode_named(name: str) -> Mode:
    """Look a mode up by name, with an error that lists the choices."""
    try:
        return MODES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown mode {name!r}; choose one of {', '.join(MODES)}") from None


def jacobian(net: MLP, x: torch.Tensor, mode: str = "reverse") -> torch.Tensor:
    """The Jacobian dy/dx of ``net`` at ``x``: (P, D) for x of shape (D,), (N, P, D) for (N, D).

    >>> import torch, jacbench
    >>> net = jacbench.MLP.random(L=3, D=4, K=8, P=2)
    >>> jacbench.jacobian(net, torch.zeros(4), mode="forward").shape
    torch.Size([2, 4])
    """
    m = mode_named(mode)
    if not isinstance(net, MLP):
        raise ValueError(f"net must be a jacbench.MLP, got {type(net).__name__}")
    net.check_input(x)
    return m.fn(net, x)


def _as_tensor(result: object) -> torch.Tensor:
    assert isinstance(result, torch.Tensor)
    return result


def prepare(net: MLP, x: torch.Tensor, mode: str) -> Prepared:
    """``mode`` made ready to time at (net, x); raises ModeUnavailable where it cannot run here.

    >>> import torch, jacbench
    >>> net = jacbench.MLP.random(L=2, D=3, K=4, P=2)
    >>> ready = prepare(net, torch.zeros(3), "reverse")
    >>> ready.to_torch(ready.call()).shape
    torch.Size([2, 3])
    """
    m = mode_named(mode)
    if not isinstance(net, MLP):
        raise ValueError(f"net must be a jacbench.MLP, got {type(net).__name__}")
    net.check_input(x)
    if m.prepare is not None:
        return m.prepare(net, x)
    fn = m.fn
    return Prepared(lambda: fn(net, x), _as_tensor, torch.get_num_threads())
