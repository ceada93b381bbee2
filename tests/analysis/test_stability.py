"""analysis.stability: drift of the reference points repeated at a run's start and end."""

from __future__ import annotations

import pytest
from factories import default_rows, flop_time, frame_of, grid, make_rows

from jacbench.analysis.stability import (
    STEADY_ABOVE_S,
    beyond_limit,
    relative_change,
    stability,
    stability_sentence,
)
from jacbench.results.schema import REPRODUCE_WITHIN, Role, Status


def test_a_change_beyond_the_schemas_limit_is_drift() -> None:
    assert relative_change(2.0, 2.5) == pytest.approx(0.25)
    assert beyond_limit(relative_change(1.0, 1 + 2 * REPRODUCE_WITHIN))
    assert beyond_limit(relative_change(1.0, 1 - 2 * REPRODUCE_WITHIN))
    assert not beyond_limit(relative_change(1.0, 1 + REPRODUCE_WITHIN / 2))


def test_stability_drift_per_run() -> None:
    frame = frame_of(default_rows() + make_rows(
        grid(), role=Role.STABILITY_START, run_id="run-2") + make_rows(
        grid(), role=Role.STABILITY_END, run_id="run-2",
        time=lambda m, p: flop_time(m, p) * 0.95))
    runs = {s.run_id: s for s in stability(frame)}
    assert runs["run-1"].within == pytest.approx(0.25)
    assert [d.mode for d in runs["run-1"].beyond] == ["jacrev"]
    assert runs["run-2"].within == pytest.approx(0.05)
    assert "within 25.0%" in stability_sentence(runs["run-1"])


def test_the_sentence_names_the_drift_of_long_points_when_it_differs() -> None:
    def slow_long(m: str, p: dict) -> float:  # K=512 runs above STEADY_ABOVE_S, K=16 below
        return (10 if p["K"] == 512 else 0.01) * STEADY_ABOVE_S

    start = make_rows(grid(K=[16, 512]), role=Role.STABILITY_START, time=slow_long)
    end = make_rows(grid(K=[16, 512]), role=Role.STABILITY_END,
                    time=lambda m, p: slow_long(m, p) * (1.02 if p["K"] == 512 else 1.3))
    (s,) = stability(frame_of(start + end))
    assert s.within == pytest.approx(0.3)
    assert s.within_above(STEADY_ABOVE_S) == pytest.approx(0.02)
    assert "; 2.0% at points above 1 ms)" in stability_sentence(s)


def test_stability_counts_rows_without_an_ok_partner() -> None:
    rows = make_rows(grid(), role=Role.STABILITY_START) + make_rows(
        grid(), role=Role.STABILITY_END, status=Status.ERROR, reason="boom")
    (s,) = stability(frame_of(rows))
    assert s.pairs == () and s.unmatched == 4 and s.within is None
    assert "no reference point" in stability_sentence(s)
