"""Modes captured as CUDA graphs (``jacbench.modes.graphs``): the flow through a fake capturer on
the CPU (warm up, capture once per point, copy each input into the static input, replay into the
static output), checked against the float64 reference; a capture torch refuses becomes an
``unavailable`` row with its reason; on a CPU the real capturer refuses at once. The real
torch.cuda path runs in the tests marked ``cuda``.
"""

from __future__ import annotations

import dataclasses
from functools import partial

import pytest
import torch
from cases import Case, assert_matches_reference
from fakes import FakeCapturer

import jacbench
from jacbench import catalog
from jacbench.analysis.compiled import FAMILY_ORDER
from jacbench.model.reference import reference_jacobian
from jacbench.modes import graphs
from jacbench.modes.prepared import ModeUnavailable
from jacbench.modes.registry import MODES, prepare
from jacbench.results.point import Point
from jacbench.run import check
from jacbench.run.case import build_case

GRAPH_MODES = tuple(m for m, info in catalog.CATALOG.items() if info.implementation == "cuda-graph")
POINT = Point("cpu", "float64", "tanh", True, 3, 4, 5, 3, 2)


@pytest.fixture
def capturers(monkeypatch: pytest.MonkeyPatch) -> list[FakeCapturer]:
    """Every capturer the graph modes make, each a fake that runs on the CPU."""
    made: list[FakeCapturer] = []

    def fake(device: torch.device) -> FakeCapturer:
        made.append(FakeCapturer())
        return made[-1]

    monkeypatch.setattr(graphs, "CAPTURER", fake)
    return made


def test_the_graph_modes_are_the_hand_written_and_torch_func_ones_as_a_family_of_their_own():
    assert GRAPH_MODES == ("forward-graph", "reverse-graph", "chain-graph", "jacrev-graph",
                           "jacfwd-graph")
    for mode in GRAPH_MODES:
        info = catalog.CATALOG[mode]
        assert (info.family, info.devices, info.runs.program) == (catalog.GRAPH, ("cuda",), True)
        assert catalog.compiled_pairs()[mode] == info.algorithm  # set beside its eager mode
    ours = {"forward-graph", "reverse-graph", "chain-graph"}
    assert ours <= catalog.jacbench_modes()
    assert not {"jacrev-graph", "jacfwd-graph"} & catalog.jacbench_modes()
    assert not set(GRAPH_MODES) & catalog.hand_written()  # shown apart from the eager ones
    assert catalog.GRAPH in FAMILY_ORDER


@pytest.mark.parametrize("mode", GRAPH_MODES)
def test_on_a_cpu_a_graph_mode_is_unavailable_with_the_reason(mode):
    net, x = Case(2, 3, 4, 2, None, seed=1).build(torch.float32)
    with pytest.raises(ModeUnavailable, match="CUDA device only, not on cpu"):
        prepare(net, x, mode)
    with pytest.raises(ModeUnavailable, match="CUDA device only"):
        jacbench.jacobian(net, x, mode)
    outcome, ready = check.check_mode(build_case(POINT), POINT, mode, 5.0)
    assert (outcome.status, ready) == ("unavailable", None)
    assert outcome.reason == "CUDA graphs capture on a CUDA device only, not on cpu"


@pytest.mark.parametrize("batch", [None, 3])
@pytest.mark.parametrize("mode", GRAPH_MODES)
def test_a_point_is_captured_once_and_each_call_replays_into_the_static_output(
        mode, batch, capturers):
    net, x = Case(3, 4, 5, 3, batch, "tanh", True, seed=2).build(torch.float64)
    ready = prepare(net, x, mode)
    assert [c.events for c in capturers] == [["warm_up", "capture"]]  # paid in prepare
    (fake,) = capturers
    assert fake.out is not None and torch.isnan(fake.out).all()  # nothing ran in the capture
    results = [ready.to_torch(ready.call()) for _ in range(3)]
    assert fake.events == ["warm_up", "capture", "replay", "replay", "replay"]
    assert all(J is fake.out for J in results)  # the static output, not a new tensor
    assert_matches_reference(results[-1], net, x, mode)
    torch.testing.assert_close(results[-1], jacbench.jacobian(net, x, catalog.CATALOG[mode].eager))


