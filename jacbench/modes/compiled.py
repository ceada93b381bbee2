"""torch modes compiled by inductor: the same algorithm as the eager mode, as one compiled program.

- ``<mode>-compiled``: ``torch.compile(lambda x: <mode>(net, x), dynamic=False, fullgraph=True)``
  with ``INDUCTOR_OPTIONS``: what most users try first; it still enters through Python and
  dynamo's guards on every call.
- ``<mode>-compiled-cudagraphs`` and ``<mode>-compiled-autotune`` (CUDA only): torch.compile's
  own ``mode="reduce-overhead"`` (inductor's kernels replayed from CUDA graphs) and
  ``mode="max-autotune"`` (GEMM and kernel configurations autotuned, also replayed from CUDA
  graphs); their output is overwritten by the next call (torch's CUDA graph trees), so each call
  marks a new step (``torch.compiler.cudagraph_mark_step_begin``) and ``jacobian`` returns a copy.
- ``<mode>-aoti``: AOTInductor: ``torch.export`` of the mode on the model, compiled ahead of time
  to a shared library (``torch._inductor.aoti_compile_and_package``) and loaded back
  (``aoti_load_package``): a call is one C++ entry, no guards.

The arithmetic is the eager mode's, so is its cost model: what compiling can save is dispatch
(one call instead of tens of torch operations) and memory traffic (fused elementwise kernels),
not multiply-adds. Both compile on the first call of ``Prepared.call`` (3-15 s per shape on a
2-core CPU, less when inductor's on-disk cache already holds the kernels); the runner's untimed
first call pays it and records it as ``compile_s``, apart from the timed median. Compiled
programs are cached beside the model, per (mode, input shape, dtype, device). A sweep measures
these modes only where asked (``modes`` in a preset's ``[[grid]]``, or ``--modes``).

    >>> import torch, jacbench
    >>> net = jacbench.MLP.random(L=2, D=3, K=4, P=2)
    >>> jacbench.jacobian(net, torch.zeros(3), mode="reverse-aoti").shape  # doctest: +SKIP
    torch.Size([2, 3])
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import weakref
from collections.abc import Callable
from functools import partial

import torch

from jacbench.catalog import IMPLEMENTATIONS
from jacbench.model.mlp import MLP
from jacbench.modes.prepared import ModeUnavailable, Prepared

__all__ = ["COMPILE_SETTINGS", "INDUCTOR_OPTIONS", "compiled_jacobian", "prepare_compiled"]

JacobianFn = Callable[[MLP, torch.Tensor], torch.Tensor]
Program = Callable[[torch.Tensor], torch.Tensor]

#: Inductor settings for torch.compile, the fastest of default, cpp_wrapper and
#: max-autotune-no-cudagraphs at the three shapes we measured (CHANGELOG): cpp_wrapper calls the
#: generated kernels from C++ rather than from Python, 0-8% faster than the default.
INDUCTOR_OPTIONS: dict[str, object] = {"cpp_wrapper": True}

#: torch.compile's settings per implementation (the catalogue's name): the CPU's inductor
#: options, and torch's own modes for the GPU peers (torch.compile takes a mode or options, not
#: both; "max-autotune" also replays CUDA graphs, "max-autotune-no-cudagraphs" would not).
COMPILE_SETTINGS: dict[str, dict[str, object]] = {
    "torch.compile": {"options": INDUCTOR_OPTIONS},
    "torch.compile-cudagraphs": {"mode": "reduce-overhead"},
    "torch.compile-autotune": {"mode": "max-autotune"},
}
#: The implementations whose programs replay CUDA graphs: a call's output lives until the next.
REPLAYED = frozenset(how for how, settings in COMPILE_SETTINGS.items()
                     if settings.get("mode") in ("reduce-overhead", "max-autotune"))

#: Distinct shapes one process may compile a mode at: dynamo's default (8) would silently fall
#: back to eager after the eighth point of a sweep; past this limit compiling fails loudly.
RECOMPILE_LIMIT = 4096

#: Compiled programs per model: (mode, shape, dtype, device) -> program; dropped with the model.
_CACHE: weakref.WeakKeyDictionary[MLP, dict[tuple, Program]] = weakref.WeakKeyDictionary()


def _torch_compile(how: str, eager: JacobianFn, net: MLP, x: torch.Tensor) -> Program:
    dynamo = torch._dynamo.config
    dynamo.recompile_limit = max(dynamo.recompile_limit, RECOMPILE_LIMIT)
    dynamo.accumulated_recompile_limit = max(dynamo.accumulated_recompile_limit, RECOMPILE_LIMIT)
    dynamo.fail_on_recompile_limit_hit = True
    settings = {k: dict(v) if isinstance(v, dict) else v for k, v in COMPILE_SETTINGS[how].items()}
    program = torch.compile(lambda x: eager(net, x), dynamic=False, fullgraph=True, **settings)
    program(x)  # compile now, inside the call that pays for it
    return program


def _check_device(how: str, device: torch.device) -> None:
    """ModeUnavailable where the implementation does not run on this device (its catalogue
    entry's devices): CUDA graphs and GPU autotuning on a CPU, say."""
    devices = IMPLEMENTATIONS[how].devices
    if device.type not in devices:
        raise ModeUnavailable(f"{how} runs on {' or '.join(devices)} only, not on {device}")


class _Exported(torch.nn.Module):
    """The mode on the model as a module, for torch.export: weights and biases as buffers."""

    def __init__(self, eager: JacobianFn, net: MLP) -> None:
        super().__init__()
        self.eager, self.activation, self.n = eager, net.activation, len(net.weights)
        for i, W in enumerate(net.weights):
            self.register_buffer(f"W{i}", W)
        for i, b in enumerate(net.biases or ()):
            self.register_buffer(f"b{i}", b)
        self.bias = net.biases is not None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = [getattr(self, f"W{i}") for i in range(self.n)]
        biases = [getattr(self, f"b{i}") for i in range(self.n)] if self.bias else None
        return self.eager(MLP(weights, biases, self.activation), x)


#: Whether AOTInductor's loader survives a package on each device type in this process's torch
#: ("" if it does, else why not): found once per process, in a child process.
_LOADER: dict[str, str] = {}
#: Seconds the child may take to import torch and load one package, and what it runs.
LOADER_CHECK_S = 300
LOADER_CODE = "import sys, torch; torch._inductor.aoti_load_package(sys.argv[1])"


def _loader_check(path: str, device_type: str) -> None:
    """Raise ModeUnavailable where loading an AOTInductor package would crash this process.

    On a GPU machine (torch 2.11+cu130) ``aoti_load_package`` ended the whole process with a
    segmentation fault; a crash cannot be caught, so the first package of each device type is
    loaded in a child process first, and the verdict is kept for the rest of the process.
    """
    if device_type not in _LOADER:
        try:
            child = subprocess.run([sys.executable, "-c", LOADER_CODE, path], capture_output=True,
                                   text=True, timeout=LOADER_CHECK_S)
            code_ = child.returncode
            _LOADER[device_type] = "" if code_ == 0 else (
                f"AOTInductor's loader crashed a test process ({_exit_name(code_)}) with torch "
                f"{torch.__version__} on {device_type}; not loaded here"
                + (f": {child.stderr.strip().splitlines()[-1][:200]}"
                   if code_ > 0 and child.stderr.strip() else ""))
        except subprocess.TimeoutExpired:
            _LOADER[device_type] = (f"AOTInductor's loader took over {LOADER_CHECK_S} s in a "
                                    "test process; not loaded here")
    if _LOADER[device_type]:
        raise ModeUnavailable(_LOADER[device_type])


def _exit_name(returncode: int) -> str:
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


def _aoti(eager: JacobianFn, net: MLP, x: torch.Tensor) -> Program:
    exported = torch.export.export(_Exported(eager, net), (x,))
    with tempfile.TemporaryDirectory(prefix="jacbench-aoti-") as folder:
        path = torch._inductor.aoti_compile_and_package(
            exported, package_path=os.path.join(folder, "mode.pt2"))
        _loader_check(path, x.device.type)
        return torch._inductor.aoti_load_package(path)


#: How each inductor implementation (the catalogue's name) compiles an eager function.
_COMPILERS: dict[str, Callable[[JacobianFn, MLP, torch.Tensor], Program]] = {
    **{how: partial(_torch_compile, how) for how in COMPILE_SETTINGS}, "aoti": _aoti}


def _program(mode: str, eager: JacobianFn, how: str, net: MLP, x: torch.Tensor) -> Program:
    per_net = _CACHE.setdefault(net, {})
    key = (mode, tuple(x.shape), x.dtype, str(x.device))
    if key not in per_net:
        _check_device(how, x.device)
        per_net[key] = _COMPILERS[how](eager, net, x)
    return per_net[key]


def _as_tensor(result: object) -> torch.Tensor:
    assert isinstance(result, torch.Tensor)
    return result


def prepare_compiled(mode: str, eager: JacobianFn, how: str, net: MLP,
                     x: torch.Tensor) -> Prepared:
    """``mode`` made ready at (net, x): its first call compiles (the runner's untimed check pays
    and records it), every later call runs the compiled program."""
    _check_device(how, x.device)
    program: Program | None = None
    new_step = torch.compiler.cudagraph_mark_step_begin if how in REPLAYED else None

    def call() -> torch.Tensor:
        nonlocal program
        if program is None:
            program = _program(mode, eager, how, net, x)
        if new_step is not None:
            new_step()
        return program(x)

    return Prepared(call, _as_tensor, torch.get_num_threads())


def compiled_jacobian(mode: str, eager: JacobianFn, how: str) -> JacobianFn:
    """The plain ``(net, x) -> J`` function of ``mode``: ``eager`` compiled by ``how`` (an
    inductor implementation of the catalogue) on first use."""

    def jacobian(net: MLP, x: torch.Tensor) -> torch.Tensor:
        program = _program(mode, eager, how, net, x)
        if how not in REPLAYED:
            return program(x)
        torch.compiler.cudagraph_mark_step_begin()
        return program(x).clone()  # the next replay overwrites the program's own output

    jacobian.__name__ = mode.replace("-", "_")
    jacobian.__doc__ = f"{eager.__name__} compiled by {how} (inductor)."
    return jacobian
