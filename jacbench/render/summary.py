"""The terminal summary at the end of a sweep: rows = modes, columns = points, like
torch.utils.benchmark's Compare, in blocks that fit a terminal; then the stability figure."""

from __future__ import annotations

import pandas as pd

from jacbench.analysis.table import fmt_time, stability, stability_sentence

COLUMNS_PER_BLOCK = 6


def _cell(row: pd.Series) -> str:
    if row["status"] in ("ok", "noisy"):
        mark = "*" if row["status"] == "noisy" or row["noisy"] else ""
        return fmt_time(row["time_median_s"]) + mark
    return row["status"]


def _point_label(r: pd.Series, extra: tuple[str, ...]) -> str:
    base = f"L{r.L} D{r.D} K{r.K} P{r.P} N{r.batch}"
    return " ".join([base, *(f"{c}={r[c]}" for c in extra)])


def format_summary(frame: pd.DataFrame, run_id: str | None = None) -> str:
    """Median time per mode and point for the sweep rows of a results table."""
    sweep = frame[frame["role"] == "sweep"]
    if sweep.empty:
        return "no sweep rows"
    lines: list[str] = []
    for (device, dtype), group in sweep.groupby(["device", "dtype"], sort=False):
        # Columns beyond the shape that vary in this table go into the label, so no two points
        # share a cell.
        extra = tuple(c for c in ("activation", "bias", "seed") if group[c].nunique() > 1)
        group = group.assign(point=group.apply(_point_label, axis=1, extra=extra))
        points = list(dict.fromkeys(group["point"]))
        modes = list(dict.fromkeys(group["mode"]))
        cells = {(r["mode"], r["point"]): _cell(r) for _, r in group.iterrows()}
        name = str(group["device_name"].iloc[0]) if "device_name" in group else device
        lines.append(f"[ {device} {dtype}: {name} ]  median time per Jacobian "
                     "(* = noisy: IQR > 10% of median or unhealthy machine)")
        width = max(len(m) for m in modes) + 2
        for i in range(0, len(points), COLUMNS_PER_BLOCK):
            block = points[i:i + COLUMNS_PER_BLOCK]
            colw = [max(len(p), 10) + 2 for p in block]
            lines.append(" " * width + "".join(p.rjust(w) for p, w in zip(block, colw,
                                                                              strict=True)))
            for m in modes:
                lines.append(m.ljust(width) + "".join(cells.get((m, p), "").rjust(w)
                                                      for p, w in zip(block, colw, strict=True)))
            lines.append("")
    counts = sweep["status"].value_counts()
    lines.append("status: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    run = sweep if run_id is None else sweep[sweep["run_id"] == run_id]
    points = run.drop_duplicates(["L", "D", "K", "P", "batch", "dtype", "device", "activation"])
    retried = points[points["retries"].fillna(0) > 0]
    if len(retried):
        lines.append(f"health: {len(retried)} of {len(points)} points re-run after a slow speed "
                     f"probe ({int(retried['retries'].sum())} re-runs); "
                     f"{int((run['status'] == 'noisy').sum())} rows recorded noisy")
    for run in stability(frame):
        if run.run_id == run_id:
            lines.append(f"stability: {stability_sentence(run)}")
    return "\n".join(lines)
