"""Two results folders side by side: does a second run reproduce the first one's medians?

Sweep rows ok in both folders are matched by their key (``results.schema.KEY_COLUMNS``); each
pair is judged as the drift check judges a reference point (``analysis.stability``): the same
relative change and the same REPRODUCE_WITHIN limit, over medians of at least ``min_time_s``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from jacbench.analysis.stability import (
    STEADY_ABOVE_S,
    beyond_limit,
    relative_change,
    reproduced_within,
)
from jacbench.results.folder import read_results
from jacbench.results.schema import (
    KEY_COLUMNS,
    MACHINE_COLUMNS,
    REPRODUCE_WITHIN,
    Role,
    Status,
)


@dataclass(frozen=True)
class Comparison:
    """The matched pairs of two runs, most changed first, and the time below which none counts."""

    pairs: pd.DataFrame  # one row per (point, mode) ok in both runs: time_a, time_b, change
    min_time_s: float

    @property
    def considered(self) -> pd.DataFrame:
        """Pairs whose first-run median is at least min_time_s."""
        return self.pairs[self.pairs["time_a"] >= self.min_time_s]

    @property
    def within(self) -> float | None:
        """The largest |change| among the considered pairs; None when there are none."""
        c = self.considered
        return None if c.empty else float(c["change"].abs().max())

    def sentence(self) -> str:
        """'medians reproduced within 4.2% over 12 (point, mode) pairs above 1 ms; ...'."""
        c = self.considered
        above = f"above {self.min_time_s * 1e3:g} ms"
        if c.empty:
            return f"no (point, mode) measured ok in both runs {above}"
        beyond = int(beyond_limit(c["change"]).sum())
        return (f"{reproduced_within(self.within)} over {len(c)} (point, mode) pairs {above}; "
                f"{beyond} beyond {100 * REPRODUCE_WITHIN:.0f}% "
                f"(median change {100 * c['change'].median():+.1f}%)")


def compare_runs(a: str | Path, b: str | Path,
                 min_time_s: float = STEADY_ABOVE_S) -> Comparison:
    """Match the ok sweep rows of two folders; change = time_b / time_a - 1.

    Two folders of one machine each are matched by key (that may be two machines: comparing
    them is the point); a folder holding several machines is matched machine by machine, so no
    row is ever set against another machine's row of the same folder.
    """
    rows = {}
    for name, folder in (("a", a), ("b", b)):
        table = read_results(folder)
        rows[name] = table[(table["role"] == Role.SWEEP) & (table["status"] == Status.OK)]
    several = any(len(r.drop_duplicates(list(MACHINE_COLUMNS))) > 1 for r in rows.values())
    keys = [*KEY_COLUMNS, *(MACHINE_COLUMNS if several else ())]
    frames = [r[[*keys, "time_median_s"]].rename(columns={"time_median_s": f"time_{name}"})
              for name, r in rows.items()]
    pairs = frames[0].merge(frames[1], on=keys, how="inner")
    pairs["change"] = relative_change(pairs["time_a"], pairs["time_b"])
    return Comparison(pairs.sort_values("change", key=abs, ascending=False), min_time_s)
