"""Progress of a long sweep: a tqdm bar on a terminal, plain lines elsewhere (logs, CI, SLURM).

Both weigh points by their estimated cost, so the time left is not fooled by small points
running first; the plain lines come at most every ``every_s`` seconds, as pip and pytest print.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from tqdm import tqdm

from jacbench.render.format import fmt_duration

__all__ = ["Progress"]


class Progress:
    """Points done out of the total, elapsed time and the time left, weighted by estimates."""

    def __init__(self, estimates: list[float], stream: TextIO, style: str = "lines",
                 every_s: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        """``style``: "bar" (tqdm, for a terminal), "lines" (plain lines) or "off"."""
        self.estimates, self.stream, self.every_s, self.clock = estimates, stream, every_s, clock
        self.style = style
        self.start = self.last_line = clock()
        self.done = 0
        self.done_estimate = 0.0
        self.bar = tqdm(total=len(estimates), unit="point", file=stream,
                        dynamic_ncols=True) if style == "bar" else None

    def describe(self, text: str) -> None:
        if self.bar is not None:
            self.bar.set_description(text)

    def note(self, text: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)

    def left_s(self) -> float | None:
        """Seconds left: the estimate of what remains, scaled by how the estimate has fared."""
        remaining = sum(self.estimates[self.done:])
        if self.done_estimate <= 0:
            return remaining
        return remaining * (self.clock() - self.start) / self.done_estimate

    def step(self) -> None:
        self.done_estimate += self.estimates[self.done] if self.done < len(self.estimates) else 0
        self.done += 1
        if self.bar is not None:
            self.bar.update()
            return
        if self.style == "off":
            return
        now = self.clock()
        if now - self.last_line >= self.every_s or self.done == len(self.estimates):
            self.last_line = now
            left = self.left_s()
            print(f"jacbench: {self.done}/{len(self.estimates)} points, "
                  f"{fmt_duration(now - self.start)} elapsed"
                  + ("" if left is None or self.done == len(self.estimates)
                     else f", about {fmt_duration(left)} left"),
                  file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
