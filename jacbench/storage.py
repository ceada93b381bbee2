"""The results table on disk: one versioned schema, atomic writes, loading a results folder.

A results folder holds ``results.parquet`` (one row per (point, mode)) so that
``pandas.read_parquet(DIR)`` reads it as one table. Everything else jacbench writes there (plots,
the report) starts with ``_``, which pyarrow's dataset discovery skips.

Schema history (bump SCHEMA_VERSION and add a line when a column changes):
    1  first version.
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

SCHEMA_VERSION = 1
RESULTS_FILE = "results.parquet"

#: Columns that identify a measurement: the key for resume, merge and grouping.
KEY_COLUMNS: tuple[str, ...] = (
    "role", "mode", "L", "D", "K", "P", "batch", "dtype", "device", "activation", "bias", "seed",
)

#: Statuses after which a (point, mode) counts as done and is not re-run on resume.
DONE_STATUSES = frozenset({"ok", "mismatch", "skipped"})
STATUSES = ("ok", "mismatch", "skipped", "oom", "error", "noisy")

_f64, _i64, _str, _bool = pa.float64(), pa.int64(), pa.string(), pa.bool_()

#: Every column, its type, and what it means: the one place the schema is declared.
COLUMNS: tuple[tuple[str, pa.DataType, str], ...] = (
    # identity
    ("role", _str, "'sweep', or 'stability-start'/'stability-end' for the drift check"),
    ("mode", _str, "Jacobian mode name"),
    ("L", _i64, "activation layers"),
    ("D", _i64, "input size"),
    ("K", _i64, "hidden width"),
    ("P", _i64, "output size"),
    ("batch", _i64, "inputs per call (1 means a single (D,) input)"),
    ("dtype", _str, "float32 or float64"),
    ("device", _str, "cpu or cuda"),
    ("activation", _str, "tanh, sigmoid or relu"),
    ("bias", _bool, "whether the model has biases"),
    ("seed", _i64, "model and input seed"),
    # outcome
    ("status", _str, "ok, mismatch, skipped, oom, error or noisy"),
    ("reason", _str, "why the status is not ok ('' when ok)"),
    ("rel_error", _f64, "relative Frobenius error against the float64 reference"),
    # timing
    ("time_median_s", _f64, "median seconds per Jacobian call, over rounds"),
    ("time_iqr_s", _f64, "interquartile range of the per-call times, seconds"),
    ("repeats", _i64, "number of timed repeats (blocks) over all rounds"),
    ("number_per_run", _i64, "calls per timed repeat"),
    ("raw_times_s", pa.list_(_f64), "per-call seconds of every repeat"),
    ("round_medians_s", pa.list_(_f64), "median per-call seconds of each round"),
    ("rounds", _i64, "interleaved rounds"),
    ("noisy", _bool, "IQR / median > 0.1"),
    ("min_run_time_s", _f64, "timing budget per measurement, seconds"),
    # theory and ceilings
    ("macs", _i64, "multiply-adds of the mode by the cost model"),
    ("flops", _i64, "2 x macs"),
    ("bytes_moved", _i64, "minimum bytes moved by the cost model"),
    ("model_peak_bytes", _i64, "extra memory the mode holds at peak, by the cost model"),
    ("measured_peak_bytes", _i64, "measured peak memory of one call (CUDA only), bytes"),
    ("peak_flops", _f64, "measured matmul ceiling of the device and dtype, FLOP/s"),
    ("peak_bandwidth", _f64, "measured memory bandwidth of the device, bytes/s"),
    ("floor_s", _f64, "max(flops / peak_flops, bytes_moved / peak_bandwidth)"),
    ("efficiency", _f64, "floor_s / time_median_s"),
    # machine health at the point
    ("probe_before_gflops", _f64, "speed probe before the point, GFLOP/s"),
    ("probe_after_gflops", _f64, "speed probe after the point, GFLOP/s"),
    ("retries", _i64, "re-runs of the point after a slow probe"),
    ("load_avg_1m", _f64, "1-minute load average at the start of the point"),
    ("cpu_freq_mhz", _f64, "CPU clock at the start of the point, where readable"),
    ("busy_procs", _i64, "other running processes at the start of the point"),
    ("gpu_clock_mhz", _f64, "GPU SM clock at the start of the point, where readable"),
    ("gpu_temp_c", _f64, "GPU temperature at the start of the point, where readable"),
    ("measured_at", _str, "UTC time the point was measured (ISO 8601)"),
    # environment, collected once per run
    ("schema_version", _i64, "this schema's version"),
    ("jacbench_version", _str, "jacbench version"),
    ("torch_version", _str, "torch version"),
    ("cuda_version", _str, "CUDA version torch was built with ('' for none)"),
    ("device_name", _str, "GPU name, or the CPU model for cpu rows"),
    ("cpu_model", _str, "CPU model"),
    ("num_threads", _i64, "torch intra-op threads"),
    ("host", _str, "host name"),
    ("platform", _str, "OS and architecture"),
    ("python_version", _str, "Python version"),
    ("git_commit", _str, "jacbench git commit, where known"),
    ("run_id", _str, "identifier of the sweep run that wrote the row"),
    ("started_at", _str, "UTC time the run started (ISO 8601)"),
)

SCHEMA = pa.schema([pa.field(name, typ) for name, typ, _ in COLUMNS])
COLUMN_NAMES: tuple[str, ...] = tuple(SCHEMA.names)

#: Environment columns that must match for results to be mixed in one folder without --append.
COMPATIBILITY_COLUMNS: tuple[str, ...] = ("host", "cpu_model", "torch_version", "cuda_version")


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
    missing = [n for n in COLUMN_NAMES if n not in table.column_names]
    if missing:
        raise ResultsError(f"{path} lacks columns {missing}; was it written by another tool?")
    versions = set(table.column("schema_version").to_pylist())
    if versions - {SCHEMA_VERSION}:
        raise ResultsError(
            f"{path} has schema version(s) {sorted(versions)}, this jacbench reads {SCHEMA_VERSION}"
        )
    return table.select(list(COLUMN_NAMES)).to_pandas()


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
    sweep = combined["role"] == "sweep"
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
