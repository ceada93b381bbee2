"""Sharded sweeps end to end on this machine: three shards through submitit's local executor
measure exactly the points of one unsharded run, a resubmitted shard measures nothing twice,
status says what is done and what to resubmit, and bad cluster flags are one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from test_cli import one_line

from jacbench.cli import main
from jacbench.results.folder import read_results
from jacbench.results.point import POINT_FIELDS
from jacbench.results.schema import KEY_COLUMNS

GRID = ["--L", "1", "--K", "2", "--P", "2", "--D", "1", "2", "3", "4", "5",
        "--modes", "forward", "reverse", "--rounds", "1", "--min-run-time", "0.002",
        "--no-report", "--no-progress", "--device", "cpu"]


def keys(folder: Path) -> list[tuple]:
    rows = read_results(folder)
    rows = rows[rows["role"] == "sweep"]
    return sorted(tuple(r) for r in rows[[k for k in KEY_COLUMNS if k != "device"]]
                  .itertuples(index=False))


@pytest.mark.slow
def test_three_local_shards_measure_what_one_run_does_and_status_says_complete(tmp_path,
                                                                                capsys):
    sharded, single = tmp_path / "sharded", tmp_path / "single"
    assert main(["sweep", *GRID, "--out", str(sharded), "--shards", "3"]) == 0
    assert main(["sweep", *GRID, "--out", str(single)]) == 0
    assert keys(sharded) == keys(single)
    assert len(keys(sharded)) == len(set(keys(sharded))) == 10
    stored = read_results(sharded)
    sweep_rows = stored[stored["role"] == "sweep"]
    assert sweep_rows["run_id"].nunique() == 1 and set(sweep_rows["shard"]) == {0, 1, 2}
    assert set(sweep_rows["shards"]) == {3}
    capsys.readouterr()
    assert main(["status", str(sharded)]) == 0
    said = capsys.readouterr().out
    assert said.count("complete") == 3 and "resubmit" not in said


@pytest.mark.slow
def test_a_lost_shard_is_reported_and_resubmitting_it_measures_only_what_is_missing(tmp_path,
                                                                                   capsys):
    out = tmp_path / "out"
    assert main(["sweep", *GRID, "--out", str(out), "--shards", "2"]) == 0
    (record,) = [json.loads(p.read_text()) for p in (out / "_runs").glob("*.json")]
    assert len(record["spec"]["points"]) == 5  # the resolved spec status reads back
    lost = next(out.glob("part-*-s1.parquet"))
    lost.unlink()  # shard 1's node died and took its part with it
    capsys.readouterr()
    assert main(["status", str(out)]) == 1
    said = capsys.readouterr().out
    assert "shard 0:" in said and "complete" in said and "shard 1: 0/" in said
    command = said.split("resubmit what is missing with:")[1].strip().splitlines()[0]
    assert "--only-shards 1" in command and f"--run-id {record['run_id']}" in command
    argv = command.split()[3:]  # after "python -m jacbench"
    kept = next(out.glob("part-*-s0.parquet")).read_bytes()
    assert main(argv) == 0
    assert next(out.glob("part-*-s0.parquet")).read_bytes() == kept  # shard 0 untouched
    assert len(keys(out)) == len(set(keys(out))) == 10
    capsys.readouterr()
    assert main(["status", str(out)]) == 0


def _sweep_rows(folder: Path) -> dict[tuple, tuple]:
    """Each stored sweep row's (point, mode) -> what identifies that very measurement."""
    rows = read_results(folder).query("role == 'sweep'")
    return {(*(r[c] for c in POINT_FIELDS), r["mode"]): (r["measured_at"], r["time_median_s"],
                                                         r["run_id"], r["shard"])
            for r in rows.to_dict("records")}


def _done_per_shard(said: str) -> list[int]:
    return [int(line.split(":")[1].split("/")[0]) for line in said.splitlines()
            if line.strip().startswith("shard ")]


