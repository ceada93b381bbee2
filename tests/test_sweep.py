"""The sweep driver, the runner's statuses and the terminal summary.

In-process sweeps use fake ceilings and a fake speed probe (the real ones measure the machine for
about a second and depend on its mood); the modes themselves are really run and timed, on tiny
shapes with a tiny budget. The kill test runs the real command in a subprocess, end to end.
"""

from __future__ import annotations

import dataclasses
import io
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch

import jacbench
from jacbench import runner, sweep
from jacbench.measure.ceilings import Ceilings
from jacbench.modes.registry import MODES
from jacbench.measure.probe import ProbeTracker
from jacbench.model.reference import TOLERANCE
from jacbench.run.runner import PointRunner
from jacbench.run.spec import Point, Settings, build_spec
from jacbench.results.storage import (
    KEY_COLUMNS,
    RESULTS_FILE,
    SCHEMA_VERSION,
    ResultsError,
    read_results,
    to_table,
    write_results,
)
from jacbench.render.summary import format_summary

FAKE_CEILINGS = Ceilings(peak_flops=1e11, peak_bandwidth=1e10, matmul_n=1, copy_bytes=1)
HEALTHY_GFLOPS = 100.0


class ScriptedProbe:
    """A speed probe that reads its values from a script, repeating the last one."""

    def __init__(self, *values: float) -> None:
        self.values = list(values)
        self.calls = 0

    def __call__(self, device="cpu", **kwargs) -> float:
        self.calls += 1
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]


@pytest.fixture
def steady_machine(monkeypatch):
    """Fake ceilings and a healthy, steady speed probe; returns the runner's probe to script."""
    monkeypatch.setattr(sweep, "measure_ceilings", lambda device, dtype: FAKE_CEILINGS)
    monkeypatch.setattr(sweep, "speed_probe", ScriptedProbe(HEALTHY_GFLOPS))
    probe = ScriptedProbe(HEALTHY_GFLOPS)
    monkeypatch.setattr(runner, "speed_probe", probe)
    return probe


@pytest.fixture
def recorded_sleeps(monkeypatch) -> list[float]:
    """The waits before probe-guarded re-runs, recorded instead of slept."""
    slept: list[float] = []
    real = runner.measure_with_probes
    monkeypatch.setattr(runner, "measure_with_probes",
                        lambda *a, **kw: real(*a, **{**kw, "sleep": slept.append}))
    return slept


def tiny_spec(D=(1, 2), modes_=("forward", "reverse"), stability=0, **settings):
    config = {"stability_points": stability, "rounds": 1, "min_run_time": 0.002,
              "modes": list(modes_), "grid": [{"L": [1], "D": list(D), "K": [2], "P": [2]}],
              **settings}
    return build_spec(config)


def run(spec, out: Path, **kwargs) -> tuple[sweep.SweepOutcome, str]:
    stream = io.StringIO()
    outcome = sweep.run_sweep(spec, out, progress=False, stream=stream, **kwargs)
    return outcome, stream.getvalue()


def replace_mode(monkeypatch, name: str, fn) -> None:
    monkeypatch.setitem(MODES, name, dataclasses.replace(MODES[name], fn=fn))


def real_fn(name: str):
    return MODES[name].fn


def sweep_keys(frame: pd.DataFrame) -> list[tuple]:
    rows = frame[frame["role"] == "sweep"]
    return [tuple(r) for r in rows[list(KEY_COLUMNS)].itertuples(index=False)]


def only(frame: pd.DataFrame, **where) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        mask &= frame[column] == value
    (index,) = frame.index[mask]
    return frame.loc[index]


# --- a sweep, resumed ----------------------------------------------------------------------------


