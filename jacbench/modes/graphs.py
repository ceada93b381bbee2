"""Modes captured once as a CUDA graph and replayed: the same kernels, one launch per Jacobian.

An eager mode on a GPU is launch-bound up to the millisecond range: tens of torch calls of about
10 us of host time each (FINDINGS, GPU: reverse at L=10, D=2, K=30, P=10 took 596 us eager and
70-80 us replayed from a graph). ``<mode>-graph`` records the eager mode's kernels once per point
and replays them; the arithmetic, and so the cost model, is the eager mode's.

Per point (``capture``): a copy of the input becomes the graph's static input; the eager mode
runs ``WARM_UP_CALLS`` times on a side stream (lazy initialisation, cuBLAS workspaces and the
chain plan's cache all happen outside the graph), then once under capture, which records the
kernels without running them. A call copies its input into the static input (a graph reads the
buffers it captured, never a new tensor), replays, and returns the static output, which the next
replay overwrites (``graph_jacobian`` hands users a copy). The capture happens in ``prepare``,
whose time the runner's untimed first call includes: it is the row's ``compile_s``, apart from
the timed replays.

The capture goes through a ``Capturer`` (warm_up, capture, replay) so that tests drive this flow
on a CPU with a fake; ``CAPTURER`` makes the real one for a device and refuses anything but a
CUDA device (``ModeUnavailable``). A capture torch refuses (an operation that reads a value back
to the host, say) makes the mode unavailable, with torch's reason in one line.

    >>> import torch, jacbench
    >>> net = jacbench.MLP.random(L=2, D=3, K=4, P=2, device="cuda")  # doctest: +SKIP
    >>> x = torch.zeros(3, device="cuda")  # doctest: +SKIP
    >>> jacbench.jacobian(net, x, mode="reverse-graph").shape  # doctest: +SKIP
    torch.Size([2, 3])
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch

from jacbench.model.mlp import MLP
from jacbench.modes.prepared import ModeUnavailable, Prepared

__all__ = ["CAPTURER", "WARM_UP_CALLS", "Capturer", "CudaGraphCapturer", "Graph", "capture",
           "graph_jacobian", "prepare_graph"]

JacobianFn = Callable[[MLP, torch.Tensor], torch.Tensor]
Step = Callable[[], torch.Tensor]

#: Eager calls before the capture, on the side stream (torch's documentation warms up with 3).
WARM_UP_CALLS = 3


class Capturer(Protocol):
    """Records one call's kernels and replays them: the seam a test's fake drives on a CPU."""

    def warm_up(self, step: Step) -> None:
        """Run ``step`` eagerly until nothing in it is first-time any more."""

    def capture(self, step: Step) -> torch.Tensor:
        """Record ``step``'s kernels; returns its output buffer, filled by each replay."""

    def replay(self) -> None:
        """Run the recorded kernels again, on the buffers they were recorded with."""


class CudaGraphCapturer:
    """torch.cuda.CUDAGraph on one device, warmed up and captured on a side stream of it."""

    def __init__(self, device: torch.device) -> None:
        self.stream = torch.cuda.Stream(device)
        self.graph = torch.cuda.CUDAGraph()

    def warm_up(self, step: Step) -> None:
        self.stream.wait_stream(torch.cuda.current_stream(self.stream.device))
        with torch.cuda.stream(self.stream):
            for _ in range(WARM_UP_CALLS):
                step()
        torch.cuda.current_stream(self.stream.device).wait_stream(self.stream)

    def capture(self, step: Step) -> torch.Tensor:
        with torch.cuda.graph(self.graph, stream=self.stream):
            return step()

    def replay(self) -> None:
        self.graph.replay()


def _cuda_capturer(device: torch.device) -> Capturer:
    if device.type != "cuda":
        raise ModeUnavailable(f"CUDA graphs capture on a CUDA device only, not on {device}")
    return CudaGraphCapturer(device)


#: Makes the capturer for a point's device: the seam tests replace with a fake.
CAPTURER: Callable[[torch.device], Capturer] = _cuda_capturer


@dataclass(frozen=True)
class Graph:
    """One mode captured at one (net, input shape): its static buffers and their capturer."""

    capturer: Capturer
    static_x: torch.Tensor
    static_J: torch.Tensor
    #: The weights and biases, kept alive: a replay reads them where they were at the capture.
    kept: tuple[torch.Tensor, ...] = ()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """J at ``x``, in the static output (valid until the next call)."""
        self.static_x.copy_(x)
        self.capturer.replay()
        return self.static_J


def _first_cause(exc: BaseException) -> BaseException:
    """The exception a failed capture started with: ending a broken capture raises its own
    error over the one that broke it."""
    while exc.__context__ is not None:
        exc = exc.__context__
    return exc


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def capture(eager: JacobianFn, net: MLP, x: torch.Tensor) -> Graph:
    """``eager`` at (net, x) warmed up and captured once; ModeUnavailable where the device has
    no graphs or torch refuses the capture (torch's reason in one line). A failure of the warm-up
    is the eager mode's own, raised as it is, and so is running out of memory."""
    capturer = CAPTURER(x.device)
    static_x = x.clone()

    def step() -> torch.Tensor:
        return eager(net, static_x)

    capturer.warm_up(step)
    try:
        static_J = capturer.capture(step)
    except Exception as exc:
        cause = _first_cause(exc)
        if isinstance(cause, torch.OutOfMemoryError):
            raise cause from None
        raise ModeUnavailable(f"CUDA graph capture failed: {_one_line(cause)}") from exc
    return Graph(capturer, static_x, static_J, (*net.weights, *(net.biases or ())))


def _as_tensor(result: object) -> torch.Tensor:
    assert isinstance(result, torch.Tensor)
    return result


def prepare_graph(eager: JacobianFn, net: MLP, x: torch.Tensor) -> Prepared:
    """The mode captured for this point (the one-off cost, paid here); the timed call copies x
    into the static input and replays. A replay allocates nothing, so the device memory the mode
    needs is the peak of its warm-up and capture (kept in the graph's pool), measured here."""
    cuda = x.device if x.device.type == "cuda" else None
    if cuda is not None:
        torch.cuda.reset_peak_memory_stats(cuda)
        base = torch.cuda.memory_allocated(cuda)
    graph = capture(eager, net, x)
    peak = None if cuda is None else torch.cuda.max_memory_allocated(cuda) - base
    return Prepared(lambda: graph(x), _as_tensor, torch.get_num_threads(),
                    peak_bytes=None if peak is None else lambda: peak)


#: Graphs per model for ``graph_jacobian``: (mode, shape, dtype, device) -> graph; dropped with
#: the model (a graph reads the model's weights where they were at the capture).
_CACHE: weakref.WeakKeyDictionary[MLP, dict[tuple, Graph]] = weakref.WeakKeyDictionary()


def graph_jacobian(mode: str, eager: JacobianFn) -> JacobianFn:
    """The plain ``(net, x) -> J`` function of ``mode``: ``eager`` captured on first use at each
    input shape, replayed on every call with the new x; J is a copy the next call leaves alone."""

    def jacobian(net: MLP, x: torch.Tensor) -> torch.Tensor:
        per_net = _CACHE.setdefault(net, {})
        key = (mode, tuple(x.shape), x.dtype, str(x.device))
        if key not in per_net:
            per_net[key] = capture(eager, net, x)
        return per_net[key](x).clone()

    jacobian.__name__ = mode.replace("-", "_")
    jacobian.__doc__ = f"{eager.__name__} captured once as a CUDA graph and replayed."
    return jacobian
