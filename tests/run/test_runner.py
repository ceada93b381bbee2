"""The runner at one point: every status (error, mismatch, skipped, oom, failing while timed),
probe-guarded re-runs, rounds, and the yardsticks per device and dtype.

Sweeps run through the fake machine of tests/fakes.py (``steady_machine``); the modes are really
run on tiny shapes, with a mode replaced in the registry where a test needs it to misbehave.
"""

from __future__ import annotations

import dataclasses
import time

import pandas as pd
import pytest
import torch
from fakes import HEALTHY_GFLOPS, FakeMachine, ScriptedProbe
from test_sweep import only, run, tiny_spec

from jacbench.model.reference import TOLERANCE
from jacbench.modes.registry import MODES
from jacbench.results.folder import read_results
from jacbench.results.point import Point
from jacbench.run import runner
from jacbench.run.instruments import PROBES_AT_START, Yardsticks
from jacbench.run.runner import PointRunner
from jacbench.run.settings import Settings
from jacbench.theory.floors import Ceilings

#: The sweep's yardstick probes before its first point, all healthy.
AT_START = [HEALTHY_GFLOPS] * PROBES_AT_START
POINT = Point("cpu", "float32", "tanh", False, 1, 2, 2, 2, 1)


def replace_mode(monkeypatch, name: str, fn) -> None:
    monkeypatch.setitem(MODES, name, dataclasses.replace(MODES[name], fn=fn))


def real_fn(name: str):
    return MODES[name].fn


def runner_on(machine: FakeMachine, settings: Settings, yardsticks: Yardsticks | None = None
              ) -> PointRunner:
    return PointRunner(settings, {}, yardsticks or Yardsticks(), machine.instruments)


# --- statuses ------------------------------------------------------------------------------------


def test_a_mode_that_raises_is_an_error_row_and_is_rerun_on_resume(tmp_path, steady_machine,
                                                                    monkeypatch):
    def broken(net, x):
        raise RuntimeError("boom at the first layer")

    original = MODES["reverse"]
    replace_mode(monkeypatch, "reverse", broken)
    first, _ = run(tiny_spec(), tmp_path)
    stored = read_results(tmp_path)
    for r in stored.itertuples():
        if r.mode == "reverse":
            assert r.status == "error"
            assert r.reason == "RuntimeError: boom at the first layer"
            assert pd.isna(r.time_median_s) and r.raw_times_s is None
        else:
            assert r.status == "ok" and r.time_median_s > 0
    monkeypatch.setitem(MODES, "reverse", original)
    second, _ = run(tiny_spec(), tmp_path)
    stored = read_results(tmp_path)
    assert second.new_rows == 2
    assert (stored["status"] == "ok").all() and len(stored) == 4
    assert set(stored.loc[stored["mode"] == "forward", "run_id"]) == {first.run_id}


def test_a_wrong_jacobian_is_a_mismatch_not_timed_and_not_rerun(tmp_path, steady_machine,
                                                                 monkeypatch):
    reverse = real_fn("reverse")
    replace_mode(monkeypatch, "reverse", lambda net, x: 1.01 * reverse(net, x))
    run(tiny_spec(), tmp_path)
    stored = read_results(tmp_path)
    bad = stored[stored["mode"] == "reverse"]
    assert (bad["status"] == "mismatch").all()
    assert bad["reason"].str.startswith("relative error").all()
    assert bad["rel_error"].tolist() == pytest.approx([0.01, 0.01], rel=1e-3)
    assert bad["time_median_s"].isna().all() and bad["raw_times_s"].isna().all()
    assert (stored.loc[stored["mode"] == "forward", "status"] == "ok").all()
    # A mismatch is an answer: the same command does not measure it again.
    _, said = run(tiny_spec(), tmp_path)
    assert "nothing to do" in said


def test_a_jacobian_of_the_wrong_shape_is_a_mismatch(tmp_path, steady_machine, monkeypatch):
    forward = real_fn("forward")
    replace_mode(monkeypatch, "forward", lambda net, x: forward(net, x)[..., :1])
    run(tiny_spec(D=(3,)), tmp_path)
    row = only(read_results(tmp_path), mode="forward")
    assert row["status"] == "mismatch"
    assert row["reason"] == "shape (2, 1), expected (2, 3)"


