"""render.plots: every figure drawn from a stored table, valid PNGs, and a reason for each one
skipped."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from factories import default_rows, flop_time, grid, make_rows, write_rows
from matplotlib.image import imread

from jacbench.render.plots import PlotResult, make_plots
from jacbench.render.style import mode_colours
from jacbench.results.folder import read_results
from jacbench.results.point import AXES
from jacbench.results.schema import Status
from jacbench.results.storage import ResultsError

PNG = b"\x89PNG\r\n\x1a\n"
EVERY_PLOT = {*(f"time_vs_{a}.png" for a in AXES), "ratio_forward_reverse.png",
              "best_mode_map.png", "efficiency.png", "cpu_vs_gpu.png", "launches.png",
              "predicted_vs_measured.png", "compiled_vs_eager.png", "implementations.png"}


def assert_readable_png(path: Path) -> None:
    """A real PNG, at least 3.5 inches wide at 150 dpi, with something drawn in it."""
    data = path.read_bytes()
    assert data.startswith(PNG), path
    assert len(data) > 10_000, path
    image = imread(path)
    assert image.shape[1] >= 500, path
    assert image[..., :3].std() > 0.05, path  # not a blank canvas


@pytest.fixture(scope="module")
def cpu_and_cuda(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PlotResult]:
    directory = tmp_path_factory.mktemp("results")
    cuda = make_rows(grid(L=[1, 2, 4, 8]), ("forward", "reverse", "jacrev"), device="cuda",
                     time=lambda m, p: flop_time(m, p) / 50)
    jax = make_rows(grid(), ("jax-jacrev",), time=lambda m, p: flop_time("jacrev", p) / 4)
    jax += make_rows(grid(L=[1, 2, 4, 8]), ("jax-jacrev",), device="cuda",
                     time=lambda m, p: flop_time("jacrev", p) / 200)
    write_rows(directory, default_rows() + cuda + jax)
    return directory, make_plots(directory)


def test_every_plot_is_drawn_into_the_underscore_folder(
        cpu_and_cuda: tuple[Path, PlotResult]) -> None:
    directory, result = cpu_and_cuda
    assert result.skipped == [
        "precisions.png: no point measured ok in two or more dtypes or matmul precisions"]
    assert {p.name for p in result.paths} == EVERY_PLOT
    for path in result.paths:
        assert path.parent == directory / "_plots"
        assert_readable_png(path)
    assert [line.startswith("wrote ") for line in result.lines()].count(False) == 1


def test_folder_still_reads_as_one_table(cpu_and_cuda: tuple[Path, PlotResult]) -> None:
    directory, _ = cpu_and_cuda
    assert len(pd.read_parquet(directory)) == len(read_results(directory))


def test_missing_data_is_skipped_with_a_reason(tmp_path: Path) -> None:
    # a 2x2 crossover grid on cpu only: no axis has 3 values, no cuda rows
    write_rows(tmp_path, make_rows(grid(D=[8, 256], P=[8, 256])))
    (tmp_path / "_plots").mkdir()
    (tmp_path / "_plots" / "time_vs_L.png").write_bytes(PNG)  # stale, from an earlier table
    out = tmp_path / "figures"
    result = make_plots(tmp_path, out)
    assert {p.name for p in result.paths} == {"ratio_forward_reverse.png", "best_mode_map.png",
                                             "efficiency.png", "predicted_vs_measured.png"}
    assert all(p.parent == out for p in result.paths)
    reasons = dict(line.split(": ", 1) for line in result.skipped)
    assert "only L varies over 3 or more values" in reasons["time_vs_L.png"]
    assert "both cpu and cuda" in reasons["cpu_vs_gpu.png"]
    assert any(line.startswith("skipped cpu_vs_gpu.png: ") for line in result.lines())
    assert not (out / "time_vs_L.png").exists()
    assert (tmp_path / "_plots" / "time_vs_L.png").exists()  # only the chosen folder is touched


def test_a_stale_plot_is_removed_when_it_is_skipped(tmp_path: Path) -> None:
    write_rows(tmp_path, make_rows(grid(D=[8, 256], P=[8, 256])))
    stale = tmp_path / "_plots" / "time_vs_L.png"
    stale.parent.mkdir()
    stale.write_bytes(PNG)
    make_plots(tmp_path)
    assert not stale.exists()


def test_one_point_leaves_only_efficiency(tmp_path: Path) -> None:
    rows = make_rows(grid()) + make_rows(grid(), ("jacrev",), status=Status.ERROR, reason="boom")
    write_rows(tmp_path, rows)
    result = make_plots(tmp_path)
    assert [p.name for p in result.paths] == ["efficiency.png", "predicted_vs_measured.png"]
    assert "both forward and reverse" in " ".join(result.skipped)
    assert_readable_png(result.paths[0])


def test_each_mode_keeps_its_colour_whatever_else_ran() -> None:
    some = mode_colours(["reverse", "forward"])
    more = mode_colours(["jacrev", "forward", "reverse", "a-new-mode"])
    assert some["forward"] == more["forward"] and some["reverse"] == more["reverse"]
    assert len(set(more.values())) == 4


def test_user_errors(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="no results folder"):
        make_plots(tmp_path / "nowhere")
    write_rows(tmp_path, make_rows(grid(), status=Status.OOM, reason="CUDA oom"))
    with pytest.raises(ResultsError, match="no sweep rows with status ok"):
        make_plots(tmp_path)
    assert not (tmp_path / "_plots").exists()
