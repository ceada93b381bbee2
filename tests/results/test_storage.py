"""One results file: schema round-trip, atomic writes, upgrades, and every way a file can be
unreadable (each a ResultsError that leaves the files as they were)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from factories import result_row as make_row

from jacbench.results import storage
from jacbench.results.folder import LEGACY_FILE as RESULTS_FILE
from jacbench.results.folder import read_results
from jacbench.results.schema import COLUMN_NAMES, KEY_COLUMNS, SCHEMA, SCHEMA_VERSION
from jacbench.results.storage import (
    ResultsError,
    check_writable,
    empty_frame,
    to_table,
    write_file,
)


def write_results(folder, frame: pd.DataFrame) -> None:
    """A folder holding one results file (the single-file layout of schema 1 and 2)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_file(folder / RESULTS_FILE, pa.Table.from_pandas(frame, schema=SCHEMA,
                                                           preserve_index=False))


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as plain Python values (lists for list columns, None for every null) to compare."""

    def plain(v):
        if isinstance(v, np.ndarray):
            return [float(x) for x in v]
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            return None
        return v.item() if isinstance(v, np.generic) else v

    return [{k: plain(v) for k, v in r.items()} for r in frame.to_dict("records")]


def key_tuples(frame: pd.DataFrame) -> list[tuple]:
    return [tuple(r) for r in frame[[*KEY_COLUMNS, "run_id"]].itertuples(index=False)]


# --- the schema ----------------------------------------------------------------------------------


def test_the_schema_lists_every_required_column_once():
    required = {
        "mode", "L", "D", "K", "P", "batch", "dtype", "device", "activation", "status", "reason",
        "time_median_s", "time_iqr_s", "repeats", "raw_times_s", "rel_error", "noisy",
        "schema_version", "jacbench_version", "torch_version", "cuda_version", "device_name",
        "cpu_model", "num_threads", "host", "git_commit", "started_at",
    }
    assert required <= set(COLUMN_NAMES)
    assert len(COLUMN_NAMES) == len(set(COLUMN_NAMES))
    assert set(KEY_COLUMNS) <= set(COLUMN_NAMES)
    assert SCHEMA.field("raw_times_s").type == pa.list_(pa.float64())


def test_rows_with_unknown_columns_are_refused():
    with pytest.raises(ValueError, match="not_a_column"):
        to_table([make_row(not_a_column=1)])


def test_round_trip_keeps_every_value_list_and_null(tmp_path):
    rows = [
        make_row(raw_times_s=[1.9e-5, 2e-5, 2.1e-5]),
        make_row(mode="reverse", status="mismatch", reason="relative error 1e-1 > 1e-4",
                 rel_error=0.1, time_median_s=None, time_iqr_s=None, repeats=None,
                 number_per_run=None, raw_times_s=None, round_medians_s=None, noisy=None),
        make_row(mode="jacrev", raw_times_s=[], round_medians_s=[3e-5, 4e-5], bias=True,
                 measured_peak_bytes=2**40, load_avg_1m=0.25),
    ]
    frame = to_table(rows).to_pandas()
    write_results(tmp_path, frame)
    back = read_results(tmp_path)
    assert list(back.columns) == list(COLUMN_NAMES)
    assert records(back) == records(frame)
    assert back.loc[0, "raw_times_s"].tolist() == [1.9e-5, 2e-5, 2.1e-5]
    assert back.loc[1, "raw_times_s"] is None
    assert back.loc[2, "raw_times_s"].tolist() == []
    assert back.loc[2, "measured_peak_bytes"] == 2**40
    # Every column that a row leaves out is null, not a made-up value.
    assert pd.isna(back.loc[0, "measured_peak_bytes"])
    assert pq.read_schema(tmp_path / RESULTS_FILE).remove_metadata() == SCHEMA


def test_pandas_reads_the_folder_as_one_table_beside_plots_and_report(tmp_path):
    write_results(tmp_path, to_table([make_row(), make_row(mode="reverse")]).to_pandas())
    (tmp_path / "_plots").mkdir()
    (tmp_path / "_plots" / "scaling.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "_report.md").write_text("# report\n")
    table = pd.read_parquet(tmp_path)
    assert sorted(table["mode"]) == ["forward", "reverse"]
    assert len(read_results(tmp_path)) == 2


def test_a_missing_folder_reads_as_an_empty_table(tmp_path):
    for folder in (tmp_path / "nothing", tmp_path):
        frame = read_results(folder)
        assert frame.empty
        assert list(frame.columns) == list(COLUMN_NAMES)
    assert list(empty_frame().columns) == list(COLUMN_NAMES)


# --- atomic writes -------------------------------------------------------------------------------


def test_writes_leave_only_the_results_file(tmp_path):
    frame = to_table([make_row()]).to_pandas()
    for _ in range(3):
        write_results(tmp_path, frame)
    assert [p.name for p in tmp_path.iterdir()] == [RESULTS_FILE]


def test_the_results_file_gets_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        write_results(tmp_path, to_table([make_row()]).to_pandas())
    finally:
        os.umask(old)
    assert (tmp_path / RESULTS_FILE).stat().st_mode & 0o777 == 0o644


# --- unreadable folders --------------------------------------------------------------------------


def test_a_corrupt_results_file_is_one_line_and_the_folder_sets_it_aside_intact(tmp_path,
                                                                                 capsys):
    write_results(tmp_path, to_table([make_row()]).to_pandas())
    path = tmp_path / RESULTS_FILE
    corrupt = path.read_bytes()[: len(path.read_bytes()) // 2]
    path.write_bytes(corrupt)
    with pytest.raises(storage.DamagedFile, match="cannot read") as info:
        storage.read_file(path)
    assert RESULTS_FILE in str(info.value) and "\n" not in str(info.value)
    assert read_results(tmp_path).empty
    assert (tmp_path / f"_{RESULTS_FILE}.damaged").read_bytes() == corrupt  # kept, aside
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 1 and "set aside damaged" in said[0] and RESULTS_FILE in said[0]


def test_a_text_file_named_results_parquet_is_set_aside(tmp_path):
    (tmp_path / RESULTS_FILE).write_text("not parquet at all\n")
    assert read_results(tmp_path).empty
    assert (tmp_path / f"_{RESULTS_FILE}.damaged").read_text() == "not parquet at all\n"


def test_a_parquet_file_of_another_schema_is_a_results_error(tmp_path):
    pq.write_table(pa.table({"mode": ["forward"], "x": [1.0]}), tmp_path / RESULTS_FILE)
    with pytest.raises(ResultsError, match="lacks columns"):
        read_results(tmp_path)


def test_another_schema_version_is_a_results_error(tmp_path):
    write_results(tmp_path, to_table([make_row(schema_version=SCHEMA_VERSION + 1)]).to_pandas())
    before = (tmp_path / RESULTS_FILE).read_bytes()
    with pytest.raises(ResultsError, match="schema version"):
        read_results(tmp_path)
    assert (tmp_path / RESULTS_FILE).read_bytes() == before


def test_a_file_given_as_the_folder_is_a_results_error(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(ResultsError, match="not a folder"):
        read_results(afile)


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    import errno

    write_results(tmp_path, to_table([make_row()]).to_pandas())
    before = (tmp_path / RESULTS_FILE).read_bytes()

    def full_disk(table, where, **kwargs):
        where.write(b"half a file")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage.pq, "write_table", full_disk)
    with pytest.raises(ResultsError, match="no space left on the device") as info:
        write_file(tmp_path / RESULTS_FILE, to_table([make_row(D=7)]))
    assert "\n" not in str(info.value)
    assert [p.name for p in tmp_path.iterdir()] == [RESULTS_FILE]
    assert (tmp_path / RESULTS_FILE).read_bytes() == before


def test_a_hand_edited_column_of_the_wrong_type_is_found_before_measuring(tmp_path):
    table = to_table([make_row()])
    edited = table.set_column(table.schema.get_field_index("L"), "L", pa.array(["nine"]))
    pq.write_table(edited, tmp_path / RESULTS_FILE)
    with pytest.raises(ResultsError, match="column 'L' holds string"):
        read_results(tmp_path)


def test_check_writable_fails_on_a_full_disk(tmp_path, monkeypatch):
    import errno

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage.os, "write", full)
    with pytest.raises(ResultsError, match="no space left"):
        check_writable(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_check_writable_refuses_a_file_as_the_folder(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    with pytest.raises(ResultsError, match="is a file, not a folder"):
        check_writable(afile)
    assert afile.read_text() == "keep me"


def test_check_writable_accepts_a_new_folder_and_leaves_nothing_in_it(tmp_path):
    check_writable(tmp_path / "new" / "deeper")
    assert list((tmp_path / "new" / "deeper").iterdir()) == []


def test_check_writable_refuses_a_folder_that_cannot_be_made(tmp_path):
    # Tests may run as root, which ignores permission bits; a path under a regular file cannot
    # be created by anyone.
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    with pytest.raises(ResultsError, match="cannot write") as info:
        check_writable(afile / "sub")
    assert "\n" not in str(info.value)
    assert afile.read_text() == "keep me"


def test_a_version_1_table_is_upgraded_on_read(tmp_path):
    """Version 1 called the unhealthy status 'noisy'; reading upgrades it, nothing else moves."""
    rows = [make_row(schema_version=1, status="noisy", reason="slow machine"),
            make_row(schema_version=1, mode="reverse")]
    write_results(tmp_path, to_table(rows).to_pandas())
    back = read_results(tmp_path)
    assert list(back["status"]) == ["unhealthy", "ok"]
    assert set(back["schema_version"]) == {SCHEMA_VERSION}
    assert list(back["reason"]) == ["slow machine", ""]


def test_the_committed_results_still_load():
    """Every results folder committed under results/ reads in the current schema."""
    from pathlib import Path

    folders = [p.parent for p in Path(__file__).parents[2].glob("results/*/results.parquet")]
    assert folders, "no committed results found"
    for folder in folders:
        frame = read_results(folder)
        assert len(frame) and set(frame["schema_version"]) == {SCHEMA_VERSION}


GPU_DATA = Path(__file__).parents[1] / "data" / "gpu-h200"


def test_version_3_rows_say_their_matmul_precision_where_it_is_known(tmp_path):
    """Version 3 recorded no precision: a CPU row multiplied in full precision in every
    framework; a GPU row of that version is unknown (JAX ran TF32 there by default)."""
    write_results(tmp_path, to_table([make_row(schema_version=3)]).to_pandas())
    assert list(read_results(tmp_path)["matmul_precision"]) == ["highest"]
    gpu = read_results(GPU_DATA)  # the rows jacbench wrote on an H200 with schema 3
    assert set(gpu["device"]) == {"cuda"} and gpu["matmul_precision"].isna().all()
    assert set(gpu["schema_version"]) == {SCHEMA_VERSION}
    assert set(gpu.loc[gpu["mode"].str.startswith("jax"), "status"]) == {"mismatch"}
