"""The report's time-model section and its figure, from tables with and without predictions."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from factories import FAKE_MODEL, default_rows, frame_of, grid, make_rows

from jacbench.analysis.prediction import advisor_score, mode_errors, slope_checks
from jacbench.analysis.table import ok_sweep
from jacbench.render.figures_prediction import predicted_vs_measured
from jacbench.render.sections_prediction import prediction
from jacbench.theory.time_model import models_to_json


def test_errors_advisor_and_slopes_from_known_rows() -> None:
    # measured = predicted × 1.2 for forward, × 0.5 for reverse: errors 1/1.2 - 1 and 1
    rows = make_rows(grid(L=[1, 2, 4, 8]))
    for r in rows:
        r["time_median_s"] = r["predicted_s"] * (1.2 if r["mode"] == "forward" else 0.5)
    ok = ok_sweep(frame_of(rows))
    errors = {e.mode: e for e in mode_errors(ok)}
    assert errors["forward"].median == pytest.approx(1 - 1 / 1.2)
    assert errors["reverse"].median == pytest.approx(1.0)
    assert errors["all hand-written"].rows == 8
    score = advisor_score(ok)
    assert score.points == 4
    # the model thinks forward and reverse equal at P = D; the pick is whichever is first
    assert score.right + len([m for m in score.misses if m[3] > 1.1]) == 4
    checks = {c.mode: c for c in slope_checks(ok)}
    assert checks["reverse"].measured == pytest.approx(checks["reverse"].predicted)


def test_the_section_states_targets_and_parameters(tmp_path: Path) -> None:
    (tmp_path / "_calibration-r1.json").write_text(
        models_to_json([dataclasses.replace(FAKE_MODEL, threads=2)]))
    text = "\n".join(prediction(ok_sweep(frame_of(default_rows())), tmp_path))
    assert "## Predicted against measured" in text
    assert "| cpu | float32 | 2 |" in text  # the calibration's parameters
    assert "hand-written modes: median error" in text and "target of 25%" in text
    assert "The advisor's pick" in text and "right at" in text
    assert "Slopes the FLOP model misses" in text


def test_a_table_without_predictions_says_so(tmp_path: Path) -> None:
    frame = frame_of(default_rows())
    frame["predicted_s"] = None
    text = "\n".join(prediction(ok_sweep(frame), tmp_path))
    assert "written before the time model" in text
    assert isinstance(predicted_vs_measured(ok_sweep(frame)), str)


def test_the_scatter_is_drawn() -> None:
    ok = ok_sweep(frame_of(default_rows()))
    figure = predicted_vs_measured(ok)
    assert not isinstance(figure, str)
    assert figure.axes[0].get_xscale() == "log"
