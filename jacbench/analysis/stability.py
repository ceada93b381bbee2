"""Drift: does a median measured again reproduce the first one?

A sweep measures a few reference points at its start and again at its end (roles
``Role.STABILITY``); ``compare`` sets two whole runs side by side. Both judge a repeated median
the same way, here: its relative change ``after / before - 1``, beyond ``REPRODUCE_WITHIN``
(``results.schema``) the two disagree, and the figure that counts is over medians of at least
``STEADY_ABOVE_S``, where timer resolution and dispatch jitter no longer dominate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import pandas as pd

from jacbench.analysis.table import Fixed, group_by
from jacbench.results.point import POINT_FIELDS
from jacbench.results.schema import REPRODUCE_WITHIN, Role, Status

#: Medians at least this long (seconds) should reproduce within REPRODUCE_WITHIN on a quiet machine.
STEADY_ABOVE_S = 1e-3

Number = TypeVar("Number", float, pd.Series)


def relative_change(before: Number, after: Number) -> Number:
    """after / before - 1: how far a repeated median moved (floats or columns)."""
    return after / before - 1


def beyond_limit(change: Number) -> Number:
    """Whether a relative change is more than REPRODUCE_WITHIN either way."""
    return abs(change) > REPRODUCE_WITHIN


def reproduced_within(change: float) -> str:
    """'medians reproduced within 4.2%': the opening of every drift sentence."""
    return f"medians reproduced within {100 * change:.1f}%"


@dataclass(frozen=True)
class Drift:
    """A reference measurement repeated at the start and end of a run."""

    mode: str
    point: Fixed
    start_s: float
    end_s: float

    @property
    def change(self) -> float:
        return relative_change(self.start_s, self.end_s)


@dataclass(frozen=True)
class Stability:
    """Per run: the drift of the reference points; ``within`` is max |end/start - 1|."""

    run_id: str
    pairs: tuple[Drift, ...]
    unmatched: int  # reference rows without an ok partner

    @property
    def within(self) -> float | None:
        return max((abs(d.change) for d in self.pairs), default=None)

    def within_above(self, seconds: float) -> float | None:
        return max((abs(d.change) for d in self.pairs if d.start_s >= seconds), default=None)

    @property
    def beyond(self) -> list[Drift]:
        return [d for d in self.pairs if beyond_limit(d.change)]


def stability(frame: pd.DataFrame) -> list[Stability]:
    """Drift of each run's stability reference points (roles Role.STABILITY)."""
    refs = frame[frame["role"].isin(Role.STABILITY)]
    out = []
    for run_id, rows in refs.groupby(refs["run_id"].fillna(""), sort=True):
        pairs, unmatched = [], 0
        for fixed, cell in group_by(rows, ("mode", *POINT_FIELDS)):
            ok = cell[cell["status"] == Status.OK]
            start = ok[ok["role"] == Role.STABILITY_START]
            end = ok[ok["role"] == Role.STABILITY_END]
            if start.empty or end.empty:
                unmatched += len(cell)
                continue
            key = dict(fixed)
            mode = str(key.pop("mode"))
            pairs.append(Drift(mode, tuple(key.items()), float(start["time_median_s"].iloc[0]),
                               float(end["time_median_s"].iloc[0])))
        out.append(Stability(str(run_id), tuple(pairs), unmatched))
    return out


def stability_sentence(s: Stability) -> str:
    """'medians reproduced within 4.2% (over 6 (mode, point) pairs; 3.0% at points above 1 ms)'."""
    if not s.pairs:
        return f"no reference point was measured ok at both start and end ({s.unmatched} rows)"
    text = f"{reproduced_within(s.within)} (over {len(s.pairs)} (mode, point) pairs"
    above = s.within_above(STEADY_ABOVE_S)
    if above is not None and above != s.within:
        text += f"; {100 * above:.1f}% at points above {STEADY_ABOVE_S * 1e3:g} ms"
    if s.unmatched:
        text += f"; {s.unmatched} rows without an ok partner"
    return text + ")"
