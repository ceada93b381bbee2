"""A results folder shared by runs: each run's own part, newest row per measurement, drift-check
rows out of pandas' way, superseded rows removed, foreign files refused, stale temporaries swept;
calibrations and run records written and read back; what is done, decided in one place."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from factories import FAKE_MODEL, result_row

from jacbench.results.folder import (
    LEGACY_FILE,
    STABILITY_DIR,
    data_files,
    done_rows,
    read_calibrations,
    read_results,
    read_run_records,
    run_tag,
    write_calibrations,
    write_run_record,
)
from jacbench.results.run_record import RunRecord
from jacbench.results.run_writer import RunWriter, point_lock
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


def test_a_row_another_run_superseded_stays_gone_when_its_run_writes_again(tmp_path):
    """Two sweeps in one folder: B measures again a point A left unhealthy; A's next point must
    not write A's old row back (pandas would see that point twice)."""
    a, b = RunWriter(tmp_path, "a-s0"), RunWriter(tmp_path, "b-s0")
    a.write([result_row(run_id="a", status="unhealthy")])
    b.write([result_row(run_id="b", measured_at="2030-01-01T00:00:00Z")])
    a.write([result_row(run_id="a", D=2)])
    raw = pd.read_parquet(tmp_path)
    assert sorted(zip(raw["D"], raw["run_id"], raw["status"], strict=True)) == [
        (2, "a", "ok"), (9, "b", "ok")]


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
    writing = tmp_path / "._calibration-z-s0-def.tmp"  # another sweep's, written unlocked
    writing.write_bytes(b"{")
    RunWriter(tmp_path, "y-s0")
    assert list(tmp_path.glob(".*.tmp")) == [writing]
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


def test_calibrations_are_written_beside_the_rows_and_the_latest_per_device_is_read_back(
        tmp_path):
    old = dataclasses.replace(FAKE_MODEL, calibrated_at="2026-01-01", peak_flops=1.0)
    new = dataclasses.replace(FAKE_MODEL, calibrated_at="2026-02-01")
    gpu = dataclasses.replace(FAKE_MODEL, device="cuda", calibrated_at="2025-01-01")
    path = write_calibrations(tmp_path, [old, gpu], run_tag("a", 0))
    write_calibrations(tmp_path, [new], run_tag("b", 1))
    assert path.name == "_calibration-a-s0.json"
    assert visible(tmp_path) == ["_calibration-a-s0.json", "_calibration-b-s1.json"]
    assert read_calibrations(tmp_path) == {("cpu", "float32"): new, ("cuda", "float32"): gpu}
    assert read_results(tmp_path).empty  # the calibrations are not rows


def test_a_damaged_calibration_is_skipped_in_one_line_and_the_others_are_read(tmp_path, capsys):
    write_calibrations(tmp_path, [FAKE_MODEL], run_tag("a", 0))
    (tmp_path / "_calibration-bad-s0.json").write_text("{")
    (tmp_path / "_calibration-empty-s0.json").write_text("")
    assert read_calibrations(tmp_path) == {("cpu", "float32"): FAKE_MODEL}
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 2 and all("skipped the damaged calibration" in line for line in said)
    assert "_calibration-bad-s0.json" in said[0]


def test_a_run_record_keeps_its_spec_and_reads_back_oldest_first(tmp_path):
    spec = {"points": [{"L": 1, "D": 2, "K": 3, "P": 4, "batch": 1, "dtype": "float32",
                        "device": "cpu", "activation": "tanh", "bias": False, "seed": 0}],
            "settings": {"modes": ["forward"], "rounds": 1}, "stability": [],
            "extra_modes": []}
    later = RunRecord("r2", ["--D", "2"], 2, {"executor": "local"}, ["7"], "2026-02-01",
                      ["cpu"], spec)
    earlier = dataclasses.replace(later, run_id="r1", submitted_at="2026-01-01", spec=None)
    write_run_record(tmp_path, later)
    write_run_record(tmp_path, earlier)
    assert read_run_records(tmp_path) == [earlier, later]
    assert json.loads((tmp_path / "_runs" / "r2.json").read_text())["spec"] == spec
    assert read_results(tmp_path).empty and list((tmp_path / "_runs").glob(".*")) == []


