"""torch.compile's GPU peers (``jacbench.modes.compiled``): each implementation hands torch.compile
its own settings (recorded through a stand-in for torch.compile, so nothing compiles here), the
CUDA-only ones are unavailable on a CPU before anything compiles, and the ones that replay CUDA
graphs mark a new step before each call and hand users a copy. The real compiles, and
AOTInductor on CUDA, run in the tests marked ``cuda``.
"""

from __future__ import annotations

import pytest
import torch
from cases import Case, assert_matches_reference

import jacbench
from jacbench import catalog
from jacbench.modes import compiled
from jacbench.modes.prepared import ModeUnavailable
from jacbench.modes.registry import EAGER_FUNCTIONS, prepare
from jacbench.results.point import Point
from jacbench.run import check
from jacbench.run.case import build_case

GPU_PEERS = {"torch.compile-cudagraphs": {"mode": "reduce-overhead"},
             "torch.compile-autotune": {"mode": "max-autotune"}}
GPU_MODES = tuple(m for m, info in catalog.CATALOG.items() if info.implementation in GPU_PEERS)


class RecordedCompile:
    """torch.compile as a recorder: keeps each call's keywords and returns the function
    uncompiled; under a torch mode (CUDA graphs) it returns one output buffer that every call
    overwrites, as torch's CUDA graph trees do."""

    def __init__(self) -> None:
        self.calls: list[dict[str, object]] = []

    def __call__(self, fn, **kwargs):
        self.calls.append(kwargs)
        if "mode" not in kwargs:
            return fn
        kept: list[torch.Tensor] = []

        def replayed(x: torch.Tensor) -> torch.Tensor:
            J = fn(x)
            if kept:
                return kept[0].copy_(J)
            kept.append(J)
            return J

        return replayed


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> RecordedCompile:
    recorder = RecordedCompile()
    monkeypatch.setattr(torch, "compile", recorder)
    return recorder


def test_the_gpu_peers_are_cuda_only_compiled_modes_of_the_torch_compile_algorithms():
    names = [f"{a}-compiled-{how}" for how in ("cudagraphs", "autotune")
             for a in ("forward", "reverse", "chain", "jacrev")]
    assert list(GPU_MODES) == names
    for mode in GPU_MODES:
        info = catalog.CATALOG[mode]
        assert (info.family, info.devices, info.default) == (catalog.COMPILED, ("cuda",), False)
        assert not info.runs.probed and info.runs.program
    assert "reverse-compiled-autotune" in catalog.jacbench_modes()


@pytest.mark.parametrize(("how", "settings"), [
    ("torch.compile", {"options": compiled.INDUCTOR_OPTIONS}), *GPU_PEERS.items()])
def test_each_implementation_hands_torch_compile_its_own_settings(how, settings, recorded):
    net, x = Case(2, 3, 4, 2, 2, seed=1).build(torch.float64)
    program = compiled._COMPILERS[how](EAGER_FUNCTIONS["reverse"], net, x)
    assert recorded.calls == [{"dynamic": False, "fullgraph": True, **settings}]
    assert (how in compiled.REPLAYED) == ("mode" in settings)  # CUDA graphs: a copy for users
    if "options" in settings:  # a copy: inductor may not change the module's own settings
        assert recorded.calls[0]["options"] is not compiled.INDUCTOR_OPTIONS
    assert_matches_reference(program(x), net, x, how)  # the eager mode's function, wired through


@pytest.mark.parametrize("mode", GPU_MODES)
def test_on_a_cpu_each_gpu_peer_is_unavailable_before_anything_compiles(mode, recorded):
    net, x = Case(2, 3, 4, 2, None, seed=1).build(torch.float32)
    says = f"{catalog.CATALOG[mode].implementation} runs on cuda only, not on cpu"
    with pytest.raises(ModeUnavailable, match=says):
        prepare(net, x, mode)
    with pytest.raises(ModeUnavailable, match=says):
        jacbench.jacobian(net, x, mode)
    point = Point("cpu", "float32", "tanh", False, 2, 3, 4, 2, 1)
    outcome, ready = check.check_mode(build_case(point), point, mode, 5.0)
    assert (outcome.status, outcome.reason, ready) == ("unavailable", says, None)
    assert recorded.calls == []


def test_a_peer_that_replays_graphs_marks_each_step_and_hands_users_a_copy(recorded, monkeypatch):
    steps = []
    monkeypatch.setattr(torch.compiler, "cudagraph_mark_step_begin", lambda: steps.append(1))
    monkeypatch.setattr(compiled, "_check_device", lambda how, device: None)  # a CPU as a GPU
    net, x = Case(3, 4, 5, 3, 2, "tanh", True, seed=6).build(torch.float64)
    ready = prepare(net, x, "chain-compiled-cudagraphs")
    J = ready.to_torch(ready.call())
    ready.call()
    assert len(steps) == 2 and recorded.calls[0]["mode"] == "reduce-overhead"
    assert_matches_reference(J, net, x, "chain-compiled-cudagraphs")
    mine = jacbench.jacobian(net, x, "chain-compiled-cudagraphs")
    assert len(steps) == 3 and len(recorded.calls) == 1  # the cached program, a step marked
    torch.testing.assert_close(mine, J)
    ready.call()  # overwrites the program's output buffer, and so J, with the same values
    program = compiled._CACHE[net][("chain-compiled-cudagraphs", (2, 4), torch.float64, "cpu")]
    program(2 * x)  # overwrites it with another Jacobian: the user's copy stays as it was
    assert not torch.allclose(J, mine)
    assert_matches_reference(mine, net, x, "the user's copy")


# max-autotune is left out here: it benchmarks kernel candidates for a minute or more per shape,
# past the time benchmarks/gpu_check.sh gives the CUDA-marked tests.
@pytest.mark.cuda
@pytest.mark.parametrize("mode", ["reverse-compiled-cudagraphs", "reverse-aoti"])
def test_on_a_gpu_each_peer_compiles_and_agrees_with_the_reference(mode):
    net, x = Case(3, 6, 8, 4, 5, "tanh", True, seed=5).build(torch.float32, "cuda")
    ready = prepare(net, x, mode)
    try:
        J = ready.to_torch(ready.call()).clone()
    except ModeUnavailable as exc:  # AOTInductor's loader, checked in a child process first
        pytest.skip(str(exc))
    assert_matches_reference(J, net, x, mode)
    torch.testing.assert_close(ready.to_torch(ready.call()), J)
    torch.testing.assert_close(jacbench.jacobian(net, x, mode), J)
