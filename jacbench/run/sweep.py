"""The sweep: every point of a spec through the runner, saved after each point, resumable.

Results are rewritten atomically after every completed point, so an interrupted sweep (Ctrl-C,
kill -9, a power cut) loses at most the point in flight; the same command then resumes.
"""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import TextIO

import pandas as pd
import torch
from tqdm import tqdm

from jacbench.measure.ceilings import Ceilings, measure_ceilings
from jacbench.measure.environment import device_name, run_environment
from jacbench.measure.probe import ProbeTracker, busy_warning, machine_load, speed_probe
from jacbench.run.runner import DTYPES, PointRunner
from jacbench.run.spec import Point, SweepSpec
from jacbench.results.storage import (
    COMPATIBILITY_COLUMNS,
    DONE_STATUSES,
    KEY_COLUMNS,
    ResultsError,
    append_rows,
    check_writable,
    read_results,
)

#: Modes re-measured at the stability points: cheap, and enough to see drift.
STABILITY_MODES = ("forward", "reverse", "jacrev")
PROBES_AT_START = 3
CEILING_TRIES = 2


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
    done = existing[(existing["role"] == "sweep") & existing["status"].isin(DONE_STATUSES)]
    for column in COMPATIBILITY_COLUMNS:
        done = done[done[column].astype(str) == str(environment[column])]
    return {tuple(r) for r in done[list(KEY_COLUMNS)].itertuples(index=False)}


def _key(point: Point, mode: str, role: str = "sweep") -> tuple:
    k = {"role": role, "mode": mode, **point.key()}
    return tuple(k[c] for c in KEY_COLUMNS)


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
    check_writable(out)
    existing = read_results(out)
    environment = run_environment()
    check_compatible(existing, environment, append)
    done = _done_keys(existing, environment)
    todo = [(p, tuple(m for m in spec.settings.modes if _key(p, m) not in done))
            for p in spec.points]
    todo = [(p, ms) for p, ms in todo if ms]
    if not todo:
        print(f"nothing to do: every point is already in {out}", file=stream)
        return SweepOutcome(out, existing, environment["run_id"], 0, 0)

    devices = tuple(dict.fromkeys(p.device for p, _ in todo))
    for device in devices:
        warning = busy_warning(machine_load(device))
        if warning:
            print(warning, file=stream)
    ceilings: dict[tuple[str, str], Ceilings] = {}
    trackers: dict[tuple[str, str], ProbeTracker] = {}
    for device, dtype in dict.fromkeys((p.device, p.dtype) for p, _ in todo):
        ceilings[(device, dtype)] = best_ceilings(device, DTYPES[dtype])
        c = ceilings[(device, dtype)]
        print(f"{device} {dtype}: matmul ceiling {c.peak_flops / 1e9:.0f} GFLOP/s, "
              f"bandwidth {c.peak_bandwidth / 1e9:.1f} GB/s", file=stream)
        # A yardstick before the first point, so that a slow start is seen as slow.
        trackers[(device, dtype)] = tracker = ProbeTracker()
        for _ in range(PROBES_AT_START):
            tracker.update(speed_probe(device, dtype=DTYPES[dtype]))

    show = stream.isatty() if progress is None else progress
    bar = tqdm(total=len(todo) + 2 * len(spec.stability), unit="point", disable=not show,
               file=stream, dynamic_ncols=True)
    runner = PointRunner(spec.settings, environment, ceilings, trackers,
                         on_progress=lambda text: bar.set_postfix_str(text, refresh=False))
    stability_modes = tuple(m for m in STABILITY_MODES if m in spec.settings.modes)
    stability_modes = stability_modes or spec.settings.modes
    new_rows = 0

    def record(point: Point, modes: tuple[str, ...], role: str) -> None:
        nonlocal existing, new_rows
        rows = runner.run(point, modes, role)
        for row in rows:
            row["device_name"] = device_name(point.device)
        existing = append_rows(out, existing, rows)
        new_rows += len(rows)

    try:
        # The stability reference points bracket the sweep; the bar counts them too.
        steps = [(p, stability_modes, "stability-start") for p in spec.stability]
        steps += [(p, modes, "sweep") for p, modes in todo]
        steps += [(p, stability_modes, "stability-end") for p in spec.stability]
        for point, modes, role in steps:
            bar.set_description(point.label() if role == "sweep" else f"{role} {point.label()}")
            record(point, modes, role)
            bar.update()
    finally:
        bar.close()
    return SweepOutcome(out, existing, environment["run_id"], new_rows, len(todo))


def best_ceilings(device: str, dtype: torch.dtype, tries: int = CEILING_TRIES) -> Ceilings:
    """The best of a few ceiling measurements: one taken in a slow moment would put every
    floor too low (a run here once measured 107 GFLOP/s where 190 is usual)."""
    found = [measure_ceilings(device, dtype) for _ in range(tries)]
    best = max(found, key=lambda c: c.peak_flops)
    return replace(best, peak_bandwidth=max(c.peak_bandwidth for c in found))
