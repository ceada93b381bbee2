"""Sharded sweeps through a real SLURM: a one-node cluster started here (tests/slurm_cluster.py),
the shards submitted as a job array by ``--executor slurm``, one array task cancelled mid-run
and resubmitted with the command ``status`` prints. Skipped with the reason where SLURM cannot be
started; CI sets JACBENCH_REQUIRE_SLURM=1, which makes that a failure."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from slurm_cluster import OneNodeSlurm, why_not

from jacbench.cli import main
from jacbench.results.folder import read_results
from jacbench.results.schema import KEY_COLUMNS

REPO = Path(__file__).resolve().parent.parent
GRID = ["--L", "1", "2", "--D", "4", "8", "--K", "8", "--P", "2", "--modes", "forward",
        "reverse", "--rounds", "1", "--min-run-time", "0.002", "--no-report", "--no-progress",
        "--device", "cpu"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OneNodeSlurm]:
    reason = why_not()
    if reason:
        if os.environ.get("JACBENCH_REQUIRE_SLURM") == "1":
            pytest.fail(f"JACBENCH_REQUIRE_SLURM=1 but {reason}")
        pytest.skip(reason)
    cluster = OneNodeSlurm(tmp_path_factory.mktemp("slurm"))
    cluster.start()
    yield cluster
    cluster.stop()


def jacbench(slurm: OneNodeSlurm, *argv: str) -> subprocess.CompletedProcess:
    """``python -m jacbench ...`` as a user on this cluster types it (the jobs inherit the env)."""
    env = {**os.environ, **slurm.env, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "jacbench", *argv], capture_output=True,
                          text=True, env=env, timeout=900)


def sweep_keys(folder: Path) -> list[tuple]:
    rows = read_results(folder)
    rows = rows[rows["role"] == "sweep"]
    return sorted(rows[list(KEY_COLUMNS)].itertuples(index=False, name=None))


def shard_spans(folder: Path) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """When each shard measured, from its first to its last row (drift checks included)."""
    rows = read_results(folder)
    times = pd.to_datetime(rows["measured_at"])
    return sorted((times[rows["shard"] == s].min(), times[rows["shard"] == s].max())
                  for s in sorted(rows["shard"].unique()))


def test_a_job_array_measures_each_point_once_one_shard_at_a_time(slurm, tmp_path, capsys):
    out, single = tmp_path / "sharded", tmp_path / "single"
    done = jacbench(slurm, "sweep", *GRID, "--out", str(out), "--shards", "2",
                    "--executor", "slurm", "--slurm-partition", slurm.partition)
    assert done.returncode == 0, done.stderr
    assert "sacct" not in done.stdout + done.stderr  # submitit's polling noise is in the log
    assert "sacct" in (out / "_jobs" / "scheduler.log").read_text()
    last = [line for line in done.stderr.splitlines() if "points done across" in line][-1]
    assert main(["sweep", *GRID, "--out", str(single)]) == 0
    keys = sweep_keys(out)
    assert keys == sweep_keys(single) and len(keys) == len(set(keys)) == 8
    finished = read_results(out).query("role == 'sweep' and status == 'ok'")
    assert last.startswith(f"jacbench: {len(finished) // 2}/4 points") and "ended" in last
    rows = read_results(out)
    assert rows["allocation"].str.contains(r"slurm job \d+_[01] on .*whole node").all()
    assert (rows["alloc_cpus"] == slurm.cpus).all() and (rows["num_threads"] == slurm.cpus).all()
    assert not rows["node_shared"].any()
    (_, first_end), (second_start, _) = shard_spans(out)
    assert first_end <= second_start  # --exclusive: the two tasks never timed side by side
    assert_status_complete(out, capsys)


def assert_status_complete(out: Path, capsys: pytest.CaptureFixture) -> None:
    """``status`` calls every shard complete when every point ended ok (a busy machine's
    'unhealthy' points are measured again, so then it rightly says what is missing)."""
    capsys.readouterr()
    code = main(["status", str(out)])
    said = capsys.readouterr().out
    if read_results(out).query("role == 'sweep'")["status"].eq("ok").all():
        assert code == 0 and said.count("complete") == 2, said


def _array_tasks(slurm: OneNodeSlurm) -> dict[str, str]:
    listed = slurm.run(["squeue", "-h", "-r", "-o", "%i %T"], check=False).stdout.split()
    return dict(zip(listed[::2], listed[1::2], strict=True))


def test_a_cancelled_array_task_is_resubmitted_with_the_command_status_prints(slurm, tmp_path,
                                                                              capsys):
    out = tmp_path / "out"
    sent = jacbench(slurm, "sweep", *GRID, "--out", str(out), "--shards", "2",
                    "--executor", "slurm", "--slurm-partition", slurm.partition, "--no-wait")
    assert sent.returncode == 0, sent.stderr
    deadline = time.monotonic() + 300
    while not any(state == "RUNNING" for state in _array_tasks(slurm).values()):
        assert time.monotonic() < deadline, "no array task started"
        time.sleep(0.5)
    running = next(t for t, state in _array_tasks(slurm).items() if state == "RUNNING")
    slurm.run(["scancel", running])
    while _array_tasks(slurm):
        assert time.monotonic() < deadline + 300, "the array did not end"
        time.sleep(1)
    capsys.readouterr()
    assert main(["status", str(out)]) == 1
    said = capsys.readouterr().out
    lost = running.split("_")[1]
    assert f"--only-shards {lost}" in said
    command = said.split("resubmit what is missing with:")[1].strip().splitlines()[0]
    assert "--executor slurm" in command and f"--slurm-partition {slurm.partition}" in command
    before = read_results(out)
    again = jacbench(slurm, *command.split()[3:])  # after "python -m jacbench"
    assert again.returncode == 0, again.stderr
    after = read_results(out)
    keys = sweep_keys(out)
    assert len(keys) == len(set(keys)) == 8
    kept = before.merge(after, on=[*KEY_COLUMNS, "measured_at"], how="left", indicator=True)
    assert (kept["_merge"] == "both").all()  # every row written before the resubmission stays
    assert_status_complete(out, capsys)
