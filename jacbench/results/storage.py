"""One parquet file of results: written atomically, read back validated and upgraded.

A results folder is made of such files (``jacbench.results.folder`` says which); this module
knows only one file at a time. Writes (of a parquet file, or of a folder's JSON: calibrations,
run records) go through ``write_atomically``: a temporary file in the same folder, fsynced and
renamed over the target, so a reader (or a process killed at any instant) sees the old file or
the new one, never half of one; a write that fails (a full disk, say) leaves the old file as it
was and raises ResultsError in one line.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from jacbench.results.schema import ADDED_IN, COLUMN_NAMES, SCHEMA, SCHEMA_VERSION, Status

__all__ = ["DamagedFile", "ResultsError", "check_writable", "empty_frame", "read_file", "to_table",
           "upgrade", "write_atomically", "write_file", "write_text"]

#: Bytes the up-front write check writes and syncs: a full disk fails it, not the first point.
_PROBE_BYTES = 1 << 16


class ResultsError(Exception):
    """A results folder that cannot be read or written; the message is meant for the user."""


class DamagedFile(ResultsError):
    """A file whose bytes are not a parquet file (truncated, empty, overwritten): the folder sets
    it aside and reads the rest."""


def to_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Rows (dicts keyed by column name) as a table in the declared schema; missing -> null."""
    rows = list(rows)
    unknown = {k for r in rows for k in r} - set(COLUMN_NAMES)
    if unknown:
        raise ValueError(f"columns not in the schema: {sorted(unknown)}")
    return pa.Table.from_pylist(
        [{name: r.get(name) for name in COLUMN_NAMES} for r in rows], schema=SCHEMA
    )


def empty_frame() -> pd.DataFrame:
    return SCHEMA.empty_table().to_pandas()


def read_file(path: Path, columns: Sequence[str] | None = None) -> pa.Table:
    """One results file as a table in the current schema (extra columns dropped here; a writer
    that rewrites the file keeps them), or only ``columns`` of it (a quick read: resume asks
    for the key columns alone). ResultsError names the file and what is wrong."""
    wanted = COLUMN_NAMES if columns is None else tuple(dict.fromkeys(
        ("schema_version", *columns)))
    try:
        # One open, so one inode: another process may replace the file (atomically) while we
        # read, and a reader that opened the path twice could mix the old and the new file.
        with open(path, "rb") as handle:
            data = pa.BufferReader(handle.read())
        if columns is None:
            table = pq.read_table(data)
        else:
            stored = set(pq.ParquetFile(data).schema_arrow.names)
            table = pq.read_table(data, columns=[c for c in wanted if c in stored])
    except FileNotFoundError:
        raise  # removed meanwhile (a part emptied by newer rows): the folder reader skips it
    except (OSError, pa.ArrowException) as exc:
        raise DamagedFile(f"cannot read {path}: not a readable parquet file ({exc})") from None
    names = set(table.column_names)
    versions = set(table.column("schema_version").to_pylist()) if "schema_version" in names \
        else set()
    added_later = {c for v, cols in ADDED_IN.items() if versions and min(versions) < v
                   for c in cols}
    missing = [n for n in wanted if n not in names and n not in added_later]
    if missing:
        raise ResultsError(f"{path} lacks columns {missing}; was it written by another tool?")
    if not versions <= set(UPGRADES) | {SCHEMA_VERSION}:
        raise ResultsError(f"{path} has schema version(s) {sorted(versions)}, this jacbench "
                           f"reads {sorted({*UPGRADES, SCHEMA_VERSION})}")
    for name in added_later - names:
        column = SCHEMA.field(name)
        table = table.append_column(column, pa.nulls(len(table), column.type))
    table = table.select(list(wanted))
    for field in (SCHEMA.field(name) for name in wanted):
        if not table.schema.field(field.name).type.equals(field.type):
            try:
                table = table.set_column(table.schema.get_field_index(field.name), field,
                                         table.column(field.name).cast(field.type))
            except (pa.ArrowException, ValueError):
                raise ResultsError(
                    f"{path}: column {field.name!r} holds {table.schema.field(field.name).type}"
                    f" where {field.type} belongs; was the file edited by hand?") from None
    return table


