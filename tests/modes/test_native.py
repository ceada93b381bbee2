"""The native modes: the hand-written algorithms as one C call, checked against the float64
reference like every mode, and their plan's state (cache, rebuild, threads, unavailability)."""

from __future__ import annotations

import time

import pytest
import torch
from cases import DTYPES, EDGE_CASES, LARGE_CASES, PLAN_SHAPES, Case, cases, check_agrees, shape_id
from hypothesis import given, settings

import jacbench
from jacbench import catalog
from jacbench.modes import native, native_library
from jacbench.modes.prepared import ModeUnavailable
from jacbench.modes.registry import prepare
from jacbench.results.point import Point
from jacbench.run import check
from jacbench.run.case import build_case
from jacbench.theory.chain_plan import chain_plan

NATIVE_MODES = tuple(m for m, info in catalog.CATALOG.items() if info.implementation == "native")
BY_MODE = pytest.mark.parametrize("mode", NATIVE_MODES)


@BY_MODE
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("case", [*EDGE_CASES.values(), *LARGE_CASES.values()],
                         ids=[*EDGE_CASES, *LARGE_CASES])
def test_native_mode_matches_the_reference_at_fixed_cases(mode, dtype, case):
    check_agrees(mode, case, dtype)


@BY_MODE
@settings(max_examples=40, deadline=None)
@given(case=cases())
def test_native_mode_matches_the_reference_at_drawn_cases(mode, case):
    check_agrees(mode, case, torch.float64)


@BY_MODE
def test_native_mode_equals_its_eager_algorithm_to_rounding(mode):
    net, x = Case(6, 9, 17, 5, 4, "tanh", True, seed=3).build(torch.float64)
    eager = catalog.CATALOG[mode].eager
    torch.testing.assert_close(jacbench.jacobian(net, x, mode), jacbench.jacobian(net, x, eager),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [*PLAN_SHAPES, (6, 512, 16, 512), (5, 40, 3, 60)],
                         ids=shape_id)
def test_chain_program_does_the_plans_multiply_adds_and_scalings(shape):
    plan = chain_plan(*shape)
    program, sizes = native.chain_program(*shape)
    assert len(program) == len(sizes) == shape[0]  # L + 1 factors: L products
    assert sum(m * k * n for *_, m, k, n, _ in program) == plan.matmul_macs
    assert sum(k * min(m, n) for *_, m, k, n, _ in program) == plan.elementwise_macs
    assert program[-1][4:7] == (shape[3], program[-1][5], shape[1])  # the root is P×D


@pytest.mark.parametrize("shape", [s for s in PLAN_SHAPES if chain_plan(*s).kind == "mixed"],
                         ids=shape_id)
@pytest.mark.parametrize("N", [None, 3])
def test_chain_native_runs_mixed_plans_sample_by_sample(shape, N):
    check_agrees("chain-native", Case(*shape, N, "sigmoid", True, seed=4), torch.float64)


@pytest.mark.parametrize("final_t", [0, 1])
@pytest.mark.parametrize("serial_macs", [0, 2**62])
@pytest.mark.parametrize("case", [Case(3, 4, 9, 6, None, "tanh", True, seed=6),
                                  Case(2, 7, 3, 11, 4, "relu", False, seed=7),  # D·P > K·max
                                  Case(2, 70, 120, 90, 4, "sigmoid", True, seed=8),
                                  Case(3, 300, 200, 310, None, "tanh", False, seed=9),
                                  Case(3, 40, 6, 50, 5, "relu", True, seed=10)],
                         ids=["single", "narrow-K-batch", "parallel-scalings",
                              "parallel-chain-scalings", "chain-program-batch"])
def test_every_tuned_choice_gives_the_same_jacobian(case, final_t, serial_macs):
    """Whatever the first call's timing picks (threads per product, forward's final product
    as Jᵀ or J), the Jacobian is the reference's."""
    net, x = case.build(torch.float64)
    for kind in ("forward", "reverse", "chain"):
        plan = native.NativePlan(kind, net, tuple(x.shape), 2)
        plan._net.final_t, plan._net.serial_macs = final_t, serial_macs
        plan._net.across = final_t  # a program's samples split over threads, or in turn
        torch.testing.assert_close(plan(x), jacbench.jacobian(net, x, kind), rtol=1e-12,
                                   atol=1e-12)


def test_plan_is_rebuilt_when_the_weights_change_in_place_or_the_shape_changes():
    net, x = Case(3, 4, 5, 3, None, "sigmoid", False, seed=1).build(torch.float64)
    before = jacbench.jacobian(net, x, "reverse-native")
    with torch.no_grad():
        net.weights[1].mul_(2.0)  # in place: the plan's pointers stay valid, its key must not
    after = jacbench.jacobian(net, x, "reverse-native")
    torch.testing.assert_close(after, jacbench.jacobian(net, x, "reverse"))
    assert not torch.allclose(before, after)
    batch = torch.randn(3, 4, dtype=torch.float64)
    torch.testing.assert_close(jacbench.jacobian(net, batch, "reverse-native"),
                               jacbench.jacobian(net, batch, "reverse"))


