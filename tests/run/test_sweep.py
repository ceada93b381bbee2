"""The sweep driver: every point and mode recorded, resume, stability points, other machines'
folders, and kill -9 then resume end to end (the real command in a subprocess).

In-process sweeps use the fake machine of tests/fakes.py; the modes themselves are really run and
timed, on tiny shapes with a tiny budget.
"""

from __future__ import annotations

import io
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from factories import FAKE_CEILINGS
from fakes import HEALTHY_GFLOPS

import jacbench
from jacbench.model.reference import TOLERANCE
from jacbench.results.folder import LEGACY_FILE, data_files, read_results
from jacbench.results.schema import KEY_COLUMNS, SCHEMA, SCHEMA_VERSION
from jacbench.results.storage import ResultsError, write_file
from jacbench.run import sweep
from jacbench.run.spec import build_spec


def snapshot(folder: Path) -> dict[str, bytes]:
    """The bytes of every results file of a folder."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in data_files(folder)}


def replace_results(folder: Path, frame: pd.DataFrame) -> None:
    """The folder holding exactly ``frame``, as one file."""
    for path in data_files(folder):
        path.unlink()
    table = pa.Table.from_pandas(frame, schema=SCHEMA, preserve_index=False)
    write_file(folder / LEGACY_FILE, table)


def tiny_spec(D=(1, 2), modes_=("forward", "reverse"), stability=0, **settings):
    config = {"stability_points": stability, "rounds": 1, "min_run_time": 0.002,
              "modes": list(modes_), "grid": [{"L": [1], "D": list(D), "K": [2], "P": [2]}],
              **settings}
    return build_spec(config)


def run(spec, out: Path, **kwargs) -> tuple[sweep.SweepOutcome, str]:
    stream = io.StringIO()
    outcome = sweep.run_sweep(spec, out, progress=False, stream=stream, **kwargs)
    return outcome, stream.getvalue()


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
    before = snapshot(tmp_path)
    outcome, said = run(spec, tmp_path)
    assert "nothing to do" in said
    assert (outcome.new_rows, outcome.points_run) == (0, 0)
    assert snapshot(tmp_path) == before
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
    assert out.parent == Path("runs")
    assert out.name.endswith("-cpu+cuda")
    assert socket.gethostname().split(".")[0] in out.name


# --- another machine's folder --------------------------------------------------------------------


def _stored_env(**changes) -> pd.DataFrame:
    env = {"host": socket.gethostname(), "cpu_model": "x", "torch_version": "1",
           "cuda_version": "", "machine_id": "m1", "run_id": "earlier"}
    return pd.DataFrame([{**env, **changes}])


def test_results_of_another_machine_or_torch_are_refused_unless_appending():
    mine = {"host": socket.gethostname(), "cpu_model": "x", "torch_version": "1",
            "cuda_version": "", "machine_id": "m1", "run_id": "now"}
    sweep.check_compatible(_stored_env(), mine, append=False)
    sweep.check_compatible(pd.DataFrame(), mine, append=False)
    sweep.check_compatible(_stored_env(machine_id=None), mine, append=False)  # older rows
    for column, value in (("host", "elsewhere"), ("torch_version", "0.4"), ("cpu_model", "y"),
                          ("machine_id", "m2")):
        with pytest.raises(ResultsError, match=f"{column}={value}.*--append"):
            sweep.check_compatible(_stored_env(**{column: value}), mine, append=False)
        sweep.check_compatible(_stored_env(**{column: value}), mine, append=True)
        # ... but the shards of one run may run on several hosts: they are one run
        sweep.check_compatible(_stored_env(**{column: value, "run_id": "now"}), mine,
                               append=False)


def test_run_sweep_mixes_another_machines_folder_only_when_appending(tmp_path, steady_machine):
    run(tiny_spec(D=(1,)), tmp_path)
    stored = read_results(tmp_path)
    stored["host"] = "elsewhere"
    replace_results(tmp_path, stored)
    before = snapshot(tmp_path)
    with pytest.raises(ResultsError, match="host=elsewhere"):
        run(tiny_spec(D=(1, 2)), tmp_path)
    assert snapshot(tmp_path) == before
    run(tiny_spec(D=(1, 2)), tmp_path, append=True)
    stored = read_results(tmp_path)
    mine = stored[stored["host"] == socket.gethostname()]
    assert 2 in set(mine["D"]) and (mine["status"] == "ok").all()
    assert (stored["host"] == "elsewhere").sum() == 2  # the other machine's rows are kept


# --- kill -9 and resume, end to end --------------------------------------------------------------

KILL_GRID = ["--D", "1", "2", "3", "4", "--P", "1", "2", "--K", "2", "--L", "1"]


def sweep_command(out: Path, config: Path) -> list[str]:
    return [sys.executable, "-m", "jacbench", "sweep", *KILL_GRID, "--modes", "forward",
            "reverse", "--rounds", "1", "--min-run-time", "0.01", "--device", "cpu",
            "--config", str(config), "--no-progress", "--no-report", "--out", str(out)]


def count_sweep_rows(folder: Path) -> int:
    """Sweep rows in the folder's parts (each read whole: a part is written atomically)."""
    roles = [r for p in folder.glob("part-*.parquet")
             for r in pq.read_table(p, columns=["role"]).column("role").to_pylist()]
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
            while count_sweep_rows(out) < 1:
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
    visible = [p.name for p in out.iterdir() if not p.name.startswith((".", "_"))]
    assert len(visible) == 1 and visible[0].startswith("part-"), visible
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
    # Measured on a shared machine: a point may be flagged unhealthy, but every one was timed.
    assert set(rows["status"]) <= {"ok", "unhealthy"}, rows[["D", "P", "mode", "status", "reason"]]
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




def test_rows_of_another_machine_of_the_same_name_or_without_an_identity_are_not_done():
    """Issue 21, item 8: host, CPU model and torch alike are not enough; the machine identity
    must match too, and an older row without one is measured again, never trusted."""
    from factories import result_row

    from jacbench.run.resume import done_keys
    from jacbench.run.settings import Settings

    settings = Settings(rounds=3, min_run_time=0.05)
    env = {"host": "testhost", "cpu_model": "AMD EPYC test", "torch_version": "2.13.0",
           "cuda_version": "", "machine_id": "mine", "num_threads": 2, "run_id": "now"}
    rows = pd.DataFrame([result_row(D=1, machine_id="mine", min_run_time_s=0.05),
                         result_row(D=2, machine_id="other", min_run_time_s=0.05),
                         result_row(D=3, machine_id=None, min_run_time_s=0.05)])
    assert {k[3] for k in done_keys(rows, env, settings)} == {1}  # D is the 4th key column
    with pytest.raises(ResultsError, match="machine_id=mine, other but this run has"):
        sweep.check_compatible(rows, env, append=False)