def test_a_run_record_of_an_older_jacbench_reads_without_a_spec(tmp_path):
    (tmp_path / "_runs").mkdir()
    (tmp_path / "_runs" / "r0.json").write_text(json.dumps({
        "run_id": "r0", "argv": ["--preset", "quick"], "shards": 2,
        "options": {"executor": "local"}, "job_ids": [], "submitted_at": "2025",
        "devices": ["cpu"]}))
    (record,) = read_run_records(tmp_path)
    assert (record.run_id, record.shards, record.spec) == ("r0", 2, None)


def test_done_rows_are_the_sweep_rows_of_a_final_status_of_the_run_asked_for():
    frame = pd.DataFrame([result_row(D=1), result_row(D=2, status="mismatch"),
                          result_row(D=3, status="skipped", run_id="other"),
                          result_row(D=4, status="error"), result_row(D=5, status="oom"),
                          result_row(D=6, status="unhealthy"),
                          result_row(D=7, status="unavailable"),
                          result_row(D=8, role="stability-start")])
    assert sorted(done_rows(frame)["D"]) == [1, 2, 3]
    assert sorted(done_rows(frame, "run-1")["D"]) == [1, 2]
    assert done_rows(frame.iloc[:0]).empty


def test_a_second_attempt_of_a_shard_adds_a_part_and_never_replaces_the_first(tmp_path):
    """A resubmitted shard starts from no rows: it must not write over what an earlier
    attempt of the same run and shard left (issue 21, item 1)."""
    first = RunWriter(tmp_path, "r-s1")
    first.write([result_row(D=1, run_id="r"), result_row(role="stability-start", run_id="r")])
    again = RunWriter(tmp_path, "r-s1")
    again.write([result_row(D=2, run_id="r"), result_row(role="stability-start", run_id="r",
                                                          measured_at="2030-01-01T00:00:00Z")])
    third = RunWriter(tmp_path, "r-s1")  # claimed, though it wrote nothing yet
    assert (first.name, again.name, third.name) == ("r-s1", "r-s1-a1", "r-s1-a2")
    assert visible(tmp_path) == ["_stability", "part-r-s1-a1.parquet", "part-r-s1.parquet"]
    assert sorted(read_results(tmp_path).query("role == 'sweep'")["D"]) == [1, 2]
    assert len(list((tmp_path / STABILITY_DIR).glob("*.parquet"))) == 2


@pytest.mark.parametrize("damage", [b"", b"PAR1 truncated", "half"])
def test_a_damaged_part_or_drift_check_file_is_set_aside_and_the_rest_is_read(tmp_path, capsys,
                                                                              damage):
    """Issue 21, item 7: one damaged file costs only itself, in one line naming it."""
    RunWriter(tmp_path, "good-s0").write([result_row(D=1, run_id="good"),
                                          result_row(role="stability-start", run_id="good")])
    RunWriter(tmp_path, "bad-s0").write([result_row(D=2, run_id="bad"),
                                         result_row(role="stability-end", run_id="bad")])
    for path in (tmp_path / "part-bad-s0.parquet", tmp_path / STABILITY_DIR / "bad-s0.parquet"):
        whole = path.read_bytes()
        path.write_bytes(whole[: len(whole) // 2] if damage == "half" else damage)
    stored = read_results(tmp_path)
    assert sorted(zip(stored["role"], stored["run_id"], strict=True)) == [
        ("stability-start", "good"), ("sweep", "good")]
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 2 and all(line.startswith("jacbench: set aside damaged") for line in said)
    assert (tmp_path / "_part-bad-s0.parquet.damaged").is_file()
    assert (tmp_path / STABILITY_DIR / "_bad-s0.parquet.damaged").is_file()
    assert sorted(pd.read_parquet(tmp_path)["D"]) == [1]  # pandas skips what was set aside
    assert len(read_results(tmp_path)) == 2 and capsys.readouterr().err == ""  # said once


def test_a_damaged_run_record_is_skipped_in_one_line(tmp_path, capsys):
    (tmp_path / "_runs").mkdir()
    (tmp_path / "_runs" / "a.json").write_text('{"run_id": "a", "argv": [')
    (tmp_path / "_runs" / "b.json").write_text('[1, 2]')
    (tmp_path / "_runs" / "c.json").write_text('{"run_id": "c"}')
    assert read_run_records(tmp_path) == []
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 3 and all("skipped the damaged run record" in line for line in said)
