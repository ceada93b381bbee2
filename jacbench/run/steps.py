"""The steps of a sweep: each point with the modes it still needs, between the drift checks.

A resumed sweep's steps leave out what the folder already holds; a grid of 10^6 points makes a
million steps, built with the garbage collector paused (``jacbench.run.bulk``).
"""

from __future__ import annotations

from itertools import repeat

from jacbench.results.point import Point
from jacbench.results.schema import Role
from jacbench.run.bulk import collector_paused
from jacbench.run.resume import key
from jacbench.run.settings import STABILITY_MODES
from jacbench.run.spec import SweepSpec

#: One step of a sweep: a point, the modes to measure there, and why.
Step = tuple[Point, tuple[str, ...], str]


def modes_left(spec: SweepSpec, done: set[tuple]) -> list[tuple[Point, tuple[str, ...]]]:
    """Each point with the modes not yet done there; a point's key is built once, not per
    mode, and not at all in an empty folder (a grid of 10^6 points stays quick)."""
    if not done:
        if not spec.extra_modes and not spec.per_device:  # the same modes everywhere
            return list(zip(spec.points, repeat(spec.settings.modes)))
        return [(p, spec.modes_at(p)) for p in spec.points]
    found = []
    for p in spec.points:
        fields = key(p, "")[2:]  # KEY_COLUMNS: role, mode, then the point's fields
        left = tuple(m for m in spec.modes_at(p) if (Role.SWEEP, m, *fields) not in done)
        if left:
            found.append((p, left))
    return found


def sweep_steps(spec: SweepSpec, done: set[tuple]) -> list[Step]:
    """The sweep's steps bracketed by the stability reference points.

    Empty when every sweep point is done: the reference points alone are not worth a run.
    """
    with collector_paused():  # a step or two per point (jacbench.run.bulk)
        left = modes_left(spec, done)
        if not left:
            return []
        modes = (tuple(m for m in STABILITY_MODES if m in spec.settings.modes)
                 or spec.settings.modes)
        steps: list[Step] = [(p, modes, Role.STABILITY_START) for p in spec.stability]
        steps += [(*pair, Role.SWEEP) for pair in left]
        steps += [(p, modes, Role.STABILITY_END) for p in spec.stability]
    return steps


def sweep_points(steps: list[Step]) -> int:
    """The steps that are sweep points (the rest are stability references, at both ends)."""
    return sum(1 for step in steps if step[2] == Role.SWEEP)
