"""A markdown report of a results folder: environment, stability, medians, theory against timings.

``write_report(RESULTS_DIR)`` reads ``results.parquet`` only and writes ``RESULTS_DIR/_report.md``
(the ``_`` keeps ``pandas.read_parquet(RESULTS_DIR)`` reading the folder as one table), with the
plots of ``jacbench.render.plots`` embedded by relative links. Every number it states comes from
``jacbench.analysis.table``, the same ones the plots draw.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

import jacbench
from jacbench import analysis, storage
from jacbench.analysis.table import AXES, fmt_time
from jacbench.render.plots import CAPTIONS, PlotResult, make_plots

REPORT_FILE = "_report.md"
NOISY_ROWS_SHOWN = 15
#: Which section embeds which plot; plots not named here go to a closing "Plots" section.
SECTION_PLOTS: dict[str, tuple[str, ...]] = {
    "scaling": tuple(f"time_vs_{a}.png" for a in AXES),
    "crossover": ("ratio_forward_reverse.png",),
    "regions": ("best_mode_map.png",),
    "efficiency": ("efficiency.png", "cpu_vs_cuda.png"),
}


def write_report(results_dir: str | Path,
                 plots: Sequence[str | Path] | PlotResult | None = None) -> Path:
    """Write RESULTS_DIR/_report.md and return its path.

    ``plots`` None draws them first (into RESULTS_DIR/_plots) so the report never embeds stale
    images; a list embeds those files as they are. Raises ValueError (one line) for a missing
    folder, an empty table, or no ok sweep rows.
    """
    directory = Path(results_dir)
    frame = analysis.load_results(directory)
    analysis.ok_sweep(frame, f" in {directory}")  # fail before drawing anything
    if plots is None:
        plots = make_plots(directory)
    result = plots if isinstance(plots, PlotResult) else PlotResult([Path(p) for p in plots])
    path = directory / REPORT_FILE
    path.write_text(render_report(frame, directory, result), encoding="utf-8")
    return path


def render_report(frame: pd.DataFrame, results_dir: Path, plots: PlotResult) -> str:
    """The report's markdown text."""
    ok = analysis.ok_sweep(frame)
    links = {Path(p).name: Path(os.path.relpath(p, results_dir)).as_posix() for p in plots.paths}
    used: set[str] = set()

    def embed(section: str) -> list[str]:
        lines = []
        for name in SECTION_PLOTS[section]:
            if name in links:
                used.add(name)
                lines += ["", f"![{CAPTIONS.get(name, name)}]({links[name]})"]
        return lines

    parts = [
        f"# jacbench report: {results_dir.resolve().name}", "",
        _overview(frame),
        *_environment(frame),
        *_stability(frame),
        *_health(frame),
        *_medians(frame),
        *_slopes(ok), *embed("scaling"),
        *_crossover(ok), *embed("crossover"),
        *_regions(ok), *embed("regions"),
        *_efficiency(ok), *embed("efficiency"),
        *_memory(ok),
        *_not_ok(frame),
    ]
    rest = [name for name in links if name not in used]
    if rest:
        parts += ["", "## Plots"]
        parts += [line for name in rest
                  for line in ("", f"![{CAPTIONS.get(name, name)}]({links[name]})")]
    if plots.skipped:
        parts += ["", "Plots not drawn:", ""] + [f"- {line}" for line in plots.skipped]
    return "\n".join(parts).rstrip() + "\n"


# --------------------------------------------------------------------------- markdown helpers


def _cell(value: Any) -> str:
    text = "-" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


