"""The report's sections about the run itself: overview, environment, stability, machine health.

Each section is a function of the loaded table returning its markdown lines (a blank line before
each block); the numbers come from ``jacbench.analysis``, the words for them from
``render.format``.
"""

from __future__ import annotations

import pandas as pd

import jacbench
from jacbench.analysis.stability import stability, stability_sentence
from jacbench.render.format import fmt_gflops, fmt_point, fmt_time
from jacbench.render.markdown import table
from jacbench.results.point import POINT_FIELDS, point_label
from jacbench.results.schema import NOISE_THRESHOLD, REPRODUCE_WITHIN, Role, Status

#: The noisiest ok rows listed at most in the health section.
NOISY_ROWS_SHOWN = 15


def overview(frame: pd.DataFrame) -> str:
    """One paragraph: where the numbers come from, how many rows of each role and status."""
    sweep = int((frame["role"] == Role.SWEEP).sum())
    statuses = ", ".join(f"{n} {s}" for s, n in frame["status"].value_counts().items())
    return (f"Written by jacbench {jacbench.__version__} from its results folder alone: "
            f"{len(frame)} rows ({sweep} sweep, {len(frame) - sweep} stability reference); "
            f"status: {statuses}. Times are medians per Jacobian call over interleaved rounds.")


def _distinct(frame: pd.DataFrame, column: str) -> str:
    return ", ".join(sorted({str(v) for v in frame[column].dropna().unique()} - {""}))


def environment(frame: pd.DataFrame) -> list[str]:
    """A row per run and shard (machine, versions, commit, points measured), then the measured
    ceilings: a sharded run's shards may come from several hosts."""
    lines = ["", "## Environment"]
    runs = []
    def label(column: str) -> pd.Series:
        return frame[column].map(lambda v: "-" if pd.isna(v) else str(int(v)))

    shard, total = label("shard"), label("shards")
    for (run_id, index, count), rows in frame.groupby(
            [frame["run_id"].fillna(""), shard, total], sort=False):
        devices = "; ".join(f"{d}: {_distinct(g, 'device_name') or '?'}"
                            for d, g in rows.groupby("device"))
        sweep = rows[rows["role"] == Role.SWEEP]
        points = len(sweep.drop_duplicates(list(POINT_FIELDS)))
        runs.append([f"`{run_id}`" if run_id else "-",
                     "-" if count in ("-", "1") else f"{index}/{count}", points,
                     _distinct(rows, "started_at"),
                     _distinct(rows, "host"), _distinct(rows, "cpu_model"), devices,
                     _distinct(rows, "torch_version"), _distinct(rows, "cuda_version") or "-",
                     _distinct(rows, "num_threads"), _distinct(rows, "git_commit") or "-",
                     _distinct(rows, "platform")])
    lines += table(["run", "shard", "points", "started (UTC)", "host", "CPU", "devices", "torch",
                    "CUDA", "threads", "git commit", "platform"], runs)
    ceilings = frame.groupby(["device", "dtype"], sort=True)[["peak_flops", "peak_bandwidth"]]
    rows = [[device, dtype, fmt_gflops(v["peak_flops"]), fmt_gflops(v["peak_bandwidth"])]
            for (device, dtype), v in ceilings.median().iterrows()]
    lines += ["", "Measured ceilings (median over the rows; each sweep measures them once per "
              "device and dtype). The floor of a point is max(FLOPs / matmul ceiling, "
              "bytes / bandwidth)."]
    lines += table(["device", "dtype", "matmul ceiling (GFLOP/s)", "bandwidth (GB/s)"], rows)
    return lines


