"""The messages between a sweep and its worker process (``run.isolated`` and ``run.worker``).

The parent sends one ``Start`` (what the worker measures with, and the plugin files to load) and
then one ``Job`` per point; the worker answers ``Ready`` once, then, while it runs a point,
``Running`` each time a mode starts (its check, warm-up or a timed measurement) or stops (""),
``Note`` for the progress bar, and ``Done`` with the point's records. ``Running`` is what lets the
parent name the mode a dead worker was running, and time the mode against its cap; it is sent
between measurements, never inside one, so the timing is as in-process. All are pickled over a
``multiprocessing`` pipe.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jacbench.measure.probe import ProbeTracker
from jacbench.results.point import Point
from jacbench.results.record import Record
from jacbench.run.instruments import Instruments, Yardsticks
from jacbench.run.settings import Settings

__all__ = ["Done", "Failed", "Job", "Note", "Ready", "Running", "Start"]


@dataclass(frozen=True)
class Start:
    """Parent to worker, once: the run's settings, yardsticks and instruments, and the plugin
    files whose modes the worker must know."""

    settings: Settings
    environment: Mapping[str, Any]
    yardsticks: Yardsticks
    instruments: Instruments
    plugins: tuple[str, ...] = ()
    #: torch's intra-op threads in the sweep (``--threads``): the worker uses as many.
    threads: int = 0


@dataclass(frozen=True)
class Job:
    """Parent to worker: measure these modes at this point (``PointRunner.run``)."""

    point: Point
    modes: tuple[str, ...]
    role: str
    environment: Mapping[str, Any]


@dataclass(frozen=True)
class Ready:
    """Worker to parent: started, plugins loaded."""


@dataclass(frozen=True)
class Running:
    """Worker to parent: this mode starts running now ("" when none runs)."""

    mode: str


@dataclass(frozen=True)
class Note:
    """Worker to parent: a progress line."""

    text: str


@dataclass(frozen=True)
class Done:
    """Worker to parent: the point's records, and the best probes seen (the run's yardstick)."""

    records: list[Record]
    trackers: dict[tuple[str, str], ProbeTracker]
    #: False when a CUDA error left the device unusable in the worker: it leaves after this.
    usable: bool = True


@dataclass(frozen=True)
class Failed:
    """Worker to parent: the worker could not start or run (a plugin failed to load, an error
    of jacbench's own), in one line; the sweep stops with it."""

    message: str
