"""One typed record per (point, mode, role): what the runner found, turned into a row in one place.

The runner builds records; ``Record.to_row`` lays one out in the schema's columns; storage writes
rows. No other module assembles a row. Like torch.utils.benchmark's Measurement carrying its
TaskSpec, a record carries its Point.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from jacbench.catalog import MATMUL_PRECISION
from jacbench.results.point import Point
from jacbench.results.schema import SCHEMA_VERSION, Status


class TimingLike(Protocol):
    """What a record needs of a timing (``measure.stats.RoundRobinTiming`` is one)."""

    @property
    def median_s(self) -> float: ...
    @property
    def iqr_s(self) -> float: ...
    @property
    def repeats(self) -> int: ...
    @property
    def number_per_run(self) -> int: ...
    @property
    def raw_times_s(self) -> Sequence[float]: ...
    @property
    def round_medians_s(self) -> Sequence[float]: ...
    @property
    def noisy(self) -> bool: ...


@dataclass(frozen=True)
class Outcome:
    """What checking, and then timing, one mode found: a status, and why when it is not ok."""

    status: str
    reason: str = ""
    rel_error: float | None = None
    call_s: float | None = None  # the untimed check call's duration
    measured_peak_bytes: int | None = None
    compile_s: float | None = None  # one-off cost of the first call beyond a steady one
    mode_threads: int | None = None  # CPU threads the mode's framework ran with

    def __post_init__(self) -> None:
        if self.status not in Status.ALL:
            raise ValueError(f"unknown status {self.status!r}; one of {', '.join(Status.ALL)}")


@dataclass(frozen=True)
class Theory:
    """The cost model's counts for the mode at the point, and the run's ceilings there."""

    macs: int | None  # None: a mode without a cost model (a user's own algorithm)
    flops: int | None
    bytes_moved: int | None
    model_peak_bytes: int | None
    peak_flops: float | None = None
    peak_bandwidth: float | None = None
    floor_s: float | None = None  # max(flops / peak_flops, bytes_moved / peak_bandwidth)
    predicted_s: float | None = None  # the calibrated time model's prediction
    predicted_bound: str | None = None  # its dominant term, in words


@dataclass(frozen=True)
class Probes:
    """The speed probes around the point's timing, and how often it was re-run."""

    before_gflops: float
    after_gflops: float
    retries: int


@dataclass(frozen=True)
class Record:
    """Everything known about one (point, mode) in one role."""

    role: str
    mode: str
    point: Point
    outcome: Outcome
    theory: Theory
    timing: TimingLike | None = None
    probes: Probes | None = None
    #: Machine readings at the start of the point (``measure.load.Load``'s fields).
    readings: Mapping[str, Any] = field(default_factory=dict)
    min_run_time_s: float | None = None
    rounds: int | None = None  # the run's setting; a timing's own count where there is one
    measured_at: str = ""
    #: Columns shared by the run (``measure.environment``), with the device's name.
    environment: Mapping[str, Any] = field(default_factory=dict)

    def to_row(self) -> dict[str, Any]:
        """The record in the schema's columns (``schema.COLUMNS``); absent values are left out."""
        outcome = self.outcome
        row: dict[str, Any] = {
            "role": self.role, "mode": self.mode, **self.point.key(),
            "status": outcome.status, "reason": outcome.reason, "rel_error": outcome.rel_error,
            "measured_peak_bytes": outcome.measured_peak_bytes,
            "compile_s": outcome.compile_s, "mode_threads": outcome.mode_threads,
            "matmul_precision": MATMUL_PRECISION.get(self.point.dtype),
            **dataclasses.asdict(self.theory),
            "min_run_time_s": self.min_run_time_s, "rounds": self.rounds,
            "measured_at": self.measured_at,
            **self.readings, **self.environment, "schema_version": SCHEMA_VERSION,
        }
        if self.probes is not None:
            row.update(probe_before_gflops=self.probes.before_gflops,
                       probe_after_gflops=self.probes.after_gflops, retries=self.probes.retries)
        t = self.timing
        if t is not None:
            row.update(
                time_median_s=t.median_s, time_iqr_s=t.iqr_s, repeats=t.repeats,
                number_per_run=t.number_per_run, raw_times_s=list(t.raw_times_s),
                round_medians_s=list(t.round_medians_s), rounds=len(t.round_medians_s),
                noisy=t.noisy,
            )
            if self.theory.floor_s is not None:
                row["efficiency"] = self.theory.floor_s / t.median_s
        return row