def test_a_tiny_sweep_records_every_point_and_mode(tmp_path, steady_machine):
    spec = tiny_spec()
    outcome, _ = run(spec, tmp_path)
    stored = read_results(tmp_path)
    assert outcome.new_rows == len(stored) == 4 and outcome.points_run == 2
    expected = {(p.D, m) for p in spec.points for m in ("forward", "reverse")}
    assert {(r.D, r.mode) for r in stored.itertuples()} == expected
    assert len(set(sweep_keys(stored))) == 4
    assert (stored["status"] == "ok").all()
    assert (stored["reason"] == "").all()
    for r in stored.itertuples():
        assert math.isfinite(r.time_median_s) and r.time_median_s > 0
        assert len(r.raw_times_s) == r.repeats > 0
        assert len(r.round_medians_s) == r.rounds == 1
        assert 0 <= r.rel_error < TOLERANCE["float32"]
        assert r.macs > 0 and r.flops == 2 * r.macs
        assert r.peak_flops == FAKE_CEILINGS.peak_flops
        assert r.efficiency == pytest.approx(r.floor_s / r.time_median_s)
        assert r.probe_before_gflops == r.probe_after_gflops == HEALTHY_GFLOPS
        assert r.retries == 0
    env = stored.iloc[0]
    assert env["schema_version"] == SCHEMA_VERSION
    assert env["host"] == socket.gethostname()
    assert env["torch_version"] == torch.__version__
    assert env["jacbench_version"] == jacbench.__version__
    assert env["cpu_model"] and env["device_name"] == env["cpu_model"]
    assert env["num_threads"] == torch.get_num_threads()
    assert env["started_at"] and env["measured_at"]
    assert (stored["run_id"] == outcome.run_id).all()


def test_running_again_does_nothing_and_writes_nothing(tmp_path, steady_machine):
    spec = tiny_spec()
    run(spec, tmp_path)
    before = (tmp_path / RESULTS_FILE).read_bytes()
    outcome, said = run(spec, tmp_path)
    assert "nothing to do" in said
    assert (outcome.new_rows, outcome.points_run) == (0, 0)
    assert (tmp_path / RESULTS_FILE).read_bytes() == before
    assert len(outcome.frame) == 4


def test_an_extended_grid_runs_only_the_new_point(tmp_path, steady_machine):
    first, _ = run(tiny_spec(D=(1, 2)), tmp_path)
    second, _ = run(tiny_spec(D=(1, 2, 3)), tmp_path)
    assert (second.points_run, second.new_rows) == (1, 2)
    stored = read_results(tmp_path)
    keys = sweep_keys(stored)
    assert len(keys) == len(set(keys)) == 6
    assert set(stored.loc[stored["D"] == 3, "run_id"]) == {second.run_id}
    assert set(stored.loc[stored["D"] < 3, "run_id"]) == {first.run_id}


def test_a_new_mode_at_old_points_runs_only_that_mode(tmp_path, steady_machine):
    run(tiny_spec(modes_=("forward",)), tmp_path)
    second, _ = run(tiny_spec(modes_=("forward", "reverse")), tmp_path)
    stored = read_results(tmp_path)
    assert set(stored.loc[stored["run_id"] == second.run_id, "mode"]) == {"reverse"}
    assert len(stored) == 4


def test_stability_points_are_measured_at_the_start_and_the_end(tmp_path, steady_machine):
    spec = tiny_spec(D=(1, 2, 3), stability=1)
    outcome, _ = run(spec, tmp_path)
    stored = read_results(tmp_path)
    for role in ("stability-start", "stability-end"):
        rows = stored[stored["role"] == role]
        assert len(rows) == 2  # one point, two modes
        assert {(r.L, r.D, r.K, r.P) for r in rows.itertuples()} <= {
            (p.L, p.D, p.K, p.P) for p in spec.points}
        assert set(rows["run_id"]) == {outcome.run_id}
    # A later run that adds a point keeps the first run's stability rows beside its own.
    second, _ = run(tiny_spec(D=(1, 2, 3, 4), stability=1), tmp_path)
    stored = read_results(tmp_path)
    assert set(stored.loc[stored["role"] != "sweep", "run_id"]) == {outcome.run_id,
                                                                   second.run_id}
    assert len(set(sweep_keys(stored))) == len(sweep_keys(stored)) == 8


