"""JAX's own answer to the same question, the compiled peer: ``jax.jit(jax.vmap(jax.jacrev(f)))``.

``f`` is the same MLP written in ``jax.numpy`` (same weights, biases and activation, converted once
from the torch model and cached beside it), so the two frameworks differentiate the same function:

    h_1 = W_1 x + b_1;   h_i = W_i act(h_{i-1}) + b_i;   y = W_F act(h_L) + b_F

- ``jax-jacrev``: ``jax.jacrev``, P vector-Jacobian products (one per output row), vmapped by
  JAX over the P seed rows and over the batch: primal K·D + (L-1)K² + PK, then P seeded backward
  passes of the same size, per input (the cost of ``jacrev``).
- ``jax-jacfwd``: ``jax.jacfwd``, D Jacobian-vector products pushed with the primal: the cost of
  ``jacfwd``.

Both are traced and compiled by XLA on their first call at a shape (0.1-0.7 s on a 2-core CPU);
the runner records that one-off cost as ``compile_s``, apart from the timed median. The timed
call is the jitted function on arrays already on JAX's device, then ``block_until_ready()``.

Threads: XLA's CPU intra-op pool has as many threads as the environment variable ``NPROC`` says
(read by XLA's ``DefaultThreadPoolSize`` when the CPU client starts; the machine's core count
otherwise; XLA_FLAGS has no such flag in jaxlib 0.10). Before the first ``import jax`` this module
sets ``NPROC`` to torch's thread count, so both frameworks run with the same number of threads,
and records it in ``mode_threads``.

Dispatch: the CPU client runs each call on the calling thread (``jax_cpu_enable_async_dispatch``
off, read when JAX's CPU client starts: set here before JAX's first computation). With JAX's
default asynchronous dispatch a call is handed to a worker thread and the caller waits in
``block_until_ready``: on a 2-core CPU that handoff cost 25-30 us per call at (L, D, K, P) =
(10, 2, 30, 10) (18-20 us synchronous, 44-52 us asynchronous), and 55-80 us right after torch
work in the same process, whose OpenMP threads then compete for the second core; synchronous
calls took 18-20 us either way (four runs each). At larger shapes the two were within the
machine's noise.

    >>> import torch, jacbench
    >>> net = jacbench.MLP.random(L=2, D=3, K=4, P=2)
    >>> jacbench.jacobian(net, torch.zeros(3), mode="jax-jacrev").shape  # doctest: +SKIP
    torch.Size([2, 3])

Precision: both frameworks multiply at the precision torch is set to for float32 matrix
products (``torch.get_float32_matmul_precision()``, which the runner sets per point): "highest"
gives every product ``precision=HIGHEST``, so a float32 point is true float32 in both (JAX's
default on a GPU is TF32: its Jacobians then differ from the float64 reference by ~7e-4, above
the float32 tolerance). The precision is part of the traced function, so its derivatives (the
transposed and tangent products) carry it too.

GPU memory: JAX would take 75% of a GPU on its first computation; before the first ``import
jax`` this module sets ``XLA_PYTHON_CLIENT_PREALLOCATE=false`` (unless the user set it), so the
free-memory check of later points and torch's own allocations see the device as it is. torch's
memory statistics do not see JAX's buffers: a call's extra device memory is read from XLA's
memory analysis of the compiled program (arguments aside: its temporaries and output).

JAX is optional (``pip install "jacbench[jax]"``): without it, or without a JAX backend for the
point's device (a CUDA-enabled jaxlib for ``cuda``), ``prepare`` raises ``ModeUnavailable``.
``jax_enable_x64`` is switched on so that float64 points run in float64; float32, bfloat16 and
float16 inputs stay in their dtype (JAX's weak typing keeps Python scalars from promoting them).
A tf32 point is float32 arrays with every product at "tensorfloat32" (torch's "high").
"""

from __future__ import annotations

import os
import sys
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from jacbench.model.mlp import MLP
from jacbench.modes.prepared import ModeUnavailable, Prepared

__all__ = ["PRECISION", "jax_jacobian", "matmul_precision", "prepare_jax", "xla_threads"]

INSTALL_HINT = 'pip install "jacbench[jax]"'

#: Converted parameters per model, per JAX device: converted once, dropped with the model.
_PARAMS: weakref.WeakKeyDictionary[MLP, dict[str, Any]] = weakref.WeakKeyDictionary()
#: Jitted Jacobian functions per (rule, activation, batched, precision): JAX caches a trace per
#: shape/dtype.
_JITTED: dict[tuple[str, str, bool, str], Callable[..., Any]] = {}
#: torch's float32 matmul precision -> JAX's precision of every product (see the module doc).
PRECISION = {"highest": "highest", "high": "tensorfloat32", "medium": "bfloat16"}


