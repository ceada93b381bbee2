"""render.report: _report.md states the environment, stability, medians, theory and failures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from factories import default_rows, grid, make_rows, write_rows

from jacbench.render.report import REPORT_FILE, write_report
from jacbench.results.folder import read_results
from jacbench.results.schema import Role, Status
from jacbench.results.storage import ResultsError


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    directory = tmp_path_factory.mktemp("results")
    rows = default_rows() + make_rows(grid(D=[2048]), ("jacrev",), status=Status.SKIPPED,
                                      reason="slower than max_call_time 1.0 s")
    rows += make_rows(grid(K=[512]), ("forward",), status=Status.UNHEALTHY,
                      reason="probe below 70% of best after 3 retries", retries=3)
    write_rows(directory, rows)
    path = write_report(directory)
    return directory, path.read_text()


def section(text: str, heading: str) -> str:
    """The text under a '## ' heading, up to the next one."""
    return text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]


def test_report_lies_beside_the_table(written: tuple[Path, str]) -> None:
    directory, _ = written
    assert (directory / REPORT_FILE).is_file() and REPORT_FILE.startswith("_")
    assert len(pd.read_parquet(directory)) == len(read_results(directory))


def test_sections_are_all_there(written: tuple[Path, str]) -> None:
    _, text = written
    for heading in ("## Environment", "## Stability", "## Machine health during the sweep",
                    "## Median time per call", "## Scaling: fitted slopes against the cost model",
                    "## Forward against reverse: the crossover", "## Best mode per shape region",
                    "## Efficiency against the machine's floor", "## Peak memory",
                    "## Points not measured ok"):
        assert heading in text


def test_environment_and_ceilings(written: tuple[Path, str]) -> None:
    _, text = written
    run = next(line for line in text.splitlines()
               if line.startswith("| `run-1` |") and "testhost" in line)
    points = {(r["L"], r["D"], r["K"], r["P"], r["batch"]) for r in default_rows()
              if r["role"] == Role.SWEEP} | {(4, 2048, 128, 64, 1), (4, 64, 512, 64, 1)}
    assert run.split(" | ")[1:6] == ["-", str(len(points)), "2025-01-01T00:00:00Z",
                                     "testhost", "AMD EPYC test"]
    assert "abc1234" in text and "2.13.0" in text
    assert "| cpu | float32 | 170.0 | 40.0 |" in text


def test_stability_figure_and_drifting_points(written: tuple[Path, str]) -> None:
    _, text = written
    assert "**medians reproduced within 25.0% (over 3 (mode, point) pairs" in text
    drifting = text.split("moved by more than 10%")[1].split("##")[0]
    assert "| jacrev |" in drifting and "+25.0%" in drifting and "| reverse |" not in drifting
    assert "| L=4, D=64, K=128, P=64, N=1 (cpu float32 tanh) |" in drifting


def test_median_table_bolds_the_fastest(written: tuple[Path, str]) -> None:
    _, text = written
    assert "| L | D | K | P | N | forward | reverse | jacrev |" in text
    row = next(line for line in text.splitlines() if line.startswith("| 4 | 4 | 128 | 1024 | 1 |"))
    forward, reverse, jacrev = row.strip("|").split("|")[5:8]
    assert forward.strip().startswith("**") and not reverse.strip().startswith("**")
    assert jacrev.strip().endswith("ms")
    assert "| 4 | 2048 | 128 | 64 | 1 |  |  | _skipped_ |" in text


def test_slopes_crossover_and_regions(written: tuple[Path, str]) -> None:
    _, text = written
    assert "| batch | L=4, D=64, K=128, P=64 (cpu float32 tanh) | forward | 1..64 | 4 |" in text
    assert "measured forward/reverse ratio crosses 1 at D/P ≈" in text
    assert "| D < P (D ≤ P/2), single input | 6 | forward 6 |" in text


def test_failures_health_and_plots(written: tuple[Path, str]) -> None:
    directory, text = written
    assert "| skipped | jacrev | 1 | slower than max_call_time 1.0 s | L=4 D=2048" in text
    assert "| unhealthy | forward | 1 | probe below 70% of best after 3 retries |" in text
    assert "Re-runs after a slow speed probe: 3 (rows re-run: 1)" in text
    assert ("Status unhealthy (never measured on a healthy machine): 1 rows (1 sweep, 0 "
            in text)
    assert "ok sweep rows with IQR above 10% of the median: 0." in text
    asked = "How does each mode's time grow with depth L?"
    assert f"![{asked}](_plots/time_vs_L.png)\n\n*{asked}* Median time against depth L" in text
    for link in ("_plots/time_vs_L.png", "_plots/ratio_forward_reverse.png",
                 "_plots/best_mode_map.png", "_plots/efficiency.png"):
        assert f"]({link})" in text
        assert (directory / link).is_file()
    assert "- cpu_vs_gpu.png: needs ok rows on both cpu and cuda" in text


def test_noisy_ok_rows_are_listed_noisiest_first(tmp_path: Path) -> None:
    rows = make_rows(grid(D=[8, 16, 32]), ("forward",))
    for row, spread in zip(rows, (0.3, 0.05, 0.6), strict=True):
        row["time_iqr_s"], row["noisy"] = spread * row["time_median_s"], spread > 0.1
    write_rows(tmp_path, rows)
    health = section(write_report(tmp_path, plots=[]).read_text(), "Machine health")
    assert "IQR above 10% of the median: 2." in health
    assert "(IQR / median > 10%; 2 of 2):" in health
    listed = [line for line in health.splitlines() if line.startswith("| forward |")]
    assert len(listed) == 2 and "D=32" in listed[0] and "D=8" in listed[1]


def test_given_plots_are_embedded_as_given(tmp_path: Path) -> None:
    write_rows(tmp_path, make_rows(grid()))
    text = write_report(tmp_path, plots=[tmp_path / "pics" / "mine.png"]).read_text()
    assert "## Plots" in text and "](pics/mine.png)" in text
    assert not (tmp_path / "_plots").exists()  # nothing drawn when plots are given
    assert "No stability reference points" in text and f"'{Role.STABILITY_START}'" in text


def test_user_errors(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="no results folder"):
        write_report(tmp_path / "nowhere")
    with pytest.raises(ResultsError, match="holds no results"):
        write_report(tmp_path)
    write_rows(tmp_path, make_rows(grid(), status=Status.ERROR, reason="boom"))
    with pytest.raises(ResultsError, match=r"no sweep rows with status ok"):
        write_report(tmp_path)
    assert not (tmp_path / REPORT_FILE).exists()


def test_peak_memory_sets_measured_cuda_peaks_beside_the_model(tmp_path: Path) -> None:
    point = grid(D=[64])
    rows = make_rows(point, ("reverse",)) + make_rows(point, ("reverse",), device="cuda")
    model = rows[-1]["model_peak_bytes"]
    rows[-1]["measured_peak_bytes"] = 2 * model  # the CUDA call held twice the modelled state
    write_rows(tmp_path, rows)
    memory = section(write_report(tmp_path).read_text(), "Peak memory")
    cpu_line = next(line for line in memory.splitlines() if line.startswith("| cpu | reverse"))
    cuda_line = next(line for line in memory.splitlines() if line.startswith("| cuda | reverse"))
    assert cpu_line.rstrip(" |").endswith("| - | -")  # nothing measured on the CPU
    assert cuda_line.rstrip(" |").endswith("| 2.00")


def test_the_environment_shows_which_shard_and_host_measured_what(tmp_path: Path) -> None:
    from factories import grid, make_rows, write_rows

    rows = make_rows(grid(D=[4, 64]), ("forward",), run_id="r", shard=0, shards=2, host="a")
    rows += make_rows(grid(D=[256]), ("forward",), run_id="r", shard=1, shards=2, host="b")
    folder = write_rows(tmp_path / "sharded", rows)
    text = write_report(folder, []).read_text()
    lines = [line for line in text.splitlines() if line.startswith("| `r` |")]
    cells = [line.split(" | ") for line in lines]  # run, shard, points, started, host, ...
    assert [(c[1], c[2], c[4]) for c in cells] == [("0/2", "2", "a"), ("1/2", "1", "b")]