def test_default_out_names_the_date_host_and_devices():
    out = sweep.default_out(("cpu", "cuda"))
    assert out.parent == Path("results")
    assert out.name.endswith("-cpu+cuda")
    assert socket.gethostname().split(".")[0] in out.name


# --- another machine's folder --------------------------------------------------------------------


def _stored_env(**changes) -> pd.DataFrame:
    env = {"host": socket.gethostname(), "cpu_model": "x", "torch_version": "1",
           "cuda_version": ""}
    return pd.DataFrame([{**env, **changes}])


def test_results_of_another_machine_or_torch_are_refused_unless_appending():
    mine = {"host": socket.gethostname(), "cpu_model": "x", "torch_version": "1",
            "cuda_version": ""}
    sweep.check_compatible(_stored_env(), mine, append=False)
    sweep.check_compatible(pd.DataFrame(), mine, append=False)
    for column, value in (("host", "elsewhere"), ("torch_version", "0.4"), ("cpu_model", "y")):
        with pytest.raises(ResultsError, match=f"{column}={value}.*--append"):
            sweep.check_compatible(_stored_env(**{column: value}), mine, append=False)
        sweep.check_compatible(_stored_env(**{column: value}), mine, append=True)


def test_run_sweep_mixes_another_machines_folder_only_when_appending(tmp_path, steady_machine):
    run(tiny_spec(D=(1,)), tmp_path)
    stored = read_results(tmp_path)
    stored["host"] = "elsewhere"
    write_results(tmp_path, stored)
    before = (tmp_path / RESULTS_FILE).read_bytes()
    with pytest.raises(ResultsError, match="host=elsewhere"):
        run(tiny_spec(D=(1, 2)), tmp_path)
    assert (tmp_path / RESULTS_FILE).read_bytes() == before
    run(tiny_spec(D=(1, 2)), tmp_path, append=True)
    stored = read_results(tmp_path)
    mine = stored[stored["host"] == socket.gethostname()]
    assert 2 in set(mine["D"]) and (mine["status"] == "ok").all()
    assert (stored["host"] == "elsewhere").sum() == 2  # the other machine's rows are kept


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
        if len(calls) > 1:
            raise RuntimeError("fails on the second call")
        return fn(net, x)

    replace_mode(monkeypatch, name, flaky)


def test_a_mode_failing_while_timed_is_an_error_row(tmp_path, steady_machine, monkeypatch):
    _fails_after_verification(monkeypatch, "reverse")
    run(tiny_spec(D=(2,)), tmp_path)
    row = only(read_results(tmp_path), mode="reverse")
    assert row["status"] == "error"
    assert row["reason"] == "while timing: RuntimeError: fails on the second call"


def test_a_mode_failing_while_timed_spares_the_others(tmp_path, steady_machine, monkeypatch):
    _fails_after_verification(monkeypatch, "reverse")
    run(tiny_spec(D=(2,)), tmp_path)
    assert only(read_results(tmp_path), mode="forward")["status"] == "ok"


# --- speed probes and re-runs --------------------------------------------------------------------


def test_a_probe_dip_that_never_recovers_ends_as_noisy(tmp_path, steady_machine,
                                                       recorded_sleeps):
    steady_machine.values = [10.0]  # 10% of the healthy probes the sweep started with
    run(tiny_spec(D=(2,)), tmp_path)
    stored = read_results(tmp_path)
    assert (stored["status"] == "noisy").all()
    assert stored["reason"].str.contains("speed probe at 10% of the run's best").all()
    settings = Settings()
    assert (stored["retries"] == settings.max_retries).all()
    assert recorded_sleeps == [settings.retry_wait] * settings.max_retries
    assert (stored["time_median_s"] > 0).all()  # measured, but flagged
    assert steady_machine.calls == 2 * (settings.max_retries + 1)  # around every attempt
    # A noisy point is not done: the same command measures it again on a healthy machine.
    steady_machine.values = [HEALTHY_GFLOPS]
    second, _ = run(tiny_spec(D=(2,)), tmp_path)
    stored = read_results(tmp_path)
    assert second.new_rows == 2
    assert (stored["status"] == "ok").all() and (stored["retries"] == 0).all()