def drift(frame: pd.DataFrame) -> list[str]:
    """The stability figure of each run, and the reference points beyond REPRODUCE_WITHIN."""
    lines = ["", "## Stability"]
    runs = stability(frame)
    if not runs:
        roles = " / ".join(f"'{r}'" for r in Role.STABILITY)
        return [*lines, "", f"No stability reference points in this table (rows with role "
                f"{roles}): the drift over the run was not measured."]
    lines.append("")
    paired = [s for s in runs if s.pairs]
    lines += [f"- run `{s.run_id or '-'}`: **{stability_sentence(s)}**." for s in paired]
    cut_short = [s for s in runs if not s.pairs]
    if cut_short:  # interrupted runs (or reference points that failed): one line for them all
        rows = sum(s.unmatched for s in cut_short)
        lines.append(f"- {len(cut_short)} run(s) without a start and end reference pair "
                     f"(interrupted, or the reference points did not measure ok; {rows} rows): "
                     + ", ".join(f"`{s.run_id or '-'}`" for s in cut_short[:5])
                     + (" ..." if len(cut_short) > 5 else "") + ".")
    beyond = [(s.run_id, d) for s in runs for d in s.beyond]
    limit = f"{REPRODUCE_WITHIN:.0%}"
    if beyond:
        lines += ["", f"Reference points that moved by more than {limit} between the start and "
                  "the end of their run:"]
        lines += table(["run", "mode", "point", "start", "end", "change"],
                       [[f"`{r}`", d.mode, fmt_point(d.point), fmt_time(d.start_s),
                         fmt_time(d.end_s), f"{100 * d.change:+.1f}%"] for r, d in beyond])
    elif any(s.pairs for s in runs):
        lines += ["", f"No reference point moved by more than {limit}."]
    return lines


def health(frame: pd.DataFrame) -> list[str]:
    """Re-runs, unhealthy and noisy rows, load and speed probes; the noisiest ok rows."""
    sweep = frame[frame["role"] == Role.SWEEP]
    lines = ["", "## Machine health during the sweep", ""]
    retries = pd.to_numeric(sweep["retries"], errors="coerce").fillna(0)
    lines.append(f"- Re-runs after a slow speed probe: {int(retries.sum())} "
                 f"(rows re-run: {int((retries > 0).sum())}).")
    unhealthy = frame[frame["status"] == Status.UNHEALTHY]
    noisy = _noisy_ok(sweep)
    lines.append(f"- Status {Status.UNHEALTHY} (never measured on a healthy machine): "
                 f"{len(unhealthy)} rows ({int((unhealthy['role'] == Role.SWEEP).sum())} sweep, "
                 f"{int((unhealthy['role'] != Role.SWEEP).sum())} stability reference); "
                 f"ok sweep rows with IQR above {NOISE_THRESHOLD:.0%} of the median: {len(noisy)}.")
    for label, column, unit in (("Load average (1 min) at point start", "load_avg_1m", ""),
                                ("Speed probe before a point", "probe_before_gflops", " GFLOP/s"),
                                ("Speed probe after a point", "probe_after_gflops", " GFLOP/s")):
        values = pd.to_numeric(sweep[column], errors="coerce").dropna()
        if len(values):
            lines.append(f"- {label}: min {values.min():.3g}, median {values.median():.3g}, "
                         f"max {values.max():.3g}{unit}.")
    before = pd.to_numeric(sweep["probe_before_gflops"], errors="coerce")
    after = pd.to_numeric(sweep["probe_after_gflops"], errors="coerce")
    drop = (after / before).dropna()
    if len(drop):
        lines.append(f"- Worst probe after/before a point: {drop.min():.2f}.")
    return lines + _noisiest(noisy)


def _noisy_ok(sweep: pd.DataFrame) -> pd.DataFrame:
    """Ok sweep rows flagged noisy: IQR / median above NOISE_THRESHOLD."""
    return sweep[(sweep["status"] == Status.OK) & sweep["noisy"].fillna(False).astype(bool)]


def _noisiest(noisy: pd.DataFrame) -> list[str]:
    if noisy.empty:
        return []
    worst = noisy.assign(spread=noisy["time_iqr_s"] / noisy["time_median_s"])
    worst = worst.sort_values("spread", ascending=False).head(NOISY_ROWS_SHOWN)
    lines = ["", f"The noisiest ok rows (IQR / median > {NOISE_THRESHOLD:.0%}; "
             f"{len(worst)} of {len(noisy)}):"]
    return lines + table(["mode", "point", "median", "IQR", "IQR / median"],
                         [[r["mode"], point_label(r), fmt_time(r["time_median_s"]),
                           fmt_time(r["time_iqr_s"]), f"{r['spread']:.0%}"]
                          for r in worst.to_dict("records")])
