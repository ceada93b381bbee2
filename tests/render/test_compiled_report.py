"""Compiled against eager in the plots and the report: the pairs, break-even calls, the fastest
mode of each family, a figure, and nothing drawn or written where no compiled mode ran."""

from __future__ import annotations

import math

import pytest
from factories import flop_time, frame_of, grid, make_rows, write_rows
from test_plots import assert_readable_png

from jacbench.analysis.compiled import best_by_family, break_even_calls, compiled_vs_eager
from jacbench.render.plots import make_plots
from jacbench.render.report import write_report
from jacbench.render.sections_compiled import compiled, fastest_of_all
from jacbench.render.style import mode_colours

#: Compiled modes 2x faster than eager jacrev, 1.25x faster than eager reverse; JAX's jacrev 4x.
SPEED = {"jax-jacrev": 0.25, "reverse-compiled": 0.8, "reverse-aoti": 0.5}


def timed(mode: str, p: dict) -> float:
    eager = {"jax-jacrev": "jacrev", "reverse-compiled": "reverse", "reverse-aoti": "reverse"}
    return flop_time(eager.get(mode, mode), p) * SPEED.get(mode, 1.0)


def rows_with_compiled() -> list[dict]:
    modes = ("forward", "reverse", "jacrev", "jax-jacrev", "reverse-compiled", "reverse-aoti")
    rows = make_rows(grid(D=[4, 64, 256], P=[4, 64, 256]), modes, time=timed)
    for r in rows:
        r["compile_s"] = {"jax-jacrev": 0.2, "reverse-compiled": 5.0,
                          "reverse-aoti": 15.0}.get(r["mode"], 0.001)
    return rows


def test_break_even_is_compile_time_over_time_saved_and_never_when_slower():
    assert break_even_calls(5.0, 3e-3, 1e-3) == pytest.approx(2500)
    assert math.isinf(break_even_calls(5.0, 1e-3, 1e-3))
    assert math.isinf(break_even_calls(5.0, 1e-3, 2e-3))


def test_compiled_modes_are_paired_with_their_eager_mode():
    pairs = compiled_vs_eager(frame_of(rows_with_compiled()))
    assert set(zip(pairs["mode"], pairs["eager"], strict=True)) == {
        ("jax-jacrev", "jacrev"), ("reverse-compiled", "reverse"), ("reverse-aoti", "reverse")}
    aoti = pairs[pairs["mode"] == "reverse-aoti"].iloc[0]
    assert aoti["speedup"] == pytest.approx(2.0)
    assert aoti["break_even"] == pytest.approx(15.0 / (aoti["eager_s"] - aoti["compiled_s"]))


def test_fastest_of_each_family_per_point():
    best = best_by_family(frame_of(rows_with_compiled()))
    assert len(best) == 9
    assert set(best["compiled peer"]) == {"jax-jacrev"}
    assert set(best["compiled"]) == {"reverse-aoti"}
    lines = "\n".join(fastest_of_all(frame_of(rows_with_compiled())))
    assert "## Fastest mode of each family" in lines and "hand-written" in lines


def test_report_and_figure_show_compiled_against_eager(tmp_path):
    write_rows(tmp_path, rows_with_compiled())
    plots = make_plots(tmp_path)
    figure = tmp_path / "_plots" / "compiled_vs_eager.png"
    assert figure in plots.paths
    assert_readable_png(figure)
    text = write_report(tmp_path, plots).read_text()
    assert "## Compiled against eager" in text and "compiled_vs_eager.png" in text
    assert "pays off after (calls)" in text
    section = "\n".join(compiled(frame_of(rows_with_compiled())))
    assert "| never |" not in section  # every compiled mode here is faster than its eager mode


def test_nothing_compiled_nothing_shown(tmp_path):
    rows = make_rows(grid(D=[4, 64], P=[4, 64]), ("forward", "reverse"))
    write_rows(tmp_path, rows)
    plots = make_plots(tmp_path)
    assert any(s.startswith("compiled_vs_eager.png: no point") for s in plots.skipped)
    assert compiled(frame_of(rows)) == []


def test_seventeen_modes_get_seventeen_colours():
    from jacbench.catalog import mode_names

    colours = mode_colours(mode_names())
    assert len(set(colours.values())) == len(mode_names())


def test_a_family_absent_at_a_point_shows_a_dash_not_nan():
    rows = make_rows(grid(D=[4, 64]), ("forward", "reverse", "jacrev"))
    rows += make_rows(grid(D=[64]), ("reverse-aoti",))  # compiled at one point only
    text = "\n".join(fastest_of_all(frame_of(rows)))
    assert "nan" not in text and "reverse-aoti" in text