def test_a_probe_dip_that_recovers_is_rerun_once(tmp_path, steady_machine, recorded_sleeps):
    steady_machine.values = [HEALTHY_GFLOPS, 20.0, 95.0, HEALTHY_GFLOPS]
    run(tiny_spec(D=(2,)), tmp_path)
    stored = read_results(tmp_path)
    assert (stored["status"] == "ok").all()
    assert (stored["retries"] == 1).all()
    assert recorded_sleeps == [Settings().retry_wait]
    assert (stored["probe_before_gflops"] == 95.0).all()


def test_the_runner_times_the_modes_in_rounds_with_the_probe_around_them(monkeypatch):
    probe = ScriptedProbe(50.0)
    monkeypatch.setattr(runner, "speed_probe", probe)
    order: list[str] = []
    real_time = runner.time_round_robin

    def watched(fns, **kwargs):
        order.append("time")
        return real_time(fns, **kwargs)

    monkeypatch.setattr(runner, "time_round_robin", watched)
    settings = tiny_spec(rounds=2).settings
    point = Point("cpu", "float32", "tanh", False, 1, 2, 2, 2, 1)
    tracker = ProbeTracker()
    trackers = {("cpu", "float32"): tracker}
    rows = PointRunner(settings, {}, {}, trackers, sleep=pytest.fail).run(point, settings.modes)
    assert [r["mode"] for r in rows] == ["forward", "reverse"]
    assert order == ["time"] and probe.calls == 2 and tracker.best == 50.0
    for r in rows:
        assert r["rounds"] == 2 and len(r["round_medians_s"]) == 2
        assert r["time_median_s"] == pytest.approx(sum(r["round_medians_s"]) / 2)
        assert "peak_flops" not in r and "floor_s" not in r  # no ceilings for this device


# --- the terminal summary ------------------------------------------------------------------------


def summary_frame(*rows: dict) -> pd.DataFrame:
    base = {"role": "sweep", "L": 1, "D": 2, "K": 3, "P": 4, "batch": 1, "dtype": "float32",
            "device": "cpu", "activation": "tanh", "bias": False, "seed": 0, "status": "ok",
            "reason": "", "noisy": False, "device_name": "A CPU", "run_id": "r"}
    return to_table([{**base, **r} for r in rows]).to_pandas()


def test_the_summary_has_modes_as_rows_and_points_as_columns():
    frame = summary_frame(
        {"mode": "forward", "time_median_s": 2e-5},
        {"mode": "reverse", "time_median_s": 3.5e-3, "noisy": True},
        {"mode": "forward", "D": 8, "status": "skipped", "reason": "slow"},
        {"mode": "reverse", "D": 8, "status": "noisy", "time_median_s": 1.5},
        {"mode": "forward", "dtype": "float64", "time_median_s": 4e-9},
    )
    text = format_summary(frame)
    lines = text.splitlines()
    assert lines[0].startswith("[ cpu float32: A CPU ]")
    header = next(line for line in lines if "L1 D2 K3 P4 N1" in line)
    forward = next(line for line in lines if line.startswith("forward"))
    reverse = next(line for line in lines if line.startswith("reverse"))
    assert header.index("L1 D2 K3 P4 N1") < header.index("L1 D8 K3 P4 N1")
    # Each cell ends where its point's label ends: right-aligned columns.
    for label, line, cell in (("L1 D2 K3 P4 N1", forward, "20 us"),
                              ("L1 D8 K3 P4 N1", forward, "skipped"),
                              ("L1 D2 K3 P4 N1", reverse, "3.5 ms*"),
                              ("L1 D8 K3 P4 N1", reverse, "1.5 s*")):
        assert line.index(cell) + len(cell) == header.index(label) + len(label), cell
    assert "[ cpu float64: A CPU ]" in text and "4 ns" in text
    status = lines[-1]
    assert status.startswith("status: ")
    assert {"3 ok", "1 skipped", "1 noisy"} == set(status[len("status: "):].split(", "))
    assert "stability" not in text


