"""A results folder shared by runs: each run's own part, newest row per measurement, drift-check
rows out of pandas' way, superseded rows removed, foreign files refused, stale temporaries swept."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from factories import result_row

from jacbench.results.folder import (
    LEGACY_FILE,
    STABILITY_DIR,
    RunWriter,
    data_files,
    point_lock,
    read_results,
)
from jacbench.results.storage import ResultsError, to_table, write_file


def visible(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_each_run_writes_its_own_part_and_the_folder_reads_as_one_table(tmp_path):
    a, b = RunWriter(tmp_path, "a-s0"), RunWriter(tmp_path, "b-s0")
    a.write([result_row(D=1, run_id="a")])
    b.write([result_row(D=2, run_id="b")])
    a.write([result_row(D=3, run_id="a")])
    assert visible(tmp_path) == ["part-a-s0.parquet", "part-b-s0.parquet"]
    assert sorted(read_results(tmp_path)["D"]) == [1, 2, 3]
    assert sorted(pd.read_parquet(tmp_path)["D"]) == [1, 2, 3]


def test_drift_check_rows_are_kept_out_of_pandas_way(tmp_path):
    writer = RunWriter(tmp_path, "a-s0")
    writer.write([result_row(role="stability-start"), result_row(), result_row(mode="reverse")])
    writer.write([result_row(role="stability-end")])
    assert sorted(pd.read_parquet(tmp_path)["role"]) == ["sweep", "sweep"]
    roles = sorted(read_results(tmp_path)["role"])
    assert roles == ["stability-end", "stability-start", "sweep", "sweep"]
    assert (tmp_path / STABILITY_DIR / "a-s0.parquet").is_file()


def test_a_new_run_measuring_a_failed_point_again_removes_the_old_row(tmp_path):
    """Resume re-measures failed rows; the folder keeps one row per measurement, in pandas too."""
    write_file(tmp_path / LEGACY_FILE, to_table([
        result_row(status="error", reason="boom", time_median_s=None, run_id="old"),
        result_row(mode="reverse", run_id="old")]))
    RunWriter(tmp_path, "new-s0").write([result_row(run_id="new", time_median_s=5e-5,
                                                    measured_at="2030-01-01T00:00:00Z")])
    raw = pd.read_parquet(tmp_path)
    assert sorted(zip(raw["mode"], raw["run_id"], strict=True)) == [("forward", "new"),
                                                                    ("reverse", "old")]
    stored = read_results(tmp_path)
    forward = stored[stored["mode"] == "forward"].iloc[0]
    assert (forward["status"], forward["time_median_s"]) == ("ok", 5e-5)


def test_a_part_emptied_by_newer_rows_goes_away_and_foreign_columns_survive_a_rewrite(tmp_path):
    write_file(tmp_path / "part-old-s0.parquet", to_table([result_row(status="error")]))
    table = to_table([result_row(mode="reverse"), result_row(mode="jacrev", status="error")])
    pq.write_table(table.append_column("my_note", pa.array(["keep", "me"])),
                   tmp_path / LEGACY_FILE)
    RunWriter(tmp_path, "new-s0").write([result_row(), result_row(mode="jacrev")])
    assert not (tmp_path / "part-old-s0.parquet").exists()
    legacy = pq.read_table(tmp_path / LEGACY_FILE)
    assert legacy.column("my_note").to_pylist() == ["keep"]
    assert legacy.column("mode").to_pylist() == ["reverse"]


def test_the_same_run_writing_a_row_again_replaces_it(tmp_path):
    writer = RunWriter(tmp_path, "a-s0")
    writer.write([result_row(status="error", time_median_s=None)])
    writer.write([result_row(time_median_s=7e-5)])
    assert read_results(tmp_path)["time_median_s"].tolist() == [7e-5]


def test_rows_of_another_machine_are_not_superseded(tmp_path):
    RunWriter(tmp_path, "a-s0").write([result_row(host="elsewhere")])
    RunWriter(tmp_path, "b-s0").write([result_row()])
    assert sorted(read_results(tmp_path)["host"]) == ["elsewhere", "testhost"]


def test_files_jacbench_did_not_write_are_refused_in_one_line(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    pq.write_table(pa.table({"x": [1]}), tmp_path / "theirs.parquet")
    with pytest.raises(ResultsError, match=r"notes\.txt, theirs\.parquet") as info:
        read_results(tmp_path)
    assert "\n" not in str(info.value)


def test_stale_temporary_files_of_a_killed_writer_are_swept_away(tmp_path):
    (tmp_path / ".part-x-s0-abc.tmp").write_bytes(b"half")
    (tmp_path / STABILITY_DIR).mkdir()
    (tmp_path / STABILITY_DIR / ".x-s0-abc.tmp").write_bytes(b"half")
    RunWriter(tmp_path, "y-s0")
    assert list(tmp_path.glob(".*.tmp")) == []
    assert list((tmp_path / STABILITY_DIR).glob(".*.tmp")) == []


def test_a_point_lock_is_held_by_one_holder_at_a_time(tmp_path):
    from filelock import Timeout

    key = {"L": 1, "D": 2}
    with point_lock(tmp_path, key):
        other = point_lock(tmp_path, key)
        with pytest.raises(Timeout):
            other.acquire(timeout=0)
    assert visible(tmp_path) == []  # the locks live in a hidden folder


def test_data_files_lists_legacy_parts_and_drift_checks(tmp_path):
    write_file(tmp_path / LEGACY_FILE, to_table([result_row()]))
    RunWriter(tmp_path, "a-s0").write([result_row(D=2), result_row(role="stability-end")])
    assert [p.relative_to(tmp_path).as_posix() for p in data_files(tmp_path)] == [
        LEGACY_FILE, "part-a-s0.parquet", f"{STABILITY_DIR}/a-s0.parquet"]
