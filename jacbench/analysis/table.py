"""Reading a results table for analysis: load a folder, keep the ok sweep rows, group and select.

Every analysis starts here. ``load_results`` and ``ok_sweep`` raise
``jacbench.results.storage.ResultsError`` (one line, for the user) when a folder or table has
nothing to analyse, the same exception storage raises, so the CLI catches one type. ``group_by``
and ``select`` work on any of the table's columns; a missing value is None in a group's key.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jacbench.results.folder import read_results
from jacbench.results.schema import Role, Status
from jacbench.results.storage import ResultsError

#: A group's key: (column, value) pairs, hashable, in the order the columns were named.
Fixed = tuple[tuple[str, Any], ...]


def load_results(results_dir: str | Path) -> pd.DataFrame:
    """Every stored row of a results folder; ResultsError when there is nothing to read."""
    directory = Path(results_dir)
    if not directory.is_dir():
        raise ResultsError(f"no results folder at {directory}")
    frame = read_results(directory)
    if frame.empty:
        raise ResultsError(f"{directory} holds no results (no results files, or only empty ones)")
    # Text as Python strings: pandas' pyarrow-backed ``str`` columns cost about 1.5 us per
    # element when Python iterates them, and the analyses iterate mode names per point (a
    # 10^4-point report spent 0.8 s there).
    text = frame.select_dtypes(include="str").columns
    return frame.astype(dict.fromkeys(text, object)) if len(text) else frame


def ok_sweep(frame: pd.DataFrame, where: str = "") -> pd.DataFrame:
    """The rows plots and fits use: role sweep, status ok, a positive median time.

    Raises ResultsError, naming the statuses seen, when there are none; ``where`` ends the
    message (' in results/x').
    """
    sweep = frame[frame["role"] == Role.SWEEP]
    times = pd.to_numeric(sweep["time_median_s"], errors="coerce")
    ok = sweep[(sweep["status"] == Status.OK) & (times > 0)]
    if ok.empty:
        counts = sweep["status"].fillna("?").value_counts()
        seen = ", ".join(f"{status}: {n}" for status, n in counts.items())
        raise ResultsError(f"no sweep rows with status {Status.OK}{where} "
                           f"({seen or 'the table holds stability reference rows only'})")
    return ok.reset_index(drop=True)


def is_missing(value: Any) -> bool:
    """None or NaN: a value the table does not have."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def group_by(frame: pd.DataFrame, keys: Iterable[str]) -> Iterator[tuple[Fixed, pd.DataFrame]]:
    """(key, rows) per distinct value of ``keys``, sorted; a missing value is None in the key."""
    keys = list(keys)
    for key, rows in frame.groupby(keys, dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        values = (None if is_missing(k) else k for k in key)
        yield tuple(zip(keys, values, strict=True)), rows


def mode_medians(ok: pd.DataFrame, keys: Iterable[str],
                 columns: Iterable[str] = ("time_median_s",)) -> pd.DataFrame:
    """One row per point (a distinct value of ``keys``) and mode: the median of each of
    ``columns``, ``point`` (the point's number, in sorted order) and ``rank`` (0 for the point's
    fastest mode by median time, ties by mode name), sorted by point then rank.

    One grouped pass instead of a loop over points, so a table of 10^4 points takes
    milliseconds; a missing key value is None, as in ``group_by``.
    """
    keys = list(keys)
    per = ok.groupby([*keys, "mode"], dropna=False, sort=True)[list(columns)].median()
    per = per.reset_index()
    per["point"] = per.groupby(keys, dropna=False, sort=True).ngroup()
    per = per.sort_values(["point", "time_median_s", "mode"], kind="stable")
    per = per.reset_index(drop=True)
    per["rank"] = per.groupby("point").cumcount()
    for column in keys:
        if per[column].isna().any():
            per[column] = per[column].astype(object).where(per[column].notna(), None)
    return per


def select(frame: pd.DataFrame, fixed: Fixed | Mapping[str, Any]) -> pd.DataFrame:
    """The rows matching every (column, value) of ``fixed``; None matches a missing value."""
    mask = pd.Series(True, index=frame.index)
    for column, value in dict(fixed).items():
        mask &= frame[column].isna() if value is None else frame[column] == value
    return frame[mask]


#: The columns ``iqr_band`` reads.
BAND_COLUMNS: tuple[str, ...] = ("raw_times_s", "time_median_s", "time_iqr_s")


def iqr_band(row: Mapping[str, Any]) -> tuple[float, float]:
    """The quartiles of a row's per-call times (median ± IQR/2 when the raw times are absent)."""
    raw = row.get("raw_times_s")
    if raw is not None and len(raw) >= 2:
        q25, q75 = np.percentile(np.asarray(raw, float), [25, 75])
        return float(q25), float(q75)
    median = float(row["time_median_s"])
    half = row.get("time_iqr_s")
    half = 0.0 if is_missing(half) else float(half) / 2
    return max(median - half, median * 1e-3), median + half
