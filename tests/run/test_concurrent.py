"""Two sweeps into one folder at once, as two users (or two make sweep) would start them: every
row of both is there exactly once, on the same grid and on overlapping ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from jacbench.results.folder import read_results
from jacbench.results.schema import KEY_COLUMNS


def sweep(out: Path, config: Path, D: list[str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "jacbench", "sweep", "--L", "1", "--K", "2", "--P", "2",
               "--D", *D, "--modes", "forward", "reverse", "--rounds", "1",
               "--min-run-time", "0.002", "--device", "cpu", "--config", str(config),
               "--no-progress", "--no-report", "--out", str(out)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
@pytest.mark.parametrize(("first", "second"), [(["1", "2", "3"], ["1", "2", "3"]),
                                               (["4", "8"], ["8", "16"])],
                         ids=["same grid", "overlapping grids"])
def test_two_sweeps_into_one_folder_lose_nothing_and_measure_nothing_twice(tmp_path, first,
                                                                          second):
    config = tmp_path / "c.toml"
    config.write_text("stability_points = 0\n")
    out = tmp_path / "out"
    runs = [sweep(out, config, first), sweep(out, config, second)]
    for run in runs:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
        assert "Traceback" not in err
    stored = read_results(out)
    keys = [tuple(r) for r in stored[list(KEY_COLUMNS)].itertuples(index=False)]
    assert len(keys) == len(set(keys))  # no (point, mode) measured twice
    assert sorted(set(stored["D"])) == sorted({int(d) for d in first + second})
    assert len(stored) == 2 * len(set(first + second))
    raw = pd.read_parquet(out)  # what a user's pandas sees: the same rows, once each
    assert len(raw) == len(stored)