@pytest.mark.slow
def test_the_recovery_status_prints_keeps_every_earlier_row_and_measures_each_point_once(
        tmp_path, capsys):
    """Issue 21, item 1: a shard killed mid-run and a shard whose part is lost, resubmitted with
    the command status prints, end with every point once and every earlier row kept."""
    out, config = tmp_path / "out", tmp_path / "settings.toml"
    config.write_text("stability_points = 0\nprobe_threshold = 0\n")  # no re-runs: quick
    grid = ["--L", "1", "--K", "2", "--P", "2", "--D", *map(str, range(1, 10)), "--modes",
            "forward", "reverse", "--rounds", "1", "--min-run-time", "0.05", "--no-report",
            "--no-progress", "--device", "cpu", "--config", str(config), "--out", str(out)]
    assert main(["sweep", *grid, "--shards", "3", "--only-shards", "0,2"]) == 0
    (record,) = [json.loads(p.read_text()) for p in (out / "_runs").glob("*.json")]
    run_id = record["run_id"]
    shard_1 = [sys.executable, "-m", "jacbench", "sweep", *grid, "--shard", "1/3", "--run-id",
               run_id, "--yes"]
    proc = subprocess.Popen(shard_1, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while sum(row[3] == 1 for row in _sweep_rows(out).values()) < 2:  # one point
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)  # kill -9 mid-run
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for part in out.glob(f"part-{run_id}-s2*.parquet"):
        part.unlink()  # shard 2's node died and took its part with it
    earlier = _sweep_rows(out)
    capsys.readouterr()
    assert main(["status", str(out)]) == 1
    said = capsys.readouterr().out
    before = _done_per_shard(said)
    assert before[0] == 3 and 1 <= before[1] < 3 and before[2] == 0, said
    command = said.split("resubmit what is missing with:")[1].strip().splitlines()[0]
    assert "--only-shards 1,2" in command
    assert main(command.split()[3:]) == 0  # after "python -m jacbench"

    after = _sweep_rows(out)
    assert len(after) == 9 * 2  # every (point, mode), and once: the table's keys
    raw = pd.read_parquet(out)  # every part's rows, nothing dropped as a duplicate
    assert len(raw) == 9 * 2 and not raw.duplicated([*POINT_FIELDS, "mode"]).any()
    assert {k: after[k] for k in earlier} == earlier  # every earlier row kept as it was
    capsys.readouterr()
    assert main(["status", str(out)]) == 0
    now = _done_per_shard(capsys.readouterr().out)
    assert now == [3, 3, 3] and all(a >= b for a, b in zip(now, before, strict=True))


def test_a_shard_run_by_hand_runs_only_its_slice(tmp_path, steady_machine):
    out = tmp_path / "out"
    assert main(["sweep", *GRID, "--out", str(out), "--shard", "1/2", "--run-id", "r1"]) == 0
    first = set(read_results(out).query("role == 'sweep'")["D"])
    assert main(["sweep", *GRID, "--out", str(out), "--shard", "0/2", "--run-id", "r1"]) == 0
    second = set(read_results(out).query("role == 'sweep'")["D"]) - first
    assert first and second and first | second == {1, 2, 3, 4, 5} and not first & second


@pytest.mark.parametrize(("flags", "named"), [
    (["--shards", "2", "--parallel", "2"], "--parallel 2 would time 2 shards at once"),
    (["--shard", "3/2"], "need 0 <= I < N"),
    (["--shards", "2", "--shard", "0/2"], "--shard"),
    (["--shards", "2", "--only-shards", "5"], "--only-shards"),
])
def test_bad_cluster_flags_are_one_line(tmp_path, capsys, no_measuring, flags, named):
    assert main(["sweep", *GRID, "--out", str(tmp_path / "out"), *flags]) == 2
    assert named in one_line(capsys.readouterr().err)


def test_devices_by_index_are_checked_against_the_machine(tmp_path, capsys, no_measuring,
                                                           monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    from jacbench.cli.sweep_command import devices_of

    assert devices_of(["cuda:1", "cpu"]) == ("cuda:1", "cpu")
    for values, named in ((["cuda:2"], "has 2 CUDA device(s)"), (["cuda:0", "cuda:0"], "twice"),
                          (["gpu"], "choose cpu, cuda, cuda:N or all")):
        flags = [f for f in GRID if f not in ("--device", "cpu")]
        assert main(["sweep", *flags, "--out", str(tmp_path / "o"), "--device", *values]) == 2
        assert named in one_line(capsys.readouterr().err)
