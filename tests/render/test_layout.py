"""Every figure reads at a glance: checked through matplotlib's own layout after a draw.

Each figure is drawn from a table of known law (tests/factories.py) holding rows for all of them,
every catalogued mode included, and then: no legend overlaps an axes it does not belong to or
another legend, the data axes take a fair share of the image, and no axes carries more than
eight lines.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import pytest
from factories import every_figure_rows, frame_of
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from jacbench.analysis.table import load_results, ok_sweep
from jacbench.catalog import CATALOG, IMPLEMENTATIONS
from jacbench.render.plots import drawers
from jacbench.render.questions import FIGURES
from jacbench.render.style import RC, look

#: The share of the image the data axes take together, at least (the issue found 3%).
MIN_AXES_SHARE = 0.35
MAX_LINES = 8


@pytest.fixture(scope="module")
def figures() -> dict[str, Figure | str]:
    ok = ok_sweep(frame_of(every_figure_rows()))
    drawn = {}
    with mpl.rc_context(RC):
        for name, draw in drawers(ok):
            figure = draw()
            if isinstance(figure, Figure):
                FigureCanvasAgg(figure).draw()  # the layout as a saved PNG gets it
            drawn[name] = figure
    return drawn


def _overlap(a: Bbox, b: Bbox) -> float:
    """The area (pixels²) two boxes share."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(w, 0.0) * max(h, 0.0)


def test_every_figure_is_drawn_and_asks_its_question(figures: dict[str, Figure | str]) -> None:
    assert set(figures) == set(FIGURES)
    skipped = {name: f for name, f in figures.items() if isinstance(f, str)}
    assert skipped == {}
    for name, figure in figures.items():
        assert isinstance(figure, Figure)
        assert figure.get_suptitle().startswith(FIGURES[name][0]), name


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_no_legend_overlaps_another_axes_or_legend(figures: dict[str, Figure | str],
                                                   name: str) -> None:
    figure = figures[name]
    assert isinstance(figure, Figure)
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    legends = [(None, legend) for legend in figure.legends]
    legends += [(ax, ax.get_legend()) for ax in figure.axes if ax.get_legend() is not None]
    assert len(figure.legends) <= 1, "one legend per figure"
    for i, (owner, legend) in enumerate(legends):
        box = legend.get_window_extent(renderer)
        for ax in figure.axes:
            if ax is not owner:
                assert _overlap(box, ax.get_window_extent(renderer)) < 1.0, (name, ax.get_title())
        for _, other in legends[i + 1:]:
            assert _overlap(box, other.get_window_extent(renderer)) < 1.0, name
        assert figure.bbox.contains(box.x0 + 1, box.y0 + 1), name  # inside the image


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_axes_take_a_fair_share_and_carry_few_lines(figures: dict[str, Figure | str],
                                                    name: str) -> None:
    figure = figures[name]
    assert isinstance(figure, Figure)
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    image = figure.bbox.width * figure.bbox.height
    share = sum(ax.get_window_extent(renderer).width * ax.get_window_extent(renderer).height
                for ax in figure.axes) / image
    assert share >= MIN_AXES_SHARE, (name, share)
    for ax in figure.axes:
        assert len(ax.get_lines()) <= MAX_LINES, (name, ax.get_title(), len(ax.get_lines()))


def test_the_scaling_labels_give_measured_and_model_slopes(
        figures: dict[str, Figure | str]) -> None:
    figure = figures["time_vs_L.png"]
    assert isinstance(figure, Figure)
    labels = [t.get_text() for t in figure.legends[0].get_texts()]
    forward = next(label for label in labels if label.startswith("forward:"))
    measured, model = (float(v) for v in forward.split(": ")[1].strip(")").split(" ("))
    # flop_time is FLOPs at a constant rate plus 20 us: no steeper than the model, and close
    assert 0.5 * model < measured <= model + 0.01
    assert any("cost model" in label for label in labels)


def test_one_look_per_mode_hue_per_algorithm_marker_per_implementation() -> None:
    looks = {name: look(name) for name in CATALOG}
    assert len({(lk.colour, lk.marker) for lk in looks.values()}) == len(CATALOG)
    assert len({lk.colour for lk in looks.values()}) == len(CATALOG)
    for implementation in IMPLEMENTATIONS:
        mine = [looks[n].marker for n, m in CATALOG.items() if m.implementation == implementation]
        assert len(set(mine)) <= 1
    assert look("a-new-mode") == look("a-new-mode")
    assert look("a-new-mode").colour not in {lk.colour for lk in looks.values()}


def test_the_gpu_figures_say_why_they_are_skipped_on_the_h200_rows() -> None:
    ok = ok_sweep(load_results(Path(__file__).parents[1] / "data" / "gpu-h200"))
    reasons = {name: draw() for name, draw in drawers(ok)
               if name in ("cpu_vs_gpu.png", "launches.png", "precisions.png")}
    assert "both cpu and cuda" in reasons["cpu_vs_gpu.png"]
    assert "one-program mode" in reasons["launches.png"]
    assert "two or more dtypes" in reasons["precisions.png"]
