"""The sweep: every point of a spec through the runner, saved after each point, resumable.

Results are rewritten atomically after every completed point, so an interrupted sweep (Ctrl-C,
kill -9, a power cut) loses at most the point in flight; the same command then resumes.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TextIO

import pandas as pd
from tqdm import tqdm

from jacbench.measure.environment import device_name, run_environment
from jacbench.measure.load import busy_warning
from jacbench.results.point import Point
from jacbench.results.schema import COMPATIBILITY_COLUMNS, KEY_COLUMNS, Role, Status
from jacbench.results.storage import ResultsError, append_rows, check_writable, read_results
from jacbench.run.instruments import Instruments, Yardsticks
from jacbench.run.runner import PointRunner
from jacbench.run.settings import STABILITY_MODES
from jacbench.run.spec import SweepSpec

__all__ = ["INSTRUMENTS", "SweepOutcome", "check_compatible", "default_out", "run_sweep"]

#: The instruments a sweep measures the machine with; the one seam tests replace with fakes.
INSTRUMENTS = Instruments()

#: One step of a sweep: a point, the modes to measure there, and why.
Step = tuple[Point, tuple[str, ...], str]


@dataclass
class SweepOutcome:
    out: Path
    frame: pd.DataFrame
    run_id: str
    new_rows: int
    points_run: int


def default_out(devices: tuple[str, ...]) -> Path:
    host = socket.gethostname().split(".")[0] or "host"
    return Path("results") / f"{date.today().isoformat()}-{host}-{'+'.join(devices)}"


def check_compatible(existing: pd.DataFrame, environment: dict, append: bool) -> None:
    """Refuse to mix this run into a folder measured on another machine or torch, unless asked."""
    if append or existing.empty:
        return
    for column in COMPATIBILITY_COLUMNS:
        theirs = sorted(set(existing[column].dropna().astype(str)))
        mine = str(environment[column])
        if theirs and theirs != [mine]:
            raise ResultsError(
                f"the results folder holds {column}={', '.join(theirs)} but this run has "
                f"{column}={mine}; pass --append to mix them, or choose another --out"
            )


def _done_keys(existing: pd.DataFrame, environment: dict) -> set[tuple]:
    """Keys measured already, on this machine and software (rows added with --append from
    elsewhere do not count)."""
    if existing.empty:
        return set()
    done = existing[(existing["role"] == Role.SWEEP) & existing["status"].isin(Status.DONE)]
    for column in COMPATIBILITY_COLUMNS:
        done = done[done[column].astype(str) == str(environment[column])]
    return {tuple(r) for r in done[list(KEY_COLUMNS)].itertuples(index=False)}


def _key(point: Point, mode: str, role: str = Role.SWEEP) -> tuple:
    k = {"role": role, "mode": mode, **point.key()}
    return tuple(k[c] for c in KEY_COLUMNS)


def _steps(spec: SweepSpec, done: set[tuple]) -> tuple[list[Step], int]:
    """The sweep's steps bracketed by the stability reference points, and the sweep points left.

    Empty when every sweep point is done: the reference points alone are not worth a run.
    """
    todo = [(p, tuple(m for m in spec.settings.modes if _key(p, m) not in done))
            for p in spec.points]
    todo = [(p, ms) for p, ms in todo if ms]
    if not todo:
        return [], 0
    modes = tuple(m for m in STABILITY_MODES if m in spec.settings.modes) or spec.settings.modes
    steps: list[Step] = [(p, modes, Role.STABILITY_START) for p in spec.stability]
    steps += [(p, ms, Role.SWEEP) for p, ms in todo]
    steps += [(p, modes, Role.STABILITY_END) for p in spec.stability]
    return steps, len(todo)


def _warn_if_busy(devices: list[str], instruments: Instruments, say: Callable[[str], None]) -> None:
    for device in devices:
        warning = busy_warning(instruments.load(device))
        if warning:
            say(warning)


def run_sweep(
    spec: SweepSpec,
    out: Path,
    *,
    append: bool = False,
    progress: bool | None = None,
    stream: TextIO | None = None,
) -> SweepOutcome:
    """Run what is not yet in ``out``, writing after every point; return the whole table."""
    stream = stream or sys.stderr

    def say(line: str) -> None:
        print(line, file=stream)

    check_writable(out)
    existing = read_results(out)
    environment = {**run_environment(), "shard": 0, "shards": 1}
    check_compatible(existing, environment, append)
    steps, points_left = _steps(spec, _done_keys(existing, environment))
    if not steps:
        say(f"nothing to do: every point is already in {out}")
        return SweepOutcome(out, existing, environment["run_id"], 0, 0)
    instruments = INSTRUMENTS
    _warn_if_busy(list(dict.fromkeys(p.device for p, _, _ in steps)), instruments, say)
    pairs = list(dict.fromkeys((p.device, p.dtype) for p, _, _ in steps))
    yardsticks = Yardsticks.measure(pairs, instruments, say)
    show = stream.isatty() if progress is None else progress
    bar = tqdm(total=len(steps), unit="point", disable=not show, file=stream,
               dynamic_ncols=True)
    runner = PointRunner(spec.settings, environment, yardsticks, instruments,
                         on_progress=lambda text: bar.set_postfix_str(text, refresh=False))
    new_rows = 0
    try:
        for point, modes, role in steps:
            bar.set_description(point.label() if role == Role.SWEEP else f"{role} {point.label()}")
            named = {**environment, "device_name": device_name(point.device)}
            runner.environment = named
            rows = [record.to_row() for record in runner.run(point, modes, role)]
            existing = append_rows(out, existing, rows)
            new_rows += len(rows)
            bar.update()
    finally:
        bar.close()
    return SweepOutcome(out, existing, environment["run_id"], new_rows, points_left)
