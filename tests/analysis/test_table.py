"""analysis.table: loading a folder, the ok sweep rows, grouping, selecting, a row's IQR band."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from factories import frame_of, grid, make_rows, write_rows

from jacbench.analysis.table import group_by, iqr_band, load_results, ok_sweep, select
from jacbench.results.schema import Role, Status
from jacbench.results.storage import ResultsError


def test_unusable_folders_and_tables_raise_one_line_results_errors(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="no results folder"):
        load_results(tmp_path / "missing")
    with pytest.raises(ResultsError, match="holds no results"):
        load_results(tmp_path)
    failed = frame_of(make_rows(grid(), status=Status.ERROR, reason="boom"))
    with pytest.raises(ResultsError, match=r"no sweep rows with status ok \(error: 2\)"):
        ok_sweep(failed)
    references = frame_of(make_rows(grid(), role=Role.STABILITY_START))
    with pytest.raises(ResultsError, match="stability reference rows only"):
        ok_sweep(references, " in here")


def test_ok_sweep_keeps_ok_sweep_rows_with_a_positive_time(tmp_path: Path) -> None:
    rows = (make_rows(grid(D=[8, 16])) + make_rows(grid(D=[32]), status=Status.UNHEALTHY)
            + make_rows(grid(D=[64]), role=Role.STABILITY_END))
    rows[0]["time_median_s"] = 0.0
    frame = load_results(write_rows(tmp_path, rows))
    ok = ok_sweep(frame)
    assert len(ok) == 3 and list(ok.index) == [0, 1, 2]
    assert set(ok["status"]) == {Status.OK} and set(ok["role"]) == {Role.SWEEP}
    assert set(ok["D"]) == {8, 16}


def test_groups_are_keyed_by_column_and_value_with_none_for_missing() -> None:
    frame = pd.DataFrame({"mode": ["a", "a", "b"], "K": [1.0, np.nan, 1.0], "t": [1, 2, 3]})
    groups = dict(group_by(frame, ["mode", "K"]))
    assert set(groups) == {(("mode", "a"), ("K", 1.0)), (("mode", "a"), ("K", None)),
                           (("mode", "b"), ("K", 1.0))}
    assert list(groups[(("mode", "a"), ("K", None))]["t"]) == [2]
    # a group's key selects exactly its rows again, None matching the missing value
    for key, rows in groups.items():
        assert select(frame, key).equals(rows)
    assert list(select(frame, {"K": 1.0})["t"]) == [1, 3]


def test_iqr_band_from_raw_times_or_from_the_stored_iqr() -> None:
    assert iqr_band({"raw_times_s": [1.0, 2.0, 3.0, 4.0, 5.0]}) == pytest.approx((2.0, 4.0))
    assert iqr_band({"raw_times_s": None, "time_median_s": 2.0,
                     "time_iqr_s": 1.0}) == pytest.approx((1.5, 2.5))
    low, high = iqr_band({"time_median_s": 2.0, "time_iqr_s": np.nan})
    assert low == pytest.approx(2.0) and high == pytest.approx(2.0)
