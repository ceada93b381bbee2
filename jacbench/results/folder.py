"""A results folder: every file jacbench keeps there, where it lives, read and written here.

This module is the one owner of a folder's layout (``pandas.read_parquet(DIR)`` reads the sweep
rows of every run as one table, since pyarrow skips names starting with ``_`` or ``.``)::

    DIR/results.parquet                  rows of runs before schema 3 (read, never appended to)
    DIR/part-<run>-s<shard>.parquet      the sweep rows of one run (or one shard of a run)
    DIR/part-<run>-s<shard>-a<N>.parquet the rows of its N-th resubmission or resumption
    DIR/_stability/<run>-s<shard>[-a<N>].parquet  that attempt's drift-check repeats
    DIR/_calibration-<run>-s<shard>[-a<N>].json   the time model's calibrations it measured
    DIR/_runs/<run>.json                 what was submitted for a sharded run (its record)
    DIR/_jobs/                           submitit's logs of the shards' jobs
    DIR/.locks/                          file locks: one for writing, one per point measured
    DIR/_plots/, DIR/_report.md          what plot and report write

Each process writes only its own files, atomically (``storage.write_atomically``), its part
after every point: no run can overwrite another's rows, and no attempt an earlier attempt's
(a resubmitted shard claims the next free attempt name under the write lock). A run that
measures again a point another run left failed removes that old row from the other's part under
the folder's write lock, so every (point, mode) is in the folder once. What is done
(``done_rows``) is decided here too: resume, status and the wait for shards all ask it.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from filelock import FileLock

from jacbench.results.run_record import RunRecord, record_from_json, record_to_json
from jacbench.results.schema import SAME_MEASUREMENT, Role, Status
from jacbench.results.storage import (
    ResultsError,
    empty_frame,
    read_file,
    to_table,
    upgrade,
    write_file,
    write_text,
)
from jacbench.theory.time_model import MachineModel, models_from_json, models_to_json

__all__ = ["LEGACY_FILE", "RunWriter", "data_files", "done_rows", "jobs_folder", "point_lock",
           "read_calibrations", "read_results", "read_run_records", "run_tag",
           "write_calibrations", "write_run_record"]

LEGACY_FILE = "results.parquet"
PART_PREFIX = "part-"
STABILITY_DIR = "_stability"
CALIBRATION_PREFIX = "_calibration"
RUNS_DIR = "_runs"
JOBS_DIR = "_jobs"
LOCKS_DIR = ".locks"


def run_tag(run_id: str, shard: int) -> str:
    """What names the files one process of a run writes: '<run>-s<shard>'."""
    return f"{run_id}-s{shard}"


def jobs_folder(directory: Path) -> Path:
    """Where submitit logs the jobs of a folder's sharded runs."""
    return directory / JOBS_DIR


def _ours(name: str) -> bool:
    return (name == LEGACY_FILE or name.startswith(("_", "."))
            or (name.startswith(PART_PREFIX) and name.endswith(".parquet")))


def check_hygiene(directory: Path) -> None:
    """Refuse a folder holding files jacbench did not write: they would break
    ``pandas.read_parquet(DIR)``, and a results folder is jacbench's to manage."""
    foreign = sorted(p.name for p in directory.iterdir() if not _ours(p.name))
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5
                                          else "")
        raise ResultsError(f"{directory} holds files jacbench did not write ({shown}); "
                           "choose an empty or a jacbench results folder")


def data_files(directory: Path) -> list[Path]:
    """Every results file of the folder: the legacy table, the runs' parts, the drift checks."""
    files = [directory / LEGACY_FILE] if (directory / LEGACY_FILE).is_file() else []
    files += sorted(directory.glob(f"{PART_PREFIX}*.parquet"))
    files += sorted((directory / STABILITY_DIR).glob("*.parquet"))
    return files


def read_results(directory: str | Path) -> pd.DataFrame:
    """Every row of a results folder as one table (empty, with every column, when there are
    none); of two rows of the same measurement only the newer is kept."""
    directory = Path(directory)
    if not directory.exists():
        return empty_frame()
    if not directory.is_dir():
        raise ResultsError(f"{directory} is not a folder")
    check_hygiene(directory)
    tables = []
    for path in data_files(directory):
        try:
            tables.append(read_file(path))
        except FileNotFoundError:  # another run removed it after the listing: nothing lost
            continue
    if not tables:
        return empty_frame()
    frame = upgrade(pa.concat_tables(tables).to_pandas())
    return newest(frame)


def newest(frame: pd.DataFrame) -> pd.DataFrame:
    """Sweep rows once per measurement (the newest), drift-check rows once per run."""
    frame = frame.sort_values("measured_at", kind="stable", na_position="first")
    sweep = frame["role"] == Role.SWEEP
    kept = [frame[sweep].drop_duplicates(list(SAME_MEASUREMENT), keep="last"),
            frame[~sweep].drop_duplicates([*SAME_MEASUREMENT, "run_id", "shard"], keep="last")]
    return pd.concat(kept, ignore_index=True)


def done_rows(frame: pd.DataFrame, run_id: str | None = None) -> pd.DataFrame:
    """The sweep rows whose (point, mode) is done, never measured again: those with a final
    status (ok, mismatch, skipped); only the run ``run_id``'s when given."""
    rows = frame[(frame["role"] == Role.SWEEP) & frame["status"].isin(Status.DONE)]
    return rows if run_id is None else rows[rows["run_id"] == run_id]


def point_lock(directory: Path, key: Mapping[str, Any]) -> FileLock:
    """The lock a process holds while it measures one point, so no two measure it at once."""
    digest = hashlib.sha1(repr(sorted(key.items())).encode()).hexdigest()[:20]
    (directory / LOCKS_DIR).mkdir(exist_ok=True)
    return FileLock(str(directory / LOCKS_DIR / f"point-{digest}.lock"))


