"""compare_runs: matching two results folders by (point, mode) and the reproduction figure."""

from __future__ import annotations

import pytest

from jacbench.analysis.compare import compare_runs
from jacbench.results.storage import SCHEMA_VERSION, to_table, write_results


def _rows(times: dict[tuple[str, int], float], status: str = "ok") -> list[dict]:
    return [
        {"role": "sweep", "mode": mode, "L": 2, "D": D, "K": 4, "P": 3, "batch": 1,
         "dtype": "float32", "device": "cpu", "activation": "tanh", "bias": False, "seed": 0,
         "status": status, "time_median_s": t, "schema_version": SCHEMA_VERSION}
        for (mode, D), t in times.items()
    ]


def _write(folder, rows):
    write_results(folder, to_table(rows).to_pandas())
    return folder


def test_change_is_second_over_first_and_small_points_are_left_out(tmp_path):
    a = _write(tmp_path / "a", _rows({("forward", 8): 2e-3, ("reverse", 8): 4e-3,
                                      ("forward", 16): 1e-5}))
    b = _write(tmp_path / "b", _rows({("forward", 8): 2.1e-3, ("reverse", 8): 3e-3,
                                      ("forward", 16): 5e-5}))
    result = compare_runs(a, b, min_time_s=1e-3)
    assert len(result.pairs) == 3
    assert len(result.considered) == 2  # the 10 us point is below the threshold
    assert result.within == pytest.approx(0.25)  # reverse: 3 / 4 - 1
    assert "within 25.0%" in result.sentence() and "1 beyond 10%" in result.sentence()


def test_only_points_ok_in_both_runs_are_matched(tmp_path):
    a = _write(tmp_path / "a", _rows({("forward", 8): 2e-3, ("reverse", 8): 4e-3}))
    b = _write(tmp_path / "b", _rows({("forward", 8): 2e-3}) +
               _rows({("reverse", 8): 9e-3}, status="noisy"))
    result = compare_runs(a, b)
    assert list(result.pairs["mode"]) == ["forward"]
    assert result.within == pytest.approx(0.0)


def test_no_common_points_says_so(tmp_path):
    a = _write(tmp_path / "a", _rows({("forward", 8): 2e-3}))
    b = _write(tmp_path / "b", _rows({("forward", 16): 2e-3}))
    result = compare_runs(a, b)
    assert result.within is None
    assert result.sentence().startswith("no (point, mode)")