#: Cells of a right-aligned column: numbers with units (bold or not), ranges, statuses, blanks.
_NUMBER = re.compile(
    r"^[*_]*[-+]?[\d.]+(e[-+]?\d+)?( ?[a-zA-Z%]+)?[*_]*$"
    r"|^-?$|^_[a-z]+_$|^[\d.]+\.\.[\d.]+$"
)


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """A markdown table; columns whose cells all read as numbers (with units) align right."""
    cells = [[_cell(v) for v in row] for row in rows]
    numeric = [all(_NUMBER.match(row[i]) for row in cells) and any(row[i] for row in cells)
               for i in range(len(headers))]
    lines = ["", "| " + " | ".join(headers) + " |",
             "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in cells]


def _point(row: Any) -> str:
    """'L=4 D=64 K=128 P=64 N=1' for a row (dict or namedtuple)."""
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    return " ".join(f"{'N' if a == 'batch' else a}={analysis._int(get(a))}" for a in AXES)


def _distinct(frame: pd.DataFrame, column: str) -> list[str]:
    return sorted({str(v) for v in frame[column].dropna() if str(v) != ""})


def _percent(value: float) -> str:
    return f"{100 * value:.3g}%"


def _gflops(value: float) -> str:
    return "-" if pd.isna(value) else f"{value / 1e9:.1f}"


# --------------------------------------------------------------------------- sections


def _overview(frame: pd.DataFrame) -> str:
    roles = frame["role"].value_counts()
    statuses = ", ".join(f"{n} {s}" for s, n in frame["status"].value_counts().items())
    return (f"Written by jacbench {jacbench.__version__} from `{storage.RESULTS_FILE}` alone: "
            f"{len(frame)} rows ({roles.get('sweep', 0)} sweep, "
            f"{len(frame) - roles.get('sweep', 0)} stability reference); status: {statuses}. "
            "Times are medians per Jacobian call over interleaved rounds.")


def _environment(frame: pd.DataFrame) -> list[str]:
    lines = ["", "## Environment"]
    runs = []
    for run_id, rows in frame.groupby(frame["run_id"].fillna(""), sort=False):
        devices = "; ".join(
            f"{d}: {', '.join(_distinct(g, 'device_name')) or '?'}"
            for d, g in rows.groupby("device"))
        runs.append([f"`{run_id}`" if run_id else "-",
                     ", ".join(_distinct(rows, "started_at")),
                     ", ".join(_distinct(rows, "host")), ", ".join(_distinct(rows, "cpu_model")),
                     devices, ", ".join(_distinct(rows, "torch_version")),
                     ", ".join(_distinct(rows, "cuda_version")) or "-",
                     ", ".join(_distinct(rows, "num_threads")),
                     ", ".join(_distinct(rows, "git_commit")) or "-",
                     ", ".join(_distinct(rows, "platform"))])
    lines += _table(["run", "started (UTC)", "host", "CPU", "devices", "torch", "CUDA",
                     "threads", "git commit", "platform"], runs)
    ceilings = frame.groupby(["device", "dtype"], sort=True)[["peak_flops", "peak_bandwidth"]]
    rows = [[device, dtype, _gflops(v["peak_flops"]), _gflops(v["peak_bandwidth"])]
            for (device, dtype), v in ceilings.median().iterrows()]
    lines += ["", "Measured ceilings (median over the rows; each sweep measures them once per "
              "device and dtype). The floor of a point is max(FLOPs / matmul ceiling, "
              "bytes / bandwidth)."]
    lines += _table(["device", "dtype", "matmul ceiling (GFLOP/s)", "bandwidth (GB/s)"], rows)
    return lines


def _stability(frame: pd.DataFrame) -> list[str]:
    lines = ["", "## Stability"]
    runs = analysis.stability(frame)
    if not runs:
        return [*lines, "", "No stability reference points in this table (rows with role "
                "'stability-start' / 'stability-end'): the drift over the run was not measured."]
    lines.append("")
    lines += [f"- run `{s.run_id or '-'}`: **{analysis.stability_sentence(s)}**." for s in runs]
    beyond = [(s.run_id, d) for s in runs for d in s.beyond]
    limit = f"{100 * analysis.DRIFT_LIMIT:.0f}%"
    if beyond:
        lines += ["", f"Reference points that moved by more than {limit} between the start and "
                  "the end of their run:"]
        lines += _table(["run", "mode", "point", "start", "end", "change"],
                        [[f"`{r}`", d.mode, analysis.describe(d.point), fmt_time(d.start_s),
                          fmt_time(d.end_s), f"{100 * d.change:+.1f}%"] for r, d in beyond])
    elif any(s.pairs for s in runs):
        lines += ["", f"No reference point moved by more than {limit}."]
    return lines


def _health(frame: pd.DataFrame) -> list[str]:
    sweep = frame[frame["role"] == "sweep"]
    lines = ["", "## Machine health during the sweep", ""]
    retries = pd.to_numeric(sweep["retries"], errors="coerce").fillna(0)
    lines.append(f"- Re-runs after a slow speed probe: {int(retries.sum())} "
                 f"(rows re-run: {int((retries > 0).sum())}).")
    noisy = frame[frame["status"] == "noisy"]
    flagged = sweep[(sweep["status"] == "ok") & (sweep["noisy"].fillna(False).astype(bool))]
    lines.append(f"- Status noisy (never measured on a healthy machine): {len(noisy)} rows "
                 f"({int((noisy['role'] == 'sweep').sum())} sweep, "
                 f"{int((noisy['role'] != 'sweep').sum())} stability reference); "
                 f"ok sweep rows with IQR above 10% of the median: {len(flagged)}.")
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
    if len(flagged):
        worst = flagged.assign(spread=flagged["time_iqr_s"] / flagged["time_median_s"])
        worst = worst.sort_values("spread", ascending=False).head(NOISY_ROWS_SHOWN)
        lines += ["", f"The noisiest ok rows (IQR / median > 10%; {len(worst)} of {len(flagged)}):"]
        lines += _table(["mode", "point", "median", "IQR", "IQR / median"],
                        [[r.mode, _point(r), fmt_time(r.time_median_s), fmt_time(r.time_iqr_s),
                          f"{r.spread:.0%}"] for r in worst.itertuples()])
    return lines


def _medians(frame: pd.DataFrame) -> list[str]:
    sweep = frame[frame["role"] == "sweep"]
    lines = ["", "## Median time per call",
             "", "Rows are points, columns modes; the fastest ok mode of each point is in bold, "
             "a mode that did not measure ok shows its status (see the last section)."]
    groups = list(sweep.groupby(["device", "dtype"], sort=True, dropna=False))
    for (device, dtype), rows in groups:
        if len(groups) > 1:
            lines += ["", f"### {device} {dtype}"]
        lines += _median_table(rows)
    return lines


def _median_table(sweep: pd.DataFrame) -> list[str]:
    modes = analysis.mode_order(sweep["mode"].dropna().unique())
    varying = [c for c in ("activation", "bias") if sweep[c].nunique() > 1]
    rows = []
    for fixed, cell in analysis._group(sweep, analysis.POINT):
        point = dict(fixed)
        ok = cell[cell["status"] == "ok"]
        best = ok["time_median_s"].min() if len(ok) >= 2 else None
        values = []
        for mode in modes:
            m = cell[cell["mode"] == mode]
            if m.empty:
                values.append("")
            elif m["status"].iloc[0] != "ok":
                values.append(f"_{m['status'].iloc[0]}_")
            else:
                t = float(m["time_median_s"].iloc[0])
                values.append(f"**{fmt_time(t)}**" if t == best else fmt_time(t))
        rows.append([*(analysis._int(point[a]) for a in AXES), *(point[c] for c in varying),
                     *values])
    return _table(["L", "D", "K", "P", "N", *varying, *modes], rows)


def _slopes(ok: pd.DataFrame) -> list[str]:
    lines = ["", "## Scaling: fitted slopes against the cost model", "",
             "For each group of points where one axis varies and the others are fixed: the "
             "measured slope d log t / d log X (least squares) beside the model's "
             "d log FLOPs / d log X over the same points. A slope below the model's means fixed "
             "overheads (dispatch, memory) dominate at the small end."]
    rows = []
    for fit in analysis.all_slopes(ok):
        rows.append([fit.axis, analysis.describe(fit.fixed, skip=(fit.axis,)), fit.mode,
                     f"{min(fit.x)}..{max(fit.x)}", len(fit.x),
                     "-" if fit.measured is None else f"{fit.measured:.2f}",
                     "-" if fit.theory is None else f"{fit.theory:.2f}"])
    if not rows:
        return [*lines, "", "No axis varies over 3 or more values with the others fixed."]
    return lines + _table(["axis", "fixed", "mode", "range", "points", "measured slope",
                           "model slope"], rows)


def _crossover(ok: pd.DataFrame) -> list[str]:
    lines = ["", "## Forward against reverse: the crossover", ""]
    series = analysis.ratio_series(ok)
    if not series:
        return [*lines, "Not measured: no group at fixed L, K, N where both forward and reverse "
                "measured ok at two or more values of D/P."]
    lines.append("The model says forward costs (L-1)·K²·D + P·K·D and reverse (L-1)·K²·P + P·K·D "
                 "multiply-adds beyond the primal, so they cross at D = P. Measured ratios are "
                 "taken within each round, then the median over rounds.")
    lines.append("")
    for s in series:
        lines.append(f"- {s.title}: {_crossover_sentence(s)}")
    return lines


def _crossover_sentence(s: analysis.RatioSeries) -> str:
    lo, hi = min(s.d_over_p), max(s.d_over_p)
    model = ", ".join(f"{x:.2g}" for x in s.theory_crossings) or "none in range"
    if not s.measured_crossings:
        faster = s.num if s.ratio[0] < 1 else s.den
        return (f"{faster} is faster over the whole measured range D/P = {lo:.2g}..{hi:.2g} "
                f"(model crossover: {model}).")
    where = ", ".join(f"{x:.2g}" for x in s.measured_crossings)
    text = f"measured {s.num}/{s.den} ratio crosses 1 at D/P ≈ {where} (model: {model})"
    if len(s.measured_crossings) > 1:
        return text + "; it crosses more than once: near-ties or noise."
    x = s.measured_crossings[0]
    if 0.9 <= x <= 1.1:
        return text + ", at D = P within 10%."
    side = "below" if x < 1 else "above"
    return text + f": {side} D = P, so {s.num} wins only while D < {x:.2g}·P."


def _regions(ok: pd.DataFrame) -> list[str]:
    lines = ["", "## Best mode per shape region", "",
             "Counted over points where two or more modes measured ok; the margin is the "
             "winner's speed-up over the runner-up (median over the region's points)."]
    rows = []
    for r in analysis.best_by_region(ok):
        wins = ", ".join(f"{m} {n}" for m, n in sorted(r.wins.items(), key=lambda kv: -kv[1]))
        margin = "-" if r.median_margin is None else f"{r.median_margin:.2f}x"
        rows.append([r.region, r.points, wins or "no points", margin])
    return lines + _table(["region", "points", "fastest (points won)", "median margin"], rows)


def _memory(ok: pd.DataFrame) -> list[str]:
    """Peak memory per mode: the cost model's state beside what CUDA's allocator measured."""
    lines = ["", "## Peak memory", "",
             "The model counts the state a mode holds beyond weights, input and Jacobian (reverse: "
             "L·K stored activations and a P×K adjoint per input; forward: a K×D tangent). "
             "Measured peaks come from `torch.cuda.max_memory_allocated` around one call, so "
             "they exist for CUDA rows only; on the CPU no per-call statistic is honest enough."]
    largest = ok.loc[ok.groupby(["device", "dtype", "mode"])["model_peak_bytes"].idxmax()]
    table = []
    for r in largest.itertuples():
        measured = r.measured_peak_bytes
        known = measured is not None and not pd.isna(measured)
        table.append([r.device, r.mode, _point(r), _bytes(r.model_peak_bytes),
                      _bytes(measured) if known else "-",
                      f"{measured / r.model_peak_bytes:.2f}" if known and r.model_peak_bytes
                      else "-"])
    return [*lines, "", "At each mode's largest modelled point:",
            *_table(["device", "mode", "point", "model", "measured", "measured / model"], table)]


def _bytes(value: float) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{int(value)} B"


def _efficiency(ok: pd.DataFrame) -> list[str]:
    eff = pd.to_numeric(ok["efficiency"], errors="coerce")
    rows = ok.assign(efficiency=eff)[eff > 0]
    lines = ["", "## Efficiency against the machine's floor", ""]
    if rows.empty:
        return [*lines, "No efficiency recorded (the sweep measured no ceilings)."]
    lines.append("Efficiency = floor / measured median, the floor being the time the measured "
                 "ceilings allow for the model's FLOPs and bytes.")
    table = []
    for (device, dtype, mode), g in rows.groupby(["device", "dtype", "mode"], sort=True):
        top = g.loc[g["efficiency"].idxmax()]
        table.append([device, dtype, mode, _percent(g["efficiency"].median()),
                      _percent(top["efficiency"]), _point(top.to_dict())])
    return lines + _table(["device", "dtype", "mode", "median", "best", "best at"], table)


def _not_ok(frame: pd.DataFrame) -> list[str]:
    lines = ["", "## Points not measured ok"]
    bad = frame[frame["status"] != "ok"]
    if bad.empty:
        return [*lines, "", "Every row measured ok."]
    rows = []
    for (status, mode, reason), g in bad.groupby(
            [bad["status"].fillna("?"), bad["mode"].fillna("?"), bad["reason"].fillna("")],
            sort=True):
        labels = [_point(r) + ("" if r["role"] == "sweep" else f" [{r['role']}]")
                  for r in g.to_dict("records")]
        shown = "; ".join(labels[:6]) + (f"; and {len(labels) - 6} more" if len(labels) > 6 else "")
        rows.append([status, mode, len(g), reason or "-", shown])
    return lines + _table(["status", "mode", "rows", "reason", "points"], rows)
