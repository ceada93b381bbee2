"""The advisor's ranking (``jacbench.run.advise``) written out: lines for people, JSON for scripts.

Each mode's predicted time reads as every time does (``render.format.fmt_time``) and its dominant
term as a sentence (``render.words``).
"""

from __future__ import annotations

import json

from jacbench.render.format import fmt_time
from jacbench.render.words import words
from jacbench.results.point import Point
from jacbench.theory.time_model import Prediction

__all__ = ["ranking_json", "ranking_lines"]


def ranking_lines(point: Point, ranking: list[Prediction], source: str,
                  measured: dict[str, float | str] | None = None) -> list[str]:
    """The ranking for people: one line per mode, the pick first, measurements beside (or why
    a mode was not measured)."""
    head = f"{point.label()} on {point.device} {point.dtype}, predicted with {source}:"
    width = max(len(p.mode) for p in ranking)
    lines = [head]
    for i, p in enumerate(ranking):
        seen = ""
        value = (measured or {}).get(p.mode)
        if value is not None:
            seen = f"  ({value})" if isinstance(value, str) else f"  (measured {fmt_time(value)})"
        lines.append(f"{i + 1:>3}. {p.mode:<{width}}  {fmt_time(p.seconds):>9}  {words(p)}{seen}")
    if measured:
        lines.append(f"check: {_verdict(ranking[0].mode, _times(measured))}")
    return lines


def _times(measured: dict[str, float | str]) -> dict[str, float]:
    """The modes that were timed, and their seconds (the others say why they were not)."""
    return {m: t for m, t in measured.items() if not isinstance(t, str)}


def _verdict(pick: str, times: dict[str, float]) -> str:
    if pick not in times:
        return "the pick was not measured"
    best = min(times, key=times.__getitem__)
    if best == pick:
        return "the pick is the fastest measured"
    return f"measured fastest: {best}, {times[pick] / times[best]:.2f}x faster than the pick {pick}"


def ranking_json(ranking: list[Prediction],
                 measured: dict[str, float | str] | None = None) -> str:
    """The ranking for scripts: a JSON list, best first (``not_measured``: why a mode asked
    to be timed was not)."""
    times, asked = _times(measured or {}), measured or {}
    return json.dumps([{"mode": p.mode, "predicted_s": p.seconds, "dominant": p.dominant,
                        "dominant_words": words(p), "terms_s": p.terms,
                        "measured_s": times.get(p.mode),
                        **({"not_measured": asked[p.mode]} if p.mode in asked
                           and p.mode not in times else {})} for p in ranking], indent=1)
