"""How a sweep measures: the one home of every run default.

The presets, config files and command-line flags override these; the CLI's help, the spec's
validation and the README read them from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jacbench.catalog import DTYPES, default_modes

__all__ = ["DEVICES", "DTYPES", "STABILITY_MODES", "Settings"]

DEVICES: tuple[str, ...] = ("cpu", "cuda", "all")
#: Modes re-measured at the stability reference points: cheap, and enough to see drift.
STABILITY_MODES: tuple[str, ...] = ("forward", "reverse", "jacrev")


@dataclass(frozen=True)
class Settings:
    """How to measure, shared by every point of a sweep."""

    #: Every mode but the torch-compiled ones, which presets ask for on a few points (compiling
    #: costs seconds per point).
    modes: tuple[str, ...] = field(default_factory=default_modes)
    #: Seconds of timing per mode per round.
    min_run_time: float = 0.05
    #: Interleaved timing rounds per point (the median is over rounds).
    rounds: int = 3
    #: A mode whose single call takes longer than this (seconds) is recorded as skipped.
    max_call_time: float = 2.0
    #: Reference points measured at the start and at the end of a run, for the drift check.
    stability_points: int = 2
    #: Re-run a point whose speed probe fell below this fraction of the run's best probe. On
    #: our 2-core VMs a probe 20% down went with Jacobian timings 40% slower, hence 0.8.
    probe_threshold: float = 0.8
    #: Re-runs of a point measured on a slow machine before it is stored as unhealthy.
    max_retries: int = 3
    #: Seconds to wait before each re-run, for the machine to recover.
    retry_wait: float = 3.0
    #: Wall-clock seconds one stretch of a mode (its check, or one timed measurement) may run in
    #: a worker process before the mode is killed and stored as timed out.
    mode_timeout: float = 300.0
    #: Seconds to wait for a point another process is measuring (its lock held) before skipping
    #: it with a line saying so: a holder that is stopped or hung must not hang this run.
    lock_wait: float = 600.0