def test_a_mode_slower_than_the_cap_is_skipped_with_the_reason(tmp_path, steady_machine,
                                                                monkeypatch):
    reverse = real_fn("reverse")

    def slow(net, x):
        time.sleep(0.08)
        return reverse(net, x)

    replace_mode(monkeypatch, "reverse", slow)
    run(tiny_spec(max_call_time=0.04), tmp_path)
    stored = read_results(tmp_path)
    for r in stored.itertuples():
        if r.mode == "reverse":
            assert r.status == "skipped"
            assert "--max-call-time 0.04" in r.reason
            assert pd.isna(r.time_median_s)
            assert r.rel_error < TOLERANCE["float32"]  # verified, then found too slow
        else:
            assert r.status == "ok"


def test_out_of_memory_is_an_oom_row(tmp_path, steady_machine, monkeypatch):
    def greedy(net, x):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 1 TiB")

    replace_mode(monkeypatch, "forward", greedy)
    run(tiny_spec(D=(2,)), tmp_path)
    stored = read_results(tmp_path)
    row = only(stored, mode="forward")
    assert row["status"] == "oom" and "out of memory" in row["reason"]
    assert only(stored, mode="reverse")["status"] == "ok"


def _fails_after_verification(monkeypatch, name: str) -> None:
    fn, calls = real_fn(name), []

    def flaky(net, x):
        calls.append(1)
        if len(calls) > 2:  # the check calls it twice (cold, then warm)
            raise RuntimeError("fails on the third call")
        return fn(net, x)

    replace_mode(monkeypatch, name, flaky)


def test_a_mode_failing_while_timed_is_an_error_row(tmp_path, steady_machine, monkeypatch):
    _fails_after_verification(monkeypatch, "reverse")
    run(tiny_spec(D=(2,)), tmp_path)
    row = only(read_results(tmp_path), mode="reverse")
    assert row["status"] == "error"
    assert row["reason"] == "while timing: RuntimeError: fails on the third call"


def test_a_mode_failing_while_timed_spares_the_others(tmp_path, steady_machine, monkeypatch):
    _fails_after_verification(monkeypatch, "reverse")
    run(tiny_spec(D=(2,)), tmp_path)
    assert only(read_results(tmp_path), mode="forward")["status"] == "ok"


# --- speed probes and re-runs --------------------------------------------------------------------


def test_a_probe_dip_that_never_recovers_ends_as_unhealthy(tmp_path, steady_machine):
    steady_machine.probe.values = [*AT_START, 10.0]  # 10% of the healthy probes at the start
    run(tiny_spec(D=(2,)), tmp_path)
    stored = read_results(tmp_path)
    assert (stored["status"] == "unhealthy").all()
    assert stored["reason"].str.contains("speed probe at 10% of the run's best").all()
    settings = Settings()
    assert (stored["retries"] == settings.max_retries).all()
    assert steady_machine.slept == [settings.retry_wait] * settings.max_retries
    assert (stored["time_median_s"] > 0).all()  # measured, but flagged
    assert steady_machine.probe.calls == len(AT_START) + 2 * (settings.max_retries + 1)
    # An unhealthy point is not done: the same command measures it again on a healthy machine.
    steady_machine.probe.values = [HEALTHY_GFLOPS]
    second, _ = run(tiny_spec(D=(2,)), tmp_path)
    stored = read_results(tmp_path)
    assert second.new_rows == 2
    assert (stored["status"] == "ok").all() and (stored["retries"] == 0).all()


def test_a_probe_dip_that_recovers_is_rerun_once(tmp_path, steady_machine):
    steady_machine.probe.values = [*AT_START, HEALTHY_GFLOPS, 20.0, 95.0, HEALTHY_GFLOPS]
    run(tiny_spec(D=(2,)), tmp_path)
    stored = read_results(tmp_path)
    assert (stored["status"] == "ok").all()
    assert (stored["retries"] == 1).all()
    assert steady_machine.slept == [Settings().retry_wait]
    assert (stored["probe_before_gflops"] == 95.0).all()


