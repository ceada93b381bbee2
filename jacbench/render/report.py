"""A markdown report of a results folder: environment, stability, medians, theory against timings.

``write_report(RESULTS_DIR)`` reads ``results.parquet`` only and writes ``RESULTS_DIR/_report.md``
(the ``_`` keeps ``pandas.read_parquet(RESULTS_DIR)`` reading the folder as one table), with the
plots of ``render.plots`` embedded by relative links. The sections are written by
``render.sections_run`` and ``render.sections_theory``; every number they state comes from
``jacbench.analysis``, the same ones the plots draw.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from jacbench.analysis.table import load_results, ok_sweep
from jacbench.render import sections_compiled as compiled_sections
from jacbench.render import sections_implementations as implementation_sections
from jacbench.render import sections_prediction as prediction_sections
from jacbench.render import sections_run as run_sections
from jacbench.render import sections_theory as theory_sections
from jacbench.render.plots import PlotResult, make_plots
from jacbench.render.questions import FIGURES
from jacbench.results.point import AXES

REPORT_FILE = "_report.md"
#: Which section embeds which plot; plots not named here go to a closing "Plots" section.
SECTION_PLOTS: dict[str, tuple[str, ...]] = {
    "scaling": tuple(f"time_vs_{a}.png" for a in AXES),
    "crossover": ("ratio_forward_reverse.png",),
    "regions": ("best_mode_map.png",),
    "efficiency": ("efficiency.png", "cpu_vs_gpu.png", "launches.png", "precisions.png"),
    "compiled": ("compiled_vs_eager.png",),
    "implementations": ("implementations.png",),
    "prediction": ("predicted_vs_measured.png",),
}


def write_report(results_dir: str | Path,
                 plots: Sequence[str | Path] | PlotResult | None = None) -> Path:
    """Write RESULTS_DIR/_report.md and return its path.

    ``plots`` None draws them first (into RESULTS_DIR/_plots) so the report never embeds stale
    images; a list embeds those files as they are. Raises ``ResultsError`` (one line) for a
    missing folder, an empty table, or no ok sweep rows, before anything is drawn or written.
    """
    directory = Path(results_dir)
    frame = load_results(directory)
    ok_sweep(frame, f" in {directory}")  # fail before drawing anything
    if plots is None:
        plots = make_plots(directory)
    result = plots if isinstance(plots, PlotResult) else PlotResult([Path(p) for p in plots])
    path = directory / REPORT_FILE
    path.write_text(render_report(frame, directory, result), encoding="utf-8")
    return path


def _image(name: str, link: str) -> list[str]:
    """The figure, then a line saying what it answers and how (``render.questions``)."""
    if name not in FIGURES:
        return ["", f"![{name}]({link})"]
    asked, drawn = FIGURES[name]
    return ["", f"![{asked}]({link})", "", f"*{asked}* {drawn}."]


def render_report(frame: pd.DataFrame, results_dir: Path, plots: PlotResult) -> str:
    """The report's markdown text; each plot embedded once, in its section or at the end."""
    ok = ok_sweep(frame)
    links = {Path(p).name: Path(os.path.relpath(p, results_dir)).as_posix() for p in plots.paths}
    used: set[str] = set()

    def embed(section: str) -> list[str]:
        names = [name for name in SECTION_PLOTS[section] if name in links]
        used.update(names)
        return [line for name in names for line in _image(name, links[name])]

    parts = [
        f"# jacbench report: {results_dir.resolve().name}", "",
        run_sections.overview(frame),
        *run_sections.environment(frame),
        *run_sections.drift(frame),
        *run_sections.health(frame),
        *theory_sections.medians(frame),
        *theory_sections.slopes(ok), *embed("scaling"),
        *prediction_sections.prediction(ok, results_dir), *embed("prediction"),
        *theory_sections.crossover(ok), *embed("crossover"),
        *theory_sections.regions(ok), *embed("regions"),
        *compiled_sections.fastest_of_all(ok),
        *implementation_sections.fastest_per_implementation(ok), *embed("implementations"),
        *compiled_sections.compiled(ok), *embed("compiled"),
        *theory_sections.efficiency(ok), *embed("efficiency"),
        *theory_sections.memory(ok),
        *theory_sections.not_ok(frame),
    ]
    rest = [name for name in links if name not in used]
    if rest:
        parts += ["", "## Plots", *(line for name in rest for line in _image(name, links[name]))]
    if plots.skipped:
        parts += ["", "Plots not drawn:", ""] + [f"- {line}" for line in plots.skipped]
    return "\n".join(parts).rstrip() + "\n"