def xla_threads() -> int:
    """The size of XLA's CPU intra-op pool: ``NPROC`` if set, else the CPUs this process may use."""
    value = os.environ.get("NPROC", "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _import_jax() -> Any:
    """``jax``, imported on first use with its CPU pool sized to torch's thread count."""
    if "jax" not in sys.modules:
        os.environ.setdefault("NPROC", str(torch.get_num_threads()))
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    try:
        import jax
    except ImportError as exc:
        raise ModeUnavailable(f"JAX is not installed ({INSTALL_HINT}): {exc}") from None
    jax.config.update("jax_enable_x64", True)
    # Run each call on the calling thread: the timed call blocks on its result anyway, and JAX's
    # asynchronous CPU dispatch hands every call to a worker thread and back (see module doc).
    jax.config.update("jax_cpu_enable_async_dispatch", False)
    return jax


def _jax_device(jax: Any, device: torch.device) -> Any:
    platform = "cpu" if device.type == "cpu" else "gpu"
    try:
        found = jax.devices(platform)
    except RuntimeError as exc:
        raise ModeUnavailable(f"JAX has no {platform} backend here (for CUDA install "
                              f"jax[cuda12]): {str(exc).splitlines()[0][:200]}") from None
    index = device.index or 0
    if index >= len(found):
        raise ModeUnavailable(f"JAX sees {len(found)} {platform} device(s), not {device}")
    return found[index]


def _params(jax: Any, net: MLP, where: Any) -> Any:
    """The model's weights and biases as JAX arrays on ``where``, converted once per model."""
    per_net = _PARAMS.setdefault(net, {})
    key = str(where)
    if key not in per_net:
        def put(t: torch.Tensor) -> Any:
            return jax.device_put(_numpy(jax, t), where)

        biases = None if net.biases is None else [put(b) for b in net.biases]
        per_net[key] = ([put(W) for W in net.weights], biases)
    return per_net[key]


def _numpy(jax: Any, t: torch.Tensor) -> Any:
    """A tensor as a numpy array of the same dtype (numpy has no bfloat16: JAX's own, through
    float32, which holds every bfloat16 exactly)."""
    t = t.detach().cpu()
    if t.dtype == torch.bfloat16:
        return t.float().numpy().astype(jax.numpy.bfloat16)
    return t.numpy()


def _mlp(jnp: Any, jax_nn: Any, activation: str, precision: str) -> Callable[[Any, Any], Any]:
    """The MLP of one input x (D,) in jax.numpy: the same formula as ``jacbench.model.mlp``,
    every product at ``precision`` (a JAX precision name)."""
    # jax.nn.relu's derivative at 0 is 0, as torch's (jnp.maximum's would be 1/2).
    act = {"tanh": jnp.tanh, "relu": jax_nn.relu, "sigmoid": jax_nn.sigmoid}[activation]

    def mv(W: Any, v: Any) -> Any:
        return jnp.matmul(W, v, precision=precision)

    def f(params: Any, x: Any) -> Any:
        weights, biases = params
        h = mv(weights[0], x)
        for i, W in enumerate(weights[1:], start=1):
            if biases is not None:
                h = h + biases[i - 1]
            h = mv(W, act(h))
        return h if biases is None else h + biases[-1]

    return f


def matmul_precision() -> str:
    """JAX's precision for the products: the one torch is set to (see the module doc)."""
    return PRECISION.get(torch.get_float32_matmul_precision(), "highest")


def _jitted(jax: Any, rule: str, activation: str, batched: bool) -> Callable[..., Any]:
    precision = matmul_precision()
    key = (rule, activation, batched, precision)
    if key not in _JITTED:
        jac = {"jacrev": jax.jacrev, "jacfwd": jax.jacfwd}[rule]
        g = jac(_mlp(jax.numpy, jax.nn, activation, precision), argnums=1)
        _JITTED[key] = jax.jit(jax.vmap(g, in_axes=(None, 0)) if batched else g)
    return _JITTED[key]


def prepare_jax(rule: str, net: MLP, x: torch.Tensor) -> Prepared:
    """``jax.jit(jax.vmap(jax.<rule>(f)))`` made ready at (net, x), ``rule`` being jacrev or
    jacfwd: weights and input on JAX's device, the timed call is the jitted function then
    ``block_until_ready()``."""
    jax = _import_jax()
    where = _jax_device(jax, x.device)
    params = _params(jax, net, where)
    xj = jax.device_put(_numpy(jax, x), where)
    fn = _jitted(jax, rule, net.activation, x.dim() == 2)

    def call() -> Any:
        return fn(params, xj).block_until_ready()

    def to_torch(result: object) -> torch.Tensor:
        found = np.array(result)  # a writable copy
        if found.dtype == jax.numpy.bfloat16:  # torch reads no bfloat16 numpy array
            found = found.astype(np.float32)
        return torch.from_numpy(found).to(dtype=x.dtype, device=x.device)

    on_cpu = where.platform == "cpu"
    return Prepared(call, to_torch, xla_threads() if on_cpu else None,
                    peak_bytes=None if on_cpu else _memory_reader(fn, params, xj))


def _memory_reader(fn: Any, params: Any, xj: Any) -> Callable[[], int | None]:
    """The extra device memory of one call of ``fn``: XLA's count of the compiled program's
    temporaries and output (None where the backend has no memory analysis)."""
    def peak_bytes() -> int | None:
        try:
            memory = fn.lower(params, xj).compile().memory_analysis()
            return int(memory.temp_size_in_bytes + memory.output_size_in_bytes)
        except Exception:  # a backend without memory analysis: unknown, not an error
            return None

    return peak_bytes


def jax_jacobian(rule: str) -> Callable[[MLP, torch.Tensor], torch.Tensor]:
    """The plain ``(net, x) -> J`` function of JAX's jitted ``rule`` (jacrev or jacfwd), as a
    torch tensor on x's device."""

    def jacobian(net: MLP, x: torch.Tensor) -> torch.Tensor:
        ready = prepare_jax(rule, net, x)
        return ready.to_torch(ready.call())

    jacobian.__name__ = f"jax_{rule}"
    return jacobian