def test_the_summary_says_when_there_are_no_sweep_rows():
    assert format_summary(summary_frame({"mode": "forward", "role": "stability-start"})) == (
        "no sweep rows")


def test_the_summary_shows_each_activation():
    frame = summary_frame({"mode": "forward", "time_median_s": 2e-5},
                          {"mode": "forward", "activation": "relu", "time_median_s": 7e-3})
    text = format_summary(frame)
    assert "20 us" in text and "7 ms" in text


def stability_frame() -> pd.DataFrame:
    return summary_frame(
        {"mode": "forward", "time_median_s": 1e-3},
        {"mode": "forward", "role": "stability-start", "time_median_s": 1.0e-3},
        {"mode": "forward", "role": "stability-end", "time_median_s": 1.1e-3},
        {"mode": "reverse", "role": "stability-start", "time_median_s": 2.0e-3},
        {"mode": "reverse", "role": "stability-end", "time_median_s": 1.5e-3},
        # Not paired: no end row; a noisy pair; another run's rows.
        {"mode": "jacrev", "role": "stability-start", "time_median_s": 1.0},
        {"mode": "jacfwd", "role": "stability-start", "time_median_s": 1.0},
        {"mode": "jacfwd", "role": "stability-end", "time_median_s": 9.0, "status": "noisy"},
        {"mode": "forward", "role": "stability-end", "time_median_s": 5.0, "run_id": "old"},
    )


def test_the_summary_states_the_stability_figure_of_the_run():
    lines = format_summary(stability_frame(), "r").splitlines()
    (line,) = [x for x in lines if x.startswith("stability:")]
    # The largest drift over the run's two ok pairs: |1.5 / 2.0 - 1| beats |1.1 / 1.0 - 1|; the
    # unpaired, noisy and other-run rows do not count.
    assert re.match(r"stability: medians reproduced within 25(\.0)?% \(\D*2\D.*pairs", line), line
    assert lines.index(line) > lines.index(next(x for x in lines if x.startswith("status:")))


def test_the_summary_has_no_stability_line_without_a_run_or_its_pairs():
    assert "stability" not in format_summary(stability_frame())
    assert "medians reproduced" not in format_summary(stability_frame(), "old")
    assert "stability" not in format_summary(summary_frame({"mode": "forward"}), "r")


# --- kill -9 and resume, end to end --------------------------------------------------------------

KILL_GRID = ["--D", "1", "2", "3", "4", "--P", "1", "2", "--K", "2", "--L", "1"]


def sweep_command(out: Path, config: Path) -> list[str]:
    return [sys.executable, "-m", "jacbench", "sweep", *KILL_GRID, "--modes", "forward",
            "reverse", "--rounds", "1", "--min-run-time", "0.01", "--device", "cpu",
            "--config", str(config), "--no-progress", "--no-report", "--out", str(out)]


def count_sweep_rows(path: Path) -> int:
    if not path.exists():
        return 0
    roles = pq.read_table(path, columns=["role"]).column("role").to_pylist()
    return roles.count("sweep")