def _from_version_1(frame: pd.DataFrame) -> pd.DataFrame:
    """Version 1 called the 'unhealthy' status 'noisy'."""
    old = frame["schema_version"] == 1
    frame.loc[old & (frame["status"] == "noisy"), "status"] = Status.UNHEALTHY
    frame.loc[old, "schema_version"] = 2
    return frame


def _from_version_2(frame: pd.DataFrame) -> pd.DataFrame:
    """Version 3 added columns (read as null) and stores the rounds setting on untimed rows too:
    an older untimed row takes its run's rounds."""
    old = frame["schema_version"] == 2
    runs = frame.groupby(frame["run_id"].fillna(""))["rounds"].transform("max")
    frame.loc[old & frame["rounds"].isna(), "rounds"] = runs
    frame.loc[old, "schema_version"] = 3
    return frame


def _from_version_3(frame: pd.DataFrame) -> pd.DataFrame:
    """Version 4 records the matrix products' precision: 'highest' for a CPU row (torch and JAX
    both multiplied in full precision there); unknown on a GPU, where JAX ran TF32."""
    old = frame["schema_version"] == 3
    frame.loc[old & (frame["device"] == "cpu"), "matmul_precision"] = "highest"
    frame.loc[old, "schema_version"] = 4
    return frame


def _from_version_4(frame: pd.DataFrame) -> pd.DataFrame:
    """Version 5 records a scheduler's allocation: older rows ran outside one, as far as
    jacbench knew ('' in words, the counts unknown)."""
    old = frame["schema_version"] == 4
    frame.loc[old & frame["allocation"].isna(), "allocation"] = ""
    frame.loc[old, "schema_version"] = 5
    return frame


def _from_version_5(frame: pd.DataFrame) -> pd.DataFrame:
    """Version 6 added machine_id, unknown (null) for older rows."""
    frame.loc[frame["schema_version"] == 5, "schema_version"] = 6
    return frame


#: How a table of an older schema version becomes the current one, a step at a time.
UPGRADES = {1: _from_version_1, 2: _from_version_2, 3: _from_version_3, 4: _from_version_4,
            5: _from_version_5}


def upgrade(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of older schema versions in the current schema (committed results stay readable)."""
    for version in sorted(UPGRADES):
        if (frame["schema_version"] == version).any():
            frame = UPGRADES[version](frame)
    return frame


def write_file(path: Path, table: pa.Table) -> None:
    """Write ``table`` to ``path`` atomically (see ``write_atomically``)."""
    write_atomically(path, lambda handle: pq.write_table(table, handle, compression="zstd"),
                     "the rows saved before are kept")


def write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (see ``write_atomically``)."""
    write_atomically(path, lambda handle: handle.write(text.encode("utf-8")),
                     "the file written before is kept")


def write_atomically(path: Path, fill: Callable[[BinaryIO], object], kept: str) -> None:
    """The one atomic write of a results folder: ``fill`` writes a temporary file beside
    ``path``, which is fsynced and renamed over it; on failure ResultsError says why and what
    is ``kept``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are for sharing
        with os.fdopen(fd, "wb") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ResultsError(f"cannot write {path}: {_why(exc)}; {kept}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _why(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    return exc.strerror or str(exc)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_writable(directory: Path) -> None:
    """Raise ResultsError unless the folder exists (or can be made) and takes a file: a few
    kilobytes written and synced, so a full disk is found before anything is measured."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ResultsError(f"{directory} is a file, not a folder: choose another --out") from None
    except OSError as exc:
        raise ResultsError(f"cannot write to {directory}: {_why(exc)}") from None
    if not directory.is_dir():
        raise ResultsError(f"{directory} is a file, not a folder: choose another --out")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".probe-", dir=directory)
        try:
            os.write(fd, b"\0" * _PROBE_BYTES)
            os.fsync(fd)
        finally:
            os.close(fd)
            Path(tmp).unlink(missing_ok=True)
    except OSError as exc:
        raise ResultsError(f"cannot write to {directory}: {_why(exc)}") from None
