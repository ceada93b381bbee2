"""The sweep: every point of a spec through the runner, saved after each point, resumable.

Results are written atomically after every completed point, into this run's own part of the
results folder (``jacbench.results.folder``), so an interrupted sweep (Ctrl-C, kill -9, a power
cut) loses at most the point in flight, and the same command then resumes. Several sweeps may
share a folder: a point is measured under a lock, and a point another process is measuring is
left for later and then skipped if that process measured it; a lock still held is waited on,
with a line naming its holder, for ``Settings.lock_wait`` at most, then the point is skipped.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

import pandas as pd
from filelock import FileLock, Timeout

from jacbench.measure.environment import device_name, run_environment
from jacbench.measure.load import busy_warning
from jacbench.modes.plugins import loaded_files
from jacbench.render.format import fmt_duration
from jacbench.results.folder import DONE_COLUMNS, read_results, run_tag, write_calibrations
from jacbench.results.point import Point
from jacbench.results.run_writer import RunWriter, lock_holder, mark_holder, point_lock
from jacbench.results.schema import Role
from jacbench.results.shipped import check_not_shipped
from jacbench.results.storage import check_writable
from jacbench.run.drift_points import stability_reference_points
from jacbench.run.estimate import estimate_point_s, estimate_setup_s, estimate_steps_s
from jacbench.run.instruments import Instruments, Yardsticks
from jacbench.run.isolated import IsolatedRunner
from jacbench.run.progress import Progress
from jacbench.run.resume import check_compatible, check_settings, done_keys, key
from jacbench.run.runner import PointRunner
from jacbench.run.settings import Settings
from jacbench.run.shard import WHOLE, Shard, shard_points
from jacbench.run.spec import SpecError, SweepSpec
from jacbench.run.steps import Step, sweep_points, sweep_steps

__all__ = ["ESTIMATE_LIMIT_S", "INSTRUMENTS", "ISOLATE", "SweepOutcome", "check_compatible",
           "check_settings", "default_out", "run_sweep"]

#: The instruments a sweep measures the machine with; the one seam tests replace with fakes.
INSTRUMENTS = Instruments()
#: Whether a sweep runs its modes in a worker process (``run.isolated``) unless told otherwise;
#: tests of the sweep loop on fake instruments turn it off.
ISOLATE = True
#: A sweep estimated to take longer than this is refused unless the user says --yes.
ESTIMATE_LIMIT_S = 2 * 3600

@dataclass
class SweepOutcome:
    out: Path
    frame: pd.DataFrame
    run_id: str
    new_rows: int
    points_run: int


#: Where new runs go by default: git-ignored, apart from the reference runs results/ ships.
RUNS_FOLDER = Path("runs")


def default_out(devices: tuple[str, ...], name: str = "default") -> Path:
    """runs/<preset or config>-<host>-<devices>/: the same command resumes on any day."""
    host = socket.gethostname().split(".")[0] or "host"
    return RUNS_FOLDER / f"{name}-{host}-{'+'.join(devices)}"


def slice_of(spec: SweepSpec, shard: Shard) -> SweepSpec:
    """The spec of one shard: its points, and drift-check points chosen among them."""
    if shard.count == 1:
        return spec
    mine = shard_points(spec.points, shard.count,
                        lambda p: estimate_point_s(p, spec.modes_at(p), spec.settings))
    points = tuple(mine[shard.index])
    return replace(spec, points=points, stability=stability_reference_points(
        points, spec.settings.stability_points))


def _warn_if_busy(devices: list[str], instruments: Instruments, say: Callable[[str], None]) -> None:
    for device in devices:
        warning = busy_warning(instruments.load(device))
        if warning:
            say(warning)


def _check_estimate(steps: list[Step], points: int, pairs: list[tuple[str, str]],
                    settings: Settings, yes: bool, say: Callable[[str], None]) -> list[float]:
    """Say how long the steps will take, refuse above ESTIMATE_LIMIT_S without --yes, and
    return each step's estimate for the progress (a sample's mean each, on a huge grid)."""
    total, seen = estimate_steps_s(steps, settings)
    total += estimate_setup_s(pairs)
    how = "" if seen == len(steps) else f", from an even sample of {seen} of them"
    say(f"{points} points to measure; about {fmt_duration(total)} by the cost model "
        f"(calibration, compiles and timing rounds included{how})")
    if total > ESTIMATE_LIMIT_S and not yes:
        raise SpecError(f"this sweep would take about {fmt_duration(total)}, above "
                        f"{fmt_duration(ESTIMATE_LIMIT_S)}: pass --yes to run it, or "
                        "shrink the grid")
    if seen == len(steps):
        return [estimate_point_s(p, ms, settings) for p, ms, _ in steps]
    return [total / len(steps)] * len(steps)


@dataclass
class _Loop:
    """Measures the steps of one run, a sweep point only under its lock, writing after each."""

    spec: SweepSpec
    out: Path
    environment: dict
    runner: PointRunner | IsolatedRunner
    writer: RunWriter
    progress: Progress
    say: Callable[[str], None]
    new_rows: int = 0

    def run(self, steps: list[Step]) -> None:
        deferred: list[Step] = []
        for step in steps:
            if step[2] == Role.STABILITY_END:  # after every sweep point, deferred ones too
                for later in deferred:
                    self._locked(later, wait=True)
                deferred = []
            if step[2] != Role.SWEEP:
                self._measure(*step)
            elif not self._locked(step, wait=False):
                deferred.append(step)  # another process is measuring it: come back later
        for later in deferred:
            self._locked(later, wait=True)

    def _locked(self, step: Step, wait: bool) -> bool:
        """Measure a sweep point under its lock (what is left of it); False when it is busy."""
        point, modes, role = step
        lock = point_lock(self.out, point.key())
        if not self._acquire(lock, point, wait):
            return wait  # waited for in vain: skipped, said so
        try:
            mark_holder(lock)
            done = done_keys(read_results(self.out, DONE_COLUMNS), self.environment,
                             self.spec.settings)
            left = tuple(m for m in modes if key(point, m) not in done)
            if left:
                self._measure(point, left, role)
            else:
                self.progress.step()  # measured meanwhile by another process
        finally:
            lock.release()
        return True

    def _acquire(self, lock: FileLock, point: Point, wait: bool) -> bool:
        """Take a point's lock: at once, or waiting up to ``lock_wait`` with a line naming the
        holder; a point still held then is skipped with a line (a resume measures it)."""
        try:
            lock.acquire(timeout=0)
            return True
        except Timeout:
            if not wait:
                return False
        limit = self.spec.settings.lock_wait
        holder = lock_holder(lock)
        self.say(f"waiting up to {fmt_duration(limit)} for {point.label()}: {holder} is "
                 f"measuring it (lock {lock.lock_file})")
        try:
            lock.acquire(timeout=limit)
            return True
        except Timeout:
            self.say(f"skipped {point.label()}: its lock {lock.lock_file} was still held by "
                     f"{holder} after {fmt_duration(limit)}; run the command again to measure it")
            self.progress.step()
            return False

    def _measure(self, point: Point, modes: tuple[str, ...], role: str) -> None:
        self.progress.describe(point.label() if role == Role.SWEEP else f"{role} {point.label()}")
        self.runner.environment = {**self.environment, "device_name": device_name(point.device)}
        rows = [record.to_row() for record in self.runner.run(point, modes, role)]
        self.writer.write(rows)
        self.new_rows += len(rows)
        self.progress.step()


def _runner(spec: SweepSpec, environment: dict, yardsticks: Yardsticks,
            instruments: Instruments, note: Callable[[str], None],
            isolate: bool) -> PointRunner | IsolatedRunner:
    if not isolate:
        return PointRunner(spec.settings, environment, yardsticks, instruments, on_progress=note)
    return IsolatedRunner(spec.settings, environment, yardsticks, instruments, on_progress=note,
                          plugins=loaded_files())


def _environment(shard: Shard, run_id: str | None, say: Callable[[str], None]) -> dict:
    """This run's environment columns; one line when the scheduler shares the node."""
    environment = {**run_environment(), "shard": shard.index, "shards": shard.count}
    if run_id:
        environment["run_id"] = run_id
    if environment.get("node_shared"):
        say(f"jacbench: {environment['allocation']}: its timings share the node")
    return environment