def test_non_contiguous_input_is_read_correctly():
    net, x = Case(2, 6, 4, 3, 5, "tanh", False, seed=2).build(torch.float64)
    strided = torch.randn(6, 5, dtype=torch.float64).T  # (5, 6), not contiguous
    torch.testing.assert_close(jacbench.jacobian(net, strided, "forward-native"),
                               jacbench.jacobian(net, strided, "forward"))
    del x


@pytest.mark.parametrize("threads", [1, 2])
def test_thread_choice_is_one_or_the_callers_and_leaves_torch_alone(threads):
    net, x = Case(3, 2, 8, 3, None, "tanh", False).build(torch.float32)
    before = torch.get_num_threads()
    plan = native.NativePlan("reverse", net, tuple(x.shape), threads)
    assert plan.threads in {1, threads} if native_library.kernel().sets_threads else True
    plan(x)
    assert torch.get_num_threads() == before


def test_prepared_native_mode_reports_its_threads_and_gives_the_jacobian():
    net, x = Case(2, 3, 4, 2, None, "relu", True, seed=5).build(torch.float32)
    ready = prepare(net, x, "forward-native")
    assert ready.threads is not None and ready.threads >= 1
    torch.testing.assert_close(ready.to_torch(ready.call()), jacbench.jacobian(net, x, "forward"))


@pytest.mark.parametrize(("dtype", "device", "says"), [(torch.float16, "cpu", "float16"),
                                                       (torch.float32, "meta", "CPU only")])
def test_other_dtypes_and_devices_are_unavailable_with_the_reason(dtype, device, says):
    net = jacbench.MLP.random(2, 3, 4, 2, dtype=dtype, device=device)
    with pytest.raises(ModeUnavailable, match=says):
        native.NativePlan("forward", net, (3,), 1)


def test_kernel_is_built_once_into_the_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("JACBENCH_CACHE", str(tmp_path))
    built = native_library._build(native_library._compiler())
    assert built.parent == tmp_path / "native" and built.exists()
    stamp = built.stat().st_mtime_ns
    assert native_library._build(native_library._compiler()) == built
    assert built.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in built.parent.iterdir()) == [  # no temporaries left
        built.with_suffix(".check").name, built.name]


def test_missing_compiler_and_failed_build_are_unavailable(tmp_path, monkeypatch):
    monkeypatch.setenv("JACBENCH_CACHE", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CC", raising=False)
    with pytest.raises(ModeUnavailable, match="no C compiler"):
        native_library._compiler()
    fake = tmp_path / "cc"
    fake.write_text("#!/bin/sh\necho 'fake: error: nothing compiles here' >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(ModeUnavailable, match="did not compile: fake: error"):
        native_library._build(str(fake))
    assert not list((tmp_path / "native").iterdir())


def test_an_unavailable_kernel_is_found_once_and_said_every_time(monkeypatch):
    attempts = []

    def no_compiler() -> str:
        attempts.append(1)
        raise ModeUnavailable("no C compiler (cc or gcc, or $CC) to build the native kernel")

    monkeypatch.setattr(native_library, "_compiler", no_compiler)
    native_library._load.cache_clear()
    try:
        for _ in range(3):
            with pytest.raises(ModeUnavailable, match="no C compiler"):
                native_library.kernel()
        assert len(attempts) == 1
        net = jacbench.MLP.random(2, 3, 4, 2)
        with pytest.raises(ModeUnavailable, match="no C compiler"):
            prepare(net, torch.zeros(3), "chain-native")
    finally:
        native_library._load.cache_clear()


def test_the_sweeps_check_counts_the_plans_build_as_one_off_cost(monkeypatch):
    """The plan is built in ``prepare``; the check times that with the first call, so the
    one-off cost (compile_s) holds it and the timed median never does."""
    built = native.NativePlan.__init__

    def slow_build(self, *args, **kwargs):
        time.sleep(0.05)
        built(self, *args, **kwargs)

    monkeypatch.setattr(native.NativePlan, "__init__", slow_build)
    point = Point("cpu", "float32", "tanh", False, 2, 3, 4, 2, 1)
    outcome, ready = check.check_mode(build_case(point), point, "reverse-native",
                                      max_call_time=1.0)
    assert outcome.status == "ok" and ready is not None
    assert outcome.compile_s >= 0.05 > outcome.call_s
    assert outcome.mode_threads in {1, torch.get_num_threads()}
