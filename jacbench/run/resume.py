"""What a results folder already holds for this run: may it resume there, and what is done.

What is done is the results folder's to say (``jacbench.results.folder.done_rows``); this module
says which of those rows count for this run. A run may resume a folder measured on this machine
and software with the same settings; other machines' rows are mixed in only with --append, and
other settings are refused in one line naming them. A shard of a sharded run also counts as
done what any shard of the same run measured, on whichever host: resubmitting a shard never
measures a point twice.
"""

from __future__ import annotations

import pandas as pd

from jacbench.results.folder import done_rows
from jacbench.results.point import Point
from jacbench.results.schema import (
    COMPATIBILITY_COLUMNS,
    IDENTITY_COLUMNS,
    KEY_COLUMNS,
    Role,
)
from jacbench.results.storage import ResultsError
from jacbench.run.settings import Settings

__all__ = ["check_compatible", "check_settings", "done_keys", "key"]


def _on_this_machine(rows: pd.DataFrame, environment: dict) -> pd.DataFrame:
    """The rows measured here: same host, CPU and software, and the same machine identity (a
    row of an older schema, without one, is not taken for this machine's)."""
    for column in (*COMPATIBILITY_COLUMNS, *IDENTITY_COLUMNS):
        rows = rows[rows[column].astype(str) == str(environment[column])]
    return rows


def check_compatible(existing: pd.DataFrame, environment: dict, append: bool) -> None:
    """Refuse to mix this run into a folder measured on another machine or torch, unless asked
    (the shards of one sharded run may run on several hosts: they are one run)."""
    if append or existing.empty:
        return
    existing = existing[existing["run_id"] != environment["run_id"]]
    for column in (*COMPATIBILITY_COLUMNS, *IDENTITY_COLUMNS):
        theirs = sorted(set(existing[column].dropna().astype(str)))
        mine = str(environment[column])
        if theirs and theirs != [mine]:
            raise ResultsError(
                f"the results folder holds {column}={', '.join(theirs)} but this run has "
                f"{column}={mine}; pass --append to mix them, or choose another --out"
            )


def _settings_of(environment: dict, settings: Settings) -> dict[str, object]:
    return {"num_threads": environment["num_threads"], "min_run_time_s": settings.min_run_time,
            "rounds": settings.rounds}


_FLAGS = {"num_threads": "--threads", "min_run_time_s": "--min-run-time", "rounds": "--rounds"}


def check_settings(existing: pd.DataFrame, environment: dict, settings: Settings,
                   append: bool) -> None:
    """Refuse, in one line naming the difference, to resume a folder measured with other
    settings (threads, timing budget, rounds): its numbers would not be this run's."""
    if append:
        return
    done = _on_this_machine(done_rows(existing), environment)
    for column, mine in _settings_of(environment, settings).items():
        theirs = sorted({v for v in done[column].dropna().tolist()} - {mine})
        if theirs:
            raise ResultsError(
                f"the results folder was measured with {_FLAGS[column]} "
                f"{', '.join(f'{v:g}' for v in theirs)}, this run has {mine:g}; choose another "
                "--out, or pass --append to measure anew beside the old rows")


def done_keys(existing: pd.DataFrame, environment: dict, settings: Settings) -> set[tuple]:
    """Keys measured already, on this machine and software with these settings, or by any
    shard of this very run."""
    if existing.empty:
        return set()
    done = done_rows(existing)
    done = pd.concat([_on_this_machine(done, environment),
                      done_rows(done, environment["run_id"])])
    for column, mine in _settings_of(environment, settings).items():
        done = done[done[column].isna() | (done[column] == mine)]
    return {tuple(r) for r in done[list(KEY_COLUMNS)].itertuples(index=False)}


def key(point: Point, mode: str, role: str = Role.SWEEP) -> tuple:
    k = {"role": role, "mode": mode, **point.key()}
    return tuple(k[c] for c in KEY_COLUMNS)