def test_the_runner_times_the_modes_in_rounds_with_the_probe_around_them(monkeypatch):
    machine = FakeMachine(probe=ScriptedProbe(50.0), slept=[])
    order: list[str] = []
    real_time = runner.time_round_robin

    def watched(fns, **kwargs):
        order.append("time")
        return real_time(fns, **kwargs)

    monkeypatch.setattr(runner, "time_round_robin", watched)
    settings = tiny_spec(rounds=2).settings
    yardsticks = Yardsticks()
    records = runner_on(machine, settings, yardsticks).run(POINT, settings.modes)
    rows = [r.to_row() for r in records]
    assert [r["mode"] for r in rows] == ["forward", "reverse"]
    assert order == ["time"] and machine.probe.calls == 2
    assert yardsticks.tracker(POINT).best == 50.0 and machine.slept == []
    for r in rows:
        assert r["rounds"] == 2 and len(r["round_medians_s"]) == 2
        assert r["time_median_s"] == pytest.approx(sum(r["round_medians_s"]) / 2)
        assert r["peak_flops"] is None and r["floor_s"] is None  # no ceilings for this device


def test_each_device_and_dtype_has_its_own_probe_yardstick():
    # float64 matmuls run at about half the float32 rate: measured against the float32 best,
    # every float64 point would look like a slow machine and be re-run.
    speeds = {"float32": 100.0, "float64": 50.0}
    machine = FakeMachine()
    machine.probe = lambda device, dtype: speeds[dtype]  # type: ignore[assignment]
    settings = tiny_spec().settings
    point64 = dataclasses.replace(POINT, dtype="float64")
    yardsticks = Yardsticks()
    run_points = runner_on(machine, settings, yardsticks)
    run_points.run(POINT, settings.modes)
    rows = [r.to_row() for r in run_points.run(point64, settings.modes)]
    assert {r["status"] for r in rows} == {"ok"} and {r["retries"] for r in rows} == {0}
    assert yardsticks.tracker(POINT).best == 100.0
    assert yardsticks.tracker(point64).best == 50.0
    assert machine.slept == []


def test_a_probe_faster_than_the_start_ceiling_raises_the_floor_ceiling():
    machine = FakeMachine(probe=ScriptedProbe(150.0))
    settings = tiny_spec().settings
    slow_start = Yardsticks(ceilings={("cpu", "float32"): Ceilings(100e9, 10e9, 1024, 1 << 20)})
    (record,) = runner_on(machine, settings, slow_start).run(POINT, ("forward",))
    row = record.to_row()
    assert row["peak_flops"] == pytest.approx(150e9)
    assert row["floor_s"] == pytest.approx(max(row["flops"] / 150e9, row["bytes_moved"] / 10e9))


def test_a_point_too_big_to_build_is_recorded_for_every_mode_and_the_sweep_goes_on(
        tmp_path, steady_machine, monkeypatch):
    """A CPU allocation failure is a plain RuntimeError: it must become an oom row."""
    real_build = runner.build_case

    def build(point):
        if point.D == 1:
            raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: "
                               "can't allocate memory: you tried to allocate 80000000000 bytes.")
        return real_build(point)

    monkeypatch.setattr(runner, "build_case", build)
    run(tiny_spec(D=(1, 2)), tmp_path)
    stored = read_results(tmp_path)
    lost = stored[stored["D"] == 1]
    assert set(lost["status"]) == {"oom"} and len(lost) == 2
    assert lost["reason"].str.startswith("building the point: RuntimeError").all()
    assert set(stored.loc[stored["D"] == 2, "status"]) == {"ok"}


def test_the_first_calls_extra_time_is_the_one_off_cost_kept_out_of_the_median(
        tmp_path, steady_machine, monkeypatch):
    reverse, calls = real_fn("reverse"), []

    def slow_first(net, x):
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.05)  # a one-off cost: tracing, compiling, allocating
        return reverse(net, x)

    replace_mode(monkeypatch, "reverse", slow_first)
    run(tiny_spec(D=(2,)), tmp_path)
    row = only(read_results(tmp_path), mode="reverse")
    assert row["status"] == "ok"
    assert row["compile_s"] >= 0.045
    assert row["time_median_s"] < 0.01  # the timed median never holds it
    assert row["mode_threads"] == torch.get_num_threads()


def test_a_mode_whose_framework_is_missing_is_unavailable_and_the_others_run(
        tmp_path, steady_machine, monkeypatch):
    from jacbench.modes.registry import ModeUnavailable

    def missing(net, x):
        raise ModeUnavailable("jax is not installed (pip install 'jacbench[jax]')")

    replace_mode(monkeypatch, "reverse", missing)
    run(tiny_spec(D=(2,)), tmp_path)
    stored = read_results(tmp_path)
    row = only(stored, mode="reverse")
    assert row["status"] == "unavailable" and "jax is not installed" in row["reason"]
    assert only(stored, mode="forward")["status"] == "ok"