def _write_lock(directory: Path) -> FileLock:
    (directory / LOCKS_DIR).mkdir(exist_ok=True)
    return FileLock(str(directory / LOCKS_DIR / "write.lock"))


def _measurements(table: pa.Table) -> list[tuple]:
    """The SAME_MEASUREMENT key of every row of a table, in row order."""
    return list(zip(*(table.column(c).to_pylist() for c in SAME_MEASUREMENT), strict=True))


class RunWriter:
    """Writes one run's rows into the folder: its own part and drift-check file, atomically,
    after every point; superseded rows of other runs are removed under the write lock."""

    def __init__(self, directory: Path, run: str) -> None:
        self.directory = directory
        self.sweep_rows: list[dict[str, Any]] = []
        self.stability_rows: list[dict[str, Any]] = []
        with _write_lock(directory):  # no writer is mid-write: every temporary file is stale
            for stale in [*directory.glob(".*.tmp"), *directory.glob(f"{STABILITY_DIR}/.*.tmp")]:
                stale.unlink(missing_ok=True)
            #: What names this attempt's files: ``run`` (a ``run_tag``) for the first attempt,
            #: '<run>-a<N>' for a resubmitted or resumed one, which never writes over the rows
            #: an earlier attempt left (it starts from an empty row list).
            self.name = _claim_attempt(directory, run)
        self.part = directory / f"{PART_PREFIX}{self.name}.parquet"
        self.stability = directory / STABILITY_DIR / f"{self.name}.parquet"

    def write(self, rows: Iterable[Mapping[str, Any]]) -> None:
        new = [dict(r) for r in rows]
        sweep = [r for r in new if r["role"] == Role.SWEEP]
        with _write_lock(self.directory):
            if sweep:
                self._supersede(to_table(sweep))
                self.sweep_rows = _replaced(self.sweep_rows, sweep)
                write_file(self.part, to_table(self.sweep_rows))
            if len(sweep) < len(new):
                self.stability_rows += [r for r in new if r["role"] != Role.SWEEP]
                self.stability.parent.mkdir(exist_ok=True)
                write_file(self.stability, to_table(self.stability_rows))

    def _supersede(self, new: pa.Table) -> None:
        """Remove from the other files the rows these new rows measure again."""
        wanted = set(_measurements(new))
        for path in data_files(self.directory):
            if path in (self.part, self.stability) or path.parent.name == STABILITY_DIR:
                continue
            try:
                table = read_file(path)
            except FileNotFoundError:
                continue
            stale = pa.array([k in wanted for k in _measurements(table)], pa.bool_())
            if not pc.any(stale).as_py():
                continue
            raw = _raw(path)  # rewrite the file as it was, foreign columns included
            kept = raw.filter(pc.invert(stale))
            if kept.num_rows:
                write_file(path, kept)
            else:
                path.unlink()


def _claim_attempt(directory: Path, run: str) -> str:
    """The first of ``run``, ``run-a1``, ``run-a2``, ... that no attempt has used (no part, no
    drift-check file, no claim), claimed by a file in ``.locks/``; call under the write lock."""
    claims = directory / LOCKS_DIR
    for attempt in itertools.count():
        name = run if attempt == 0 else f"{run}-a{attempt}"
        used = (directory / f"{PART_PREFIX}{name}.parquet", directory / STABILITY_DIR /
                f"{name}.parquet", claims / f"attempt-{name}")
        if not any(p.exists() for p in used):
            used[2].touch()
            return name
    raise AssertionError("unreachable")


def _raw(path: Path) -> pa.Table:
    with open(path, "rb") as handle:  # one open: see storage.read_file
        return pq.read_table(pa.BufferReader(handle.read()))


def _replaced(rows: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """This run's rows with any row of the same measurement replaced by its new one."""
    def key(r: Mapping[str, Any]) -> tuple:
        return tuple(r.get(c) for c in SAME_MEASUREMENT)

    fresh = {key(r) for r in new}
    return [r for r in rows if key(r) not in fresh] + new


def write_calibrations(directory: Path, models: Iterable[MachineModel], tag: str) -> Path:
    """Store the calibrations a run (``tag``: a ``run_tag``) measured, atomically."""
    path = directory / f"{CALIBRATION_PREFIX}-{tag}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, models_to_json(list(models)))
    return path


def read_calibrations(directory: str | Path) -> dict[tuple[str, str], MachineModel]:
    """The latest calibration of each (device, dtype) stored in a results folder ({} if none);
    ValueError (one line, naming the file) for one that does not parse."""
    found: dict[tuple[str, str], MachineModel] = {}
    for path in sorted(Path(directory).glob(f"{CALIBRATION_PREFIX}*.json")):
        try:
            models = models_from_json(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        for m in models:
            old = found.get((m.device, m.dtype))
            if old is None or m.calibrated_at >= old.calibrated_at:
                found[(m.device, m.dtype)] = m
    return found


def write_run_record(directory: Path, record: RunRecord) -> None:
    """Store (or update) what was submitted for a sharded run, atomically."""
    (directory / RUNS_DIR).mkdir(parents=True, exist_ok=True)
    write_text(directory / RUNS_DIR / f"{record.run_id}.json", record_to_json(record))


def read_run_records(directory: Path) -> list[RunRecord]:
    """The sharded runs submitted into a folder, oldest first."""
    records = [record_from_json(p.read_text()) for p in sorted((directory / RUNS_DIR).glob(
        "*.json"))]
    return sorted(records, key=lambda r: r.submitted_at)
