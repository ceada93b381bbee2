"""analysis.compare: matching two results folders by (point, mode) and the reproduction figure."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import grid, make_rows, write_rows

from jacbench.analysis.compare import compare_runs
from jacbench.results.schema import Status


def folder(path: Path, times: dict[tuple[str, int], float], **extra: object) -> Path:
    """A results folder with one row per (mode, D) of ``times``, at that median."""
    rows = [row for (mode, D), t in times.items()
            for row in make_rows(grid(D=[D]), (mode,), time=lambda m, p, t=t: t, **extra)]
    return write_rows(path, rows)


def test_change_is_second_over_first_and_small_points_are_left_out(tmp_path: Path) -> None:
    a = folder(tmp_path / "a", {("forward", 8): 2e-3, ("reverse", 8): 4e-3,
                                ("forward", 16): 1e-5})
    b = folder(tmp_path / "b", {("forward", 8): 2.1e-3, ("reverse", 8): 3e-3,
                                ("forward", 16): 5e-5})
    result = compare_runs(a, b, min_time_s=1e-3)
    assert len(result.pairs) == 3
    assert len(result.considered) == 2  # the 10 us point is below the threshold
    assert result.within == pytest.approx(0.25)  # reverse: 3 / 4 - 1
    assert "within 25.0%" in result.sentence() and "1 beyond 10%" in result.sentence()


def test_only_points_ok_in_both_runs_are_matched(tmp_path: Path) -> None:
    a = folder(tmp_path / "a", {("forward", 8): 2e-3, ("reverse", 8): 4e-3})
    b = write_rows(tmp_path / "b", make_rows(grid(D=[8]), ("forward",), time=lambda m, p: 2e-3)
                   + make_rows(grid(D=[8]), ("reverse",), time=lambda m, p: 9e-3,
                               status=Status.UNHEALTHY))
    result = compare_runs(a, b)
    assert list(result.pairs["mode"]) == ["forward"]
    assert result.within == pytest.approx(0.0)


def test_no_common_points_says_so(tmp_path: Path) -> None:
    a = folder(tmp_path / "a", {("forward", 8): 2e-3})
    b = folder(tmp_path / "b", {("forward", 16): 2e-3})
    result = compare_runs(a, b)
    assert result.within is None
    assert result.sentence().startswith("no (point, mode)")
