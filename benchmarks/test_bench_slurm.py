"""A 2-shard CPU sweep through a real one-node SLURM measures the machine as an unsharded run
does: its tasks run one after another on the whole node, so each shard's ceilings (the GEMM peak
and the memory bandwidth every row keeps) are within 15% of an unsharded run's on this machine.

Run on a quiet machine, as every benchmark:
``pytest --benchmark-only benchmarks/test_bench_slurm.py`` (root and Debian's slurm-wlm and
munge needed; skipped with the reason otherwise). The time
pytest-benchmark reports is the sharded sweep's, submission to the last task's end.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from slurm_cluster import OneNodeSlurm, why_not

from jacbench.results.folder import read_results

REPO = Path(__file__).resolve().parent.parent
GRID = ["--L", "1", "2", "--D", "4", "8", "--K", "8", "--P", "2", "--modes", "forward",
        "reverse", "--rounds", "1", "--min-run-time", "0.002", "--no-report", "--no-progress",
        "--device", "cpu", "--yes"]
CEILINGS = ("peak_flops", "peak_bandwidth")
WITHIN = 0.15


def _sweep(env: dict[str, str], *argv: str) -> None:
    done = subprocess.run([sys.executable, "-m", "jacbench", "sweep", *GRID, *argv],
                          capture_output=True, text=True, env=env, timeout=1800)
    assert done.returncode == 0, done.stderr[-2000:]


def test_sharded_ceilings_match_an_unsharded_run(benchmark, tmp_path):
    reason = why_not()
    if reason:
        pytest.skip(reason)
    cluster = OneNodeSlurm(tmp_path / "slurm")
    cluster.start()
    env = {**os.environ, **cluster.env, "PYTHONPATH": str(REPO)}
    try:
        _sweep(env, "--out", str(tmp_path / "single"))
        benchmark.pedantic(_sweep, args=(env, "--out", str(tmp_path / "sharded"), "--shards", "2",
                                         "--executor", "slurm", "--slurm-partition",
                                         cluster.partition), rounds=1, iterations=1)
    finally:
        cluster.stop()
    single = read_results(tmp_path / "single")[list(CEILINGS)].median()
    sharded = read_results(tmp_path / "sharded").groupby("shard")[list(CEILINGS)].median()
    for name in CEILINGS:
        benchmark.extra_info[f"{name}_single"] = float(single[name])
        for shard, value in sharded[name].items():
            benchmark.extra_info[f"{name}_shard{shard}"] = float(value)
    ratios = sharded / single
    assert ((ratios - 1).abs() <= WITHIN).all().all(), f"shard / unsharded ceilings:\n{ratios}"
