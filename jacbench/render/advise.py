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
                  measured: dict[str, float] | None = None) -> list[str]:
    """The ranking for people: one line per mode, the pick first, measurements beside."""
    head = f"{point.label()} on {point.device} {point.dtype}, predicted with {source}:"
    width = max(len(p.mode) for p in ranking)
    lines = [head]
    for i, p in enumerate(ranking):
        seen = ""
        if measured and p.mode in measured:
            seen = f"  (measured {fmt_time(measured[p.mode])})"
        lines.append(f"{i + 1:>3}. {p.mode:<{width}}  {fmt_time(p.seconds):>9}  {words(p)}{seen}")
    if measured:
        best = min(measured, key=measured.__getitem__)
        pick = ranking[0].mode
        verdict = ("the pick is the fastest measured" if best == pick else
                   f"measured fastest: {best}, {measured[pick] / measured[best]:.2f}x faster "
                   f"than the pick {pick}")
        lines.append(f"check: {verdict}")
    return lines


def ranking_json(ranking: list[Prediction], measured: dict[str, float] | None = None) -> str:
    """The ranking for scripts: a JSON list, best first."""
    return json.dumps([{"mode": p.mode, "predicted_s": p.seconds, "dominant": p.dominant,
                        "dominant_words": words(p), "terms_s": p.terms,
                        "measured_s": (measured or {}).get(p.mode)} for p in ranking], indent=1)
