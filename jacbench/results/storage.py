"""The results table on disk: atomic writes, reading a results folder, upgrading old schemas.

A results folder holds ``results.parquet`` (one row per (point, mode)) so that
``pandas.read_parquet(DIR)`` reads it as one table. Everything else jacbench writes there (plots,
the report) starts with ``_``, which pyarrow's dataset discovery skips. The columns are declared
in ``jacbench.results.schema``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from jacbench.results.schema import (
    ADDED_IN,
    COLUMN_NAMES,
    COMPATIBILITY_COLUMNS,
    KEY_COLUMNS,
    SCHEMA,
    SCHEMA_VERSION,
    Role,
    Status,
)

RESULTS_FILE = "results.parquet"


class ResultsError(Exception):
    """A results folder that cannot be read or written; the message is meant for the user."""


def to_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Rows (dicts keyed by column name) as a table in the declared schema; missing -> null."""
    rows = list(rows)
    unknown = {k for r in rows for k in r} - set(COLUMN_NAMES)
    if unknown:
        raise ValueError(f"columns not in the schema: {sorted(unknown)}")
    return pa.Table.from_pylist(
        [{name: r.get(name) for name in COLUMN_NAMES} for r in rows], schema=SCHEMA
    )


def results_path(directory: str | Path) -> Path:
    return Path(directory) / RESULTS_FILE


def read_results(directory: str | Path) -> pd.DataFrame:
    """The rows stored in a results folder (empty, with every column, when there are none).

    Raises ResultsError naming the file when something there does not read as this schema.
    """
    directory = Path(directory)
    if not directory.exists():
        return empty_frame()
    if not directory.is_dir():
        raise ResultsError(f"{directory} is not a folder")
    path = results_path(directory)
    others = sorted(p.name for p in directory.glob("*.parquet") if p.name != RESULTS_FILE)
    if others:  # pandas.read_parquet(DIR) would mix them into the table
        raise ResultsError(
            f"{directory} holds parquet files not written by jacbench ({', '.join(others)})"
        )
    if not path.exists():
        return empty_frame()
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise ResultsError(f"cannot read {path}: not a readable parquet file ({exc})") from None
    versions = set(table.column("schema_version").to_pylist()) if (
        "schema_version" in table.column_names) else set()
    added_later = {c for v, cols in ADDED_IN.items() if versions and min(versions) < v
                   for c in cols}
    missing = [n for n in COLUMN_NAMES if n not in table.column_names and n not in added_later]
    if missing:
        raise ResultsError(f"{path} lacks columns {missing}; was it written by another tool?")
    if not versions <= set(UPGRADES) | {SCHEMA_VERSION}:
        raise ResultsError(
            f"{path} has schema version(s) {sorted(versions)}, this jacbench reads "
            f"{sorted({*UPGRADES, SCHEMA_VERSION})}"
        )
    for name in added_later - set(table.column_names):
        column = SCHEMA.field(name)
        table = table.append_column(column, pa.nulls(len(table), column.type))
    return upgrade(table.select(list(COLUMN_NAMES)).to_pandas())


def _from_version_1(frame: pd.DataFrame) -> pd.DataFrame:
    """Version 1 called the 'unhealthy' status 'noisy'."""
    old = frame["schema_version"] == 1
    frame.loc[old & (frame["status"] == "noisy"), "status"] = Status.UNHEALTHY
    frame.loc[old, "schema_version"] = 2
    return frame


def _from_version_2(frame: pd.DataFrame) -> pd.DataFrame:
    """Version 3 only added columns (read as null); a table of one run is one unsharded shard."""
    old = frame["schema_version"] == 2
    frame.loc[old, "schema_version"] = 3
    return frame


#: How a table of an older schema version becomes the current one, a step at a time.
UPGRADES = {1: _from_version_1, 2: _from_version_2}


def upgrade(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of older schema versions in the current schema (committed results stay readable)."""
    for version in sorted(UPGRADES):
        if (frame["schema_version"] == version).any():
            frame = UPGRADES[version](frame)
    return frame


def empty_frame() -> pd.DataFrame:
    return SCHEMA.empty_table().to_pandas()


def write_results(directory: str | Path, frame: pd.DataFrame) -> Path:
    """Write the whole table atomically: a temporary file in the same folder, fsync, rename.

    A reader (or a process killed at any instant) sees either the old file or the new one,
    never a half-written file.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame[list(COLUMN_NAMES)], schema=SCHEMA, preserve_index=False)
    target = results_path(directory)
    fd, tmp = tempfile.mkstemp(prefix=".results-", suffix=".tmp", dir=directory)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are for sharing
        with os.fdopen(fd, "wb") as handle:
            pq.write_table(table, handle, compression="zstd")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def append_rows(directory: str | Path, existing: pd.DataFrame, rows: list[dict]) -> pd.DataFrame:
    """Existing rows plus new ones, new rows replacing any with the same key; written atomically.

    The key includes the environment columns that keep machines apart, so rows of another
    machine added with --append are kept; stability rows also carry their run_id, so that each
    run keeps its own.
    """
    new = to_table(rows).to_pandas()
    combined = pd.concat([existing, new], ignore_index=True) if len(existing) else new
    sweep_key = [*KEY_COLUMNS, *COMPATIBILITY_COLUMNS]
    key = [*sweep_key, "run_id"]
    sweep = combined["role"] == Role.SWEEP
    dedup_sweep = combined[sweep].drop_duplicates(subset=sweep_key, keep="last")
    dedup_other = combined[~sweep].drop_duplicates(subset=key, keep="last")
    combined = pd.concat([dedup_sweep, dedup_other], ignore_index=True)
    write_results(directory, combined)
    return combined


def check_writable(directory: str | Path) -> None:
    """Raise ResultsError unless the folder exists (or can be made) and takes a new file."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".probe-", dir=directory)
        os.close(fd)
        Path(tmp).unlink()
    except OSError as exc:
        raise ResultsError(f"cannot write to {directory}: {exc.strerror or exc}") from None