def test_each_call_copies_its_input_into_the_static_input_before_the_replay(capturers):
    net, x = Case(3, 4, 5, 3, 2, "tanh", True, seed=3).build(torch.float64)
    other = torch.randn_like(x)
    ready = prepare(net, x, "reverse-graph")
    x.copy_(other)  # the point's input changes in place: the graph must see it
    torch.testing.assert_close(ready.to_torch(ready.call()), reference_jacobian(net, other)
                               .to(x.dtype))
    # jacobian(): one capture per (net, shape), a new input every call, J a copy of its own
    first = jacbench.jacobian(net, x, "chain-graph")
    second = jacbench.jacobian(net, 2 * x, "chain-graph")
    assert [c.events.count("capture") for c in capturers] == [1, 1]
    assert_matches_reference(first, net, x, "chain-graph at x")
    assert_matches_reference(second, net, 2 * x, "chain-graph at 2x")
    assert not torch.allclose(first, second)  # the second replay left the first J alone
    jacbench.jacobian(net, x[:1], "chain-graph")  # another input shape: another graph
    assert len(capturers) == 3


def test_the_runner_checks_the_replayed_output_and_counts_the_capture_as_one_off(capturers):
    outcome, ready = check.check_mode(build_case(POINT), POINT, "reverse-graph", 5.0)
    assert outcome.status == "ok" and ready is not None
    assert outcome.rel_error is not None and outcome.rel_error <= 1e-10
    assert outcome.compile_s is not None
    # prepared once (one capture), then the checked call and the warm call replay
    assert [c.events for c in capturers] == [["warm_up", "capture", "replay", "replay"]]


def _refused() -> RuntimeError:
    """A broken capture as torch raises it: ending the capture fails over the first error."""
    try:
        raise RuntimeError("operation not permitted when stream is capturing\nmore detail")
    except RuntimeError:
        try:
            raise RuntimeError("CUDA error: operation failed due to a previous error during "
                               "capture")
        except RuntimeError as exc:
            return exc


@pytest.mark.parametrize(("fail", "status", "says"), [
    (_refused(), "unavailable",
     "CUDA graph capture failed: RuntimeError: operation not permitted when stream is capturing"),
    (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"), "oom",
     "OutOfMemoryError: CUDA out of memory. Tried to allocate 2 GiB"),
])
def test_a_capture_that_fails_is_a_row_with_torchs_reason(fail, status, says, monkeypatch):
    monkeypatch.setattr(graphs, "CAPTURER", lambda device: FakeCapturer(fail=fail))
    outcome, ready = check.check_mode(build_case(POINT), POINT, "forward-graph", 5.0)
    assert (outcome.status, ready) == (status, None)
    assert outcome.reason == says


def test_a_warm_up_that_fails_is_the_modes_own_error_not_unavailable(monkeypatch, capturers):
    def broken(net, x):
        raise ValueError("the eager mode is broken")

    graph = MODES["forward-graph"]
    monkeypatch.setitem(MODES, "forward-graph",
                        dataclasses.replace(graph, prepare=partial(graphs.prepare_graph, broken)))
    outcome, _ = check.check_mode(build_case(POINT), POINT, "forward-graph", 5.0)
    assert (outcome.status, outcome.reason) == ("error", "ValueError: the eager mode is broken")
    assert [c.events for c in capturers] == [["warm_up"]]  # never captured


@pytest.mark.cuda
@pytest.mark.parametrize("mode", GRAPH_MODES)
def test_on_a_gpu_each_graph_mode_captures_and_agrees_with_the_reference(mode):
    net, x = Case(3, 6, 8, 4, 5, "tanh", True, seed=5).build(torch.float32, "cuda")
    ready = prepare(net, x, mode)
    J = ready.to_torch(ready.call()).clone()
    assert_matches_reference(J, net, x, mode)
    assert ready.peak_bytes is not None and ready.peak_bytes() >= J.numel() * J.element_size()
    x.mul_(0.5)  # a new input in the static input's place
    torch.testing.assert_close(ready.to_torch(ready.call()),
                               jacbench.jacobian(net, x, catalog.CATALOG[mode].eager))
    torch.testing.assert_close(jacbench.jacobian(net, x, mode),
                               jacbench.jacobian(net, x, catalog.CATALOG[mode].eager))


@pytest.mark.cuda
def test_on_a_gpu_a_host_read_in_the_capture_makes_the_mode_unavailable():
    def reads_back(net, x):
        return x * float(x.sum())  # .item() under capture: torch refuses

    net, x = Case(2, 3, 4, 2, None, seed=1).build(torch.float32, "cuda")
    with pytest.raises(ModeUnavailable, match="CUDA graph capture failed"):
        graphs.capture(reads_back, net, x)
    torch.cuda.synchronize()  # the device is usable after the refused capture
    assert_matches_reference(jacbench.jacobian(net, x, "reverse-graph"), net, x, "after")
