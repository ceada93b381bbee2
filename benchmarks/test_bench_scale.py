"""How jacbench scales with the grid and the folder (issue 21, item 6), timed by pytest-benchmark.

Run with ``pytest benchmarks/test_bench_scale.py --benchmark-only``. Each case times what a user
waits for, on a synthetic grid of D x P shapes (L=1, K=8, modes forward, reverse, jacrev):

- building the spec of 10^4 points (linear: a grid of 10^6 takes about 100 times as long);
- the estimate and the --yes question at 10^6 points: ``run_sweep`` on an empty folder, refused
  (the estimate above its limit), from an even sample of the steps;
- a resume with nothing left to do at 10^4 points (3 x 10^4 done rows of this machine);
- ``report`` (plots and _report.md) on that 10^4-point folder.

The folder is built from ``tests/factories.py``'s rows, one measured shape per mode repeated
over the grid with medians scaled by the shape, and this machine's environment, so that every
row counts as done. Targets (issue 21): the estimate within about a second at 10^6, resume
within a second and report within 10 s at 10^4.
"""

from __future__ import annotations

import io
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from factories import make_rows

from jacbench.results import storage
from jacbench.run import sweep
from jacbench.run.spec import SpecError, SweepSpec, build_spec

MODES = ("forward", "reverse", "jacrev")
CONFIG = {"modes": list(MODES), "stability_points": 2, "rounds": 3, "min_run_time": 0.05}


def grid_spec(points: int) -> SweepSpec:
    side = math.isqrt(points)
    return build_spec(CONFIG, {"L": [1], "K": [8], "D": list(range(1, side + 1)),
                               "P": list(range(1, points // side + 1))})


def done_folder(directory: Path, spec: SweepSpec) -> Path:
    """Every point of ``spec`` done (ok) on this machine, in one part."""
    import pandas as pd
    import torch

    from jacbench.measure.environment import run_environment

    env = run_environment()
    mine = {c: env[c] for c in ("host", "cpu_model", "torch_version", "cuda_version",
                                 "machine_id")}
    base = pd.DataFrame(make_rows([{"L": 1, "D": 1, "K": 8, "P": 1, "batch": 1}], MODES,
                                  num_threads=torch.get_num_threads(), min_run_time_s=0.05,
                                  **mine))
    shapes = pd.DataFrame([{"D": p.D, "P": p.P} for p in spec.points])
    rows = base.merge(shapes, how="cross", suffixes=("_base", ""))
    scale = rows["D"] * rows["P"]
    rows["time_median_s"] = rows["time_median_s"] * (1 + scale / 100)
    rows = rows.drop(columns=["D_base", "P_base"])
    directory.mkdir(parents=True, exist_ok=True)
    storage.write_file(directory / "part-fixture.parquet",
                       storage.to_table(rows.to_dict("records")))
    return directory


@pytest.fixture(scope="module")
def folder_10k(tmp_path_factory: pytest.TempPathFactory) -> tuple[SweepSpec, Path]:
    spec = grid_spec(10_000)
    return spec, done_folder(tmp_path_factory.mktemp("scale") / "done", spec)


def test_spec_build_at_10k_points(benchmark):
    spec = benchmark(grid_spec, 10_000)
    assert len(spec.points) == 10_000


def test_estimate_and_question_at_1m_points(benchmark, tmp_path, monkeypatch):
    spec = grid_spec(1_000_000)
    monkeypatch.setattr(sweep, "ESTIMATE_LIMIT_S", 0)  # always asks: the refusal is timed

    def ask() -> str:
        said = io.StringIO()
        with pytest.raises(SpecError, match="--yes"):
            sweep.run_sweep(spec, tmp_path / "empty", progress=False, stream=said)
        return said.getvalue()

    said = benchmark.pedantic(ask, rounds=3, iterations=1)
    assert "1000000 points to measure" in said and "sample" in said


def test_resume_with_nothing_to_do_at_10k_points(benchmark, folder_10k):
    spec, folder = folder_10k

    def resume() -> int:
        return sweep.run_sweep(spec, folder, progress=False, stream=io.StringIO()).new_rows

    assert benchmark.pedantic(resume, rounds=3, iterations=1) == 0


def test_report_at_10k_points(benchmark, folder_10k):
    from jacbench.cli.folder_commands import plots_and_report

    _, folder = folder_10k
    benchmark.pedantic(plots_and_report, args=(folder,), rounds=1, iterations=1)
    assert (folder / "_report.md").is_file()
