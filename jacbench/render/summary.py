"""The terminal summary at the end of a sweep: rows = modes, columns = points, like
torch.utils.benchmark's Compare, in blocks that fit a terminal; then health and stability.

A timed cell is marked '*' when its repeats disagree (the ``noisy`` column: IQR / median above
NOISE_THRESHOLD) or its status is unhealthy (the machine never recovered its speed).
"""

from __future__ import annotations

import pandas as pd

from jacbench.analysis.stability import stability, stability_sentence
from jacbench.render.format import fmt_time
from jacbench.results.point import POINT_FIELDS, point_label
from jacbench.results.schema import NOISE_THRESHOLD, Role, Status

COLUMNS_PER_BLOCK = 6
#: Context columns named in a point's label when they vary within a device and dtype.
VARYING = ("activation", "bias", "seed")


def _cell(row: pd.Series) -> str:
    if row["status"] in Status.TIMED:
        mark = "*" if row["status"] == Status.UNHEALTHY or row["noisy"] else ""
        return fmt_time(row["time_median_s"]) + mark
    return row["status"]


def format_summary(frame: pd.DataFrame, run_id: str | None = None) -> str:
    """Median time per mode and point for the sweep rows of a results table."""
    sweep = frame[frame["role"] == Role.SWEEP]
    if sweep.empty:
        return "no sweep rows"
    lines: list[str] = []
    for (device, dtype), group in sweep.groupby(["device", "dtype"], sort=False):
        name = str(group["device_name"].iloc[0]) if "device_name" in group else device
        lines.append(f"[ {device} {dtype}: {name} ]  median time per Jacobian "
                     f"(* = noisy: IQR > {NOISE_THRESHOLD:.0%} of median, or unhealthy machine)")
        lines += _blocks(group)
    counts = sweep["status"].value_counts()
    lines.append("status: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    lines += _health(sweep if run_id is None else sweep[sweep["run_id"] == run_id])
    lines += [f"stability: {stability_sentence(run)}"
              for run in stability(frame) if run.run_id == run_id]
    return "\n".join(lines)


def _blocks(group: pd.DataFrame) -> list[str]:
    """The table of one device and dtype, COLUMNS_PER_BLOCK points at a time."""
    # Columns beyond the shape that vary in this table go into the label, so no two points
    # share a cell.
    extra = tuple(c for c in VARYING if group[c].nunique() > 1)
    labels = [point_label(r, extra=extra) for r in group.to_dict("records")]
    group = group.assign(point=labels)
    points = list(dict.fromkeys(group["point"]))
    modes = list(dict.fromkeys(group["mode"]))
    cells = {(r["mode"], r["point"]): _cell(r) for _, r in group.iterrows()}
    width = max(len(m) for m in modes) + 2
    lines = []
    for i in range(0, len(points), COLUMNS_PER_BLOCK):
        block = points[i:i + COLUMNS_PER_BLOCK]
        colw = [max(len(p), 10) + 2 for p in block]
        lines.append(" " * width + "".join(p.rjust(w) for p, w in zip(block, colw, strict=True)))
        for m in modes:
            lines.append(m.ljust(width) + "".join(cells.get((m, p), "").rjust(w)
                                                  for p, w in zip(block, colw, strict=True)))
        lines.append("")
    return lines


def _health(run: pd.DataFrame) -> list[str]:
    """A line on the re-runs after a slow speed probe, when there were any."""
    points = run.drop_duplicates(list(POINT_FIELDS))
    retried = points[points["retries"].fillna(0) > 0]
    if not len(retried):
        return []
    return [f"health: {len(retried)} of {len(points)} points re-run after a slow speed "
            f"probe ({int(retried['retries'].sum())} re-runs); "
            f"{int((run['status'] == Status.UNHEALTHY).sum())} rows recorded unhealthy"]
