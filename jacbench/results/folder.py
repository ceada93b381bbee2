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
    DIR/[_stability/]_<name>.damaged     a file that could not be read, set aside (one line)

Each process writes only its own files, atomically (``storage.write_atomically``), its part
after every point: no run can overwrite another's rows, and no attempt an earlier attempt's
(a resubmitted shard claims the next free attempt name under the write lock). A run that
measures again a point another run left failed removes that old row from the other's part under
the folder's write lock, so every (point, mode) is in the folder once. What is done
(``done_rows``) is decided here too: resume, status and the wait for shards all ask it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa

from jacbench.results.run_record import RunRecord, record_from_json, record_to_json
from jacbench.results.schema import IDENTITY_COLUMNS, SAME_MEASUREMENT, Role, Status
from jacbench.results.storage import (
    DamagedFile,
    ResultsError,
    empty_frame,
    read_file,
    upgrade,
    write_text,
)
from jacbench.theory.time_model import MachineModel, models_from_json, models_to_json

__all__ = ["LEGACY_FILE", "data_files", "done_rows", "jobs_folder", "notice",
           "read_calibrations", "read_or_set_aside", "read_results", "read_run_records",
           "run_tag", "set_aside", "write_calibrations", "write_run_record"]

LEGACY_FILE = "results.parquet"
PART_PREFIX = "part-"
STABILITY_DIR = "_stability"
CALIBRATION_PREFIX = "_calibration"
RUNS_DIR = "_runs"
JOBS_DIR = "_jobs"
LOCKS_DIR = ".locks"
DAMAGED_SUFFIX = ".damaged"


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


#: The columns that say what is done, where and how (resume, status, the wait for shards), and
#: those the upgrades and ``newest`` read: reading only these keeps a resume quick.
DONE_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys((
    *SAME_MEASUREMENT, *IDENTITY_COLUMNS, "status", "measured_at", "run_id", "shard", "shards",
    "schema_version", "device", "matmul_precision", "allocation", "host")))


def read_results(directory: str | Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Every row of a results folder as one table (empty, with every column, when there are
    none), or only ``columns`` of it (``DONE_COLUMNS`` or more); of two rows of the same
    measurement only the newer is kept."""
    directory = Path(directory)
    if not directory.exists():
        return empty_frame()
    if not directory.is_dir():
        raise ResultsError(f"{directory} is not a folder")
    check_hygiene(directory)
    tables = [table for path in data_files(directory)
              if (table := read_or_set_aside(path, columns)) is not None]
    if not tables:
        return empty_frame() if columns is None else empty_frame()[list(tables_columns(columns))]
    frame = upgrade(pa.concat_tables(tables).to_pandas())
    return newest(frame)


def notice(line: str) -> None:
    """One line to the user about a file of the folder that costs only itself."""
    print(f"jacbench: {line}", file=sys.stderr, flush=True)


def set_aside(path: Path, why: str) -> None:
    """Rename a damaged file to '_<name>.damaged' (skipped by every reader, pandas' too), in one
    line naming it; the rest of the folder stays usable."""
    aside = path.with_name(f"_{path.name}{DAMAGED_SUFFIX}")
    try:
        path.rename(aside)
    except FileNotFoundError:  # another reader set it aside first
        return
    notice(f"set aside damaged {path} as {aside.name} ({why}); the rest of the folder is used")


def tables_columns(columns: Sequence[str]) -> tuple[str, ...]:
    """The columns a read of ``columns`` returns (the schema version always among them)."""
    return tuple(dict.fromkeys(("schema_version", *columns)))


def read_or_set_aside(path: Path, columns: Sequence[str] | None = None) -> pa.Table | None:
    """One results file (or ``columns`` of it), or None when it is gone or damaged (then set
    aside)."""
    try:
        return read_file(path, columns)
    except FileNotFoundError:  # another run removed it after the listing: nothing lost
        return None
    except DamagedFile as exc:
        set_aside(path, str(exc).rsplit("(", 1)[-1].rstrip(")"))
        return None


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


def write_calibrations(directory: Path, models: Iterable[MachineModel], tag: str) -> Path:
    """Store the calibrations a run (``tag``: a ``run_tag``) measured, atomically."""
    path = directory / f"{CALIBRATION_PREFIX}-{tag}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, models_to_json(list(models)))
    return path


def read_calibrations(directory: str | Path) -> dict[tuple[str, str], MachineModel]:
    """The latest calibration of each (device, dtype) stored in a results folder ({} if none);
    one that does not parse is skipped with one line naming it."""
    found: dict[tuple[str, str], MachineModel] = {}
    for path in sorted(Path(directory).glob(f"{CALIBRATION_PREFIX}*.json")):
        try:
            models = models_from_json(path.read_text(encoding="utf-8"))
        except (ValueError, OSError) as exc:
            notice(f"skipped the damaged calibration {path} ({_first_line(exc)})")
            continue
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
    """The sharded runs submitted into a folder, oldest first; a record that does not parse is
    skipped with one line naming it."""
    records = []
    for path in sorted((directory / RUNS_DIR).glob("*.json")):
        try:
            records.append(record_from_json(path.read_text(encoding="utf-8")))
        except (ValueError, TypeError, OSError) as exc:
            notice(f"skipped the damaged run record {path} ({_first_line(exc)})")
    return sorted(records, key=lambda r: str(r.submitted_at))


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