@pytest.mark.slow
def test_kill_9_mid_sweep_then_resume_gives_every_point_once(tmp_path):
    out = tmp_path / "out"
    log = tmp_path / "killed.log"
    # No stability points: they would re-measure two points at the start and end of each run.
    config = tmp_path / "settings.toml"
    config.write_text("stability_points = 0\n")
    command = sweep_command(out, config)
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, cwd=tmp_path, stdout=sink, stderr=sink)
        try:
            deadline = time.monotonic() + 180
            while count_sweep_rows(out / RESULTS_FILE) < 1:
                assert proc.poll() is None, f"the sweep ended before it was killed:\n" \
                                            f"{log.read_text()}"
                assert time.monotonic() < deadline, "no sweep row appeared in time"
                time.sleep(0.02)
            os.kill(proc.pid, signal.SIGKILL)
            assert proc.wait(timeout=30) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    # Every file there reads, and the folder reads as one table.
    visible = sorted(p.name for p in out.iterdir() if not p.name.startswith((".", "_")))
    assert visible == [RESULTS_FILE]
    killed = pd.read_parquet(out)
    assert len(killed) == len(read_results(out))
    points, expected_rows = 4 * 2, 4 * 2 * 2
    assert 1 <= (killed["role"] == "sweep").sum() < expected_rows

    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "results: " in done.stdout
    stored = read_results(out)
    rows = stored[stored["role"] == "sweep"]
    keys = sweep_keys(stored)
    assert len(keys) == len(set(keys)) == expected_rows
    assert {(r.D, r.P, r.mode) for r in rows.itertuples()} == {
        (d, p, m) for d in (1, 2, 3, 4) for p in (1, 2) for m in ("forward", "reverse")}
    assert len({(r.D, r.P) for r in rows.itertuples()}) == points
    # Measured on a shared machine: a point may be flagged noisy, but every one was timed.
    assert set(rows["status"]) <= {"ok", "noisy"}, rows[["D", "P", "mode", "status", "reason"]]
    assert (rows["time_median_s"] > 0).all() and (rows["raw_times_s"].map(len) > 0).all()
    assert (rows["rel_error"] < TOLERANCE["float32"]).all()
    # Rows finished before the kill were kept, not measured again.
    kept = killed[(killed["role"] == "sweep") & (killed["status"] == "ok")]
    for r in kept.itertuples():
        assert only(rows, D=r.D, P=r.P, mode=r.mode)["run_id"] == r.run_id
    assert stored["run_id"].nunique() == 2
    assert (stored["role"] == "sweep").all()
    # The real environment and machine readings are in every row.
    assert (rows["host"] == socket.gethostname()).all()
    assert (rows["torch_version"] == torch.__version__).all()
    assert (rows["schema_version"] == SCHEMA_VERSION).all()
    assert rows["cpu_model"].str.len().gt(0).all()
    assert (rows["peak_flops"] > 0).all() and (rows["probe_before_gflops"] > 0).all()


def test_each_device_and_dtype_has_its_own_probe_yardstick(monkeypatch):
    # float64 matmuls run at about half the float32 rate: measured against the float32 best,
    # every float64 point would look like a slow machine and be re-run.
    speeds = {torch.float32: 100.0, torch.float64: 50.0}
    monkeypatch.setattr(runner, "speed_probe", lambda device, dtype: speeds[dtype])
    settings = tiny_spec().settings
    point32 = Point("cpu", "float32", "tanh", False, 1, 2, 2, 2, 1)
    point64 = Point("cpu", "float64", "tanh", False, 1, 2, 2, 2, 1)
    trackers: dict = {}
    run_points = PointRunner(settings, {}, {}, trackers, sleep=pytest.fail)
    run_points.run(point32, settings.modes)
    rows = run_points.run(point64, settings.modes)
    assert {r["status"] for r in rows} == {"ok"} and {r["retries"] for r in rows} == {0}
    assert trackers[("cpu", "float32")].best == 100.0
    assert trackers[("cpu", "float64")].best == 50.0


def test_a_probe_faster_than_the_start_ceiling_raises_the_floor_ceiling(monkeypatch):
    monkeypatch.setattr(runner, "speed_probe", lambda device, dtype: 150.0)
    settings = tiny_spec().settings
    point = Point("cpu", "float32", "tanh", False, 1, 2, 2, 2, 1)
    slow_start = {("cpu", "float32"): Ceilings(100e9, 10e9, 1024, 1 << 20)}
    rows = PointRunner(settings, {}, slow_start, {}, sleep=pytest.fail).run(point, ("forward",))
    assert rows[0]["peak_flops"] == pytest.approx(150e9)
    assert rows[0]["floor_s"] == pytest.approx(
        max(rows[0]["flops"] / 150e9, rows[0]["bytes_moved"] / 10e9))
