"""Modes in worker processes: a mode that crashes, aborts, hangs or raises is a row, not the end.

The plugin tests/data/plugins/misbehaving.py registers four such modes; they run beside built-in
modes in one sweep, through real worker processes, on the steady fake machine of tests/fakes.py
(its picklable form), so only the modes and the workers are real.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from fakes import steady_instruments

from jacbench.cli import main
from jacbench.results.folder import read_results
from jacbench.results.schema import Status
from jacbench.run import sweep, worker
from jacbench.run.isolated import death

TESTS = Path(__file__).resolve().parents[1]
MISBEHAVING = TESTS / "data" / "plugins" / "misbehaving.py"
BUILT_IN = ("forward", "reverse")
#: Each misbehaving mode's status and a word its reason must hold.
EXPECTED = {"segfault": (Status.CRASHED, "SIGSEGV"), "abort": (Status.CRASHED, "SIGABRT"),
            "sleep": (Status.TIMEOUT, "--mode-timeout"), "raise": (Status.ERROR, "always raises")}
CAP_S = "3"


def sweep_args(out: Path, config: Path) -> list[str]:
    """Two points; the misbehaving modes between the built-in ones, so that the worker dies
    after some of the point's modes were measured."""
    return ["sweep", "--plugin", str(MISBEHAVING), "--L", "1", "--K", "2", "--P", "2",
            "--D", "2", "3", "--modes", "forward", *EXPECTED, "reverse", "--rounds", "1",
            "--min-run-time", "0.005", "--mode-timeout", CAP_S, "--device", "cpu", "--config",
            str(config), "--no-progress", "--no-report", "--out", str(out)]


def no_stability(tmp_path: Path) -> Path:
    config = tmp_path / "settings.toml"
    config.write_text("stability_points = 0\n")
    return config


def check_rows(frame: pd.DataFrame) -> None:
    """Every (point, mode) once, the misbehaving ones as EXPECTED, the built-in ones ok."""
    rows = frame[frame["role"] == "sweep"]
    assert sorted(rows["D"].unique()) == [2, 3]
    assert not rows.duplicated(["D", "mode"]).any()
    for D in (2, 3):
        at = rows[rows["D"] == D].set_index("mode")
        assert set(at.index) == {*BUILT_IN, *EXPECTED}
        for mode in BUILT_IN:
            assert at.loc[mode, "status"] == Status.OK, at.loc[mode, "reason"]
            assert at.loc[mode, "time_median_s"] > 0
        for mode, (status, word) in EXPECTED.items():
            assert at.loc[mode, "status"] == status
            assert word in at.loc[mode, "reason"]


def test_death_in_words() -> None:
    assert death(-signal.SIGSEGV) == "killed by SIGSEGV"
    assert death(3) == "exit code 3"


@pytest.mark.slow
def test_misbehaving_modes_are_rows_and_the_sweep_goes_on(tmp_path, monkeypatch, user_modes,
                                                          capsys):
    monkeypatch.setattr(sweep, "INSTRUMENTS", steady_instruments())
    out = tmp_path / "out"
    assert main(sweep_args(out, no_stability(tmp_path))) == 0
    check_rows(read_results(out))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err


# Runs the command line with the steady fake machine, in a process of its own (to be killed).
FAKE_SWEEP = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
from fakes import steady_instruments
from jacbench.run import sweep
sweep.INSTRUMENTS = steady_instruments()
from jacbench.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


def sweep_rows(folder: Path) -> int:
    return [r for p in folder.glob("part-*.parquet")
            for r in pq.read_table(p, columns=["role"]).column("role").to_pylist()].count("sweep")


@pytest.mark.slow
def test_kill_9_of_the_parent_then_resume_loses_nothing(tmp_path):
    out, log = tmp_path / "out", tmp_path / "killed.log"
    command = [sys.executable, "-c", FAKE_SWEEP, *sweep_args(out, no_stability(tmp_path))]
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, cwd=tmp_path, stdout=sink, stderr=sink)
        try:
            deadline = time.monotonic() + 180
            while sweep_rows(out) < 1:  # the first point is written: kill during the second
                assert proc.poll() is None, f"the sweep ended before the kill:\n{log.read_text()}"
                assert time.monotonic() < deadline, "no sweep row appeared in time"
                time.sleep(0.02)
            os.kill(proc.pid, signal.SIGKILL)
            assert proc.wait(timeout=30) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    killed = read_results(out)
    assert 1 <= (killed["role"] == "sweep").sum() < 2 * (len(BUILT_IN) + len(EXPECTED))

    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    rows = read_results(out)
    check_rows(rows)
    # The rows done before the kill were kept, not measured again.
    kept = killed[(killed["role"] == "sweep") & killed["status"].isin(Status.DONE)]
    assert len(kept) >= 1
    for r in kept.itertuples():
        again = rows[(rows["role"] == "sweep") & (rows["D"] == r.D) & (rows["mode"] == r.mode)]
        assert again["run_id"].tolist() == [r.run_id]


def test_a_mode_that_leaves_the_device_unusable_is_blamed_and_the_worker_replaced(
        tmp_path, monkeypatch, user_modes):
    from jacbench.modes.plugins import load_plugin_file
    from jacbench.run.spec import build_spec

    monkeypatch.setattr(sweep, "INSTRUMENTS", steady_instruments())
    monkeypatch.setattr(sweep, "ISOLATE", True)
    monkeypatch.setattr(worker, "device_usable", worker.device_usable)  # the plugin replaces it
    load_plugin_file(TESTS / "data" / "plugins" / "poisoning.py")
    spec = build_spec({"stability_points": 0}, {
        "L": [1], "D": [2, 3], "K": [2], "P": [2], "modes": ["forward", "poison", "victim"],
        "rounds": 1, "min_run_time": 0.005})
    frame = sweep.run_sweep(spec, tmp_path / "out", progress=False).frame
    for D in (2, 3):
        at = frame[frame["D"] == D].set_index("mode")
        assert at.loc["poison", "status"] == Status.ERROR
        assert "left the device unusable" in at.loc["poison", "reason"]
        # measured again in a fresh worker, where nothing was lost
        assert (at.loc[["forward", "victim"], "status"] == Status.OK).all()
