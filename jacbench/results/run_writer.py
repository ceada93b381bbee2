"""Writing into a results folder: one run's parts, atomically after every point, and the locks.

Where each file lives is ``jacbench.results.folder``'s to say; this module writes the sweep rows
of one process (``RunWriter``), claims each attempt of a shard its own files, removes the rows
newer ones supersede under the folder's write lock, and holds a point's lock while it is measured.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import socket
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from filelock import FileLock

from jacbench.results.folder import (
    LOCKS_DIR,
    PART_PREFIX,
    STABILITY_DIR,
    data_files,
    read_or_set_aside,
)
from jacbench.results.schema import SAME_MEASUREMENT, Role
from jacbench.results.storage import to_table, write_file

__all__ = ["RunWriter", "lock_holder", "mark_holder", "point_lock"]

HOLDER_SUFFIX = ".holder"


def point_lock(directory: Path, key: Mapping[str, Any]) -> FileLock:
    """The lock a process holds while it measures one point, so no two measure it at once."""
    digest = hashlib.sha1(repr(sorted(key.items())).encode()).hexdigest()[:20]
    (directory / LOCKS_DIR).mkdir(exist_ok=True)
    return FileLock(str(directory / LOCKS_DIR / f"point-{digest}.lock"))


def mark_holder(lock: FileLock) -> None:
    """Say beside a lock just taken who holds it, for a process that finds it held."""
    holder = f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%H:%M:%S')}"
    Path(f"{lock.lock_file}{HOLDER_SUFFIX}").write_text(holder, encoding="utf-8")


def lock_holder(lock: FileLock) -> str:
    """Who holds a lock, as its holder said (``mark_holder``), or 'another process'."""
    try:
        return Path(f"{lock.lock_file}{HOLDER_SUFFIX}").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return "another process"


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
        self.stability_rows: list[dict[str, Any]] = []
        # Parts and drift-check files are written only under the write lock, so under it their
        # temporary files are stale; a calibration's (written unlocked) is not touched.
        with _write_lock(directory):
            for stale in [*directory.glob(f".{PART_PREFIX}*.tmp"),
                          *directory.glob(f"{STABILITY_DIR}/.*.tmp")]:
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
                table = to_table(sweep)
                self._supersede(table)
                write_file(self.part, _replaced(self._own(), table))
            if len(sweep) < len(new):
                self.stability_rows += [r for r in new if r["role"] != Role.SWEEP]
                self.stability.parent.mkdir(exist_ok=True)
                write_file(self.stability, to_table(self.stability_rows))

    def _own(self) -> pa.Table:
        """This run's sweep rows as its part holds them now: the file, not a list kept here, is
        the truth, since another run may have removed rows of it that it measured again."""
        return _raw(self.part) if self.part.exists() else to_table([])

    def _supersede(self, new: pa.Table) -> None:
        """Remove from the other files the rows these new rows measure again."""
        wanted = set(_measurements(new))
        for path in data_files(self.directory):
            if path in (self.part, self.stability) or path.parent.name == STABILITY_DIR:
                continue
            table = read_or_set_aside(path)
            if table is None:
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


def _replaced(rows: pa.Table, new: pa.Table) -> pa.Table:
    """This run's rows with any row of the same measurement replaced by its new one."""
    fresh = set(_measurements(new))
    kept = rows.filter(pa.array([k not in fresh for k in _measurements(rows)], pa.bool_()))
    return pa.concat_tables([kept, new], promote_options="default")
