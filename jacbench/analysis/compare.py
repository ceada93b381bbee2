"""Two results folders side by side: does a second run reproduce the first one's medians?"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from jacbench.results.storage import KEY_COLUMNS, read_results

#: Agreement a quiet machine should reach between two runs (issue: within 10% above 1 ms).
REPRODUCE_WITHIN = 0.10


@dataclass(frozen=True)
class Comparison:
    pairs: pd.DataFrame  # one row per (point, mode) ok in both runs: time_a, time_b, change
    min_time_s: float

    @property
    def considered(self) -> pd.DataFrame:
        """Pairs whose first-run median is at least min_time_s."""
        return self.pairs[self.pairs["time_a"] >= self.min_time_s]

    @property
    def within(self) -> float | None:
        c = self.considered
        return None if c.empty else float(c["change"].abs().max())

    def sentence(self) -> str:
        c = self.considered
        if c.empty:
            return f"no (point, mode) measured ok in both runs above {self.min_time_s * 1e3:g} ms"
        beyond = int((c["change"].abs() > REPRODUCE_WITHIN).sum())
        return (f"medians reproduced within {100 * self.within:.1f}% over {len(c)} (point, mode) "
                f"pairs above {self.min_time_s * 1e3:g} ms; {beyond} beyond "
                f"{100 * REPRODUCE_WITHIN:.0f}% (median change {100 * c['change'].median():+.1f}%)")


def compare_runs(a: str | Path, b: str | Path, min_time_s: float = 1e-3) -> Comparison:
    """Match the sweep rows of two folders by (point, mode); change = time_b / time_a - 1."""
    keys = list(KEY_COLUMNS)
    frames = []
    for name, folder in (("a", a), ("b", b)):
        rows = read_results(folder)
        rows = rows[(rows["role"] == "sweep") & (rows["status"] == "ok")]
        times = rows[[*keys, "time_median_s"]]
        frames.append(times.rename(columns={"time_median_s": f"time_{name}"}))
    pairs = frames[0].merge(frames[1], on=keys, how="inner")
    pairs["change"] = pairs["time_b"] / pairs["time_a"] - 1
    return Comparison(pairs.sort_values("change", key=abs, ascending=False), min_time_s)