def run_sweep(
    spec: SweepSpec,
    out: Path,
    *,
    append: bool = False,
    progress: bool | None = None,
    stream: TextIO | None = None,
    yes: bool = False,
    shard: Shard = WHOLE,
    run_id: str | None = None,
    isolate: bool | None = None,
) -> SweepOutcome:
    """Run what is not yet in ``out``, writing after every point; return the whole table.

    ``progress``: None shows a bar on a terminal and plain progress lines elsewhere; True a bar;
    False nothing. ``yes`` runs a sweep estimated above ESTIMATE_LIMIT_S. ``shard`` runs only
    that slice of the grid (``jacbench.run.shard``), as part of the run ``run_id`` (shards of
    one run share it; a new one by default). ``isolate`` runs the modes in a worker process
    (``run.isolated``; default ``ISOLATE``), with the plugin files this process loaded.
    """
    stream = stream or sys.stderr

    def say(line: str) -> None:
        print(line, file=stream, flush=True)

    check_not_shipped(out)
    check_writable(out)
    existing = read_results(out, DONE_COLUMNS)  # what is done, read quickly
    environment = _environment(shard, run_id, say)
    spec = slice_of(spec, shard)
    check_compatible(existing, environment, append)
    check_settings(existing, environment, spec.settings, append)
    steps = sweep_steps(spec, done_keys(existing, environment, spec.settings))
    if not steps:
        say(f"nothing to do: every point is already in {out}")
        return SweepOutcome(out, read_results(out), environment["run_id"], 0, 0)
    points = sweep_points(steps)
    pairs = list(dict.fromkeys((p.device, p.dtype) for p, _, _ in steps))
    estimates = _check_estimate(steps, points, pairs, spec.settings, yes, say)
    instruments = INSTRUMENTS
    _warn_if_busy(list(dict.fromkeys(device for device, _ in pairs)), instruments, say)
    measured = tuple(dict.fromkeys(m for _, ms, _ in steps for m in ms))
    yardsticks = Yardsticks.measure(pairs, instruments, say, measured)
    writer = RunWriter(out, run_tag(environment["run_id"], environment["shard"]))
    write_calibrations(out, yardsticks.models.values(), writer.name)
    style = ("bar" if stream.isatty() else "lines") if progress is None else (
        "bar" if progress else "off")
    shown = Progress(estimates, stream, style)
    runner = _runner(spec, environment, yardsticks, instruments, shown.note,
                     ISOLATE if isolate is None else isolate)
    loop = _Loop(spec, out, environment, runner, writer, shown, say)
    try:
        loop.run(steps)
    finally:
        shown.close()
        if isinstance(runner, IsolatedRunner):
            runner.close()
    return SweepOutcome(out, read_results(out), environment["run_id"], loop.new_rows, points)
