"""render.advise: the advisor's ranking as lines (times as everywhere, by fmt_time) and JSON."""

from __future__ import annotations

import json

from jacbench.render.advise import ranking_json, ranking_lines
from jacbench.render.words import words
from jacbench.results.point import Point
from jacbench.theory.shape import Shape
from jacbench.theory.time_model import MachineModel, predict_at

FLAT = MachineModel(dispatch_s=1e-6, peak_flops=1e11, gemm_half_dim=0.0, sync_s=0.0,
                    elementwise_rate=1e9, bandwidth=((1e6, 1e10),))
POINT = Point("cpu", "float64", "tanh", False, L=1, D=1000, K=1000, P=1, batch=1)


def ranking() -> list:
    found = [predict_at(m, Shape(1, 1000, 1000, 1), FLAT, dtype_bytes=8)
             for m in ("forward", "reverse")]
    return sorted(found, key=lambda p: p.seconds)


def test_the_lines_name_the_point_and_each_mode_with_its_time_and_words() -> None:
    lines = ranking_lines(POINT, ranking(), "a test model")
    assert lines[0] == "L=1 D=1000 K=1000 P=1 N=1 on cpu float64, predicted with a test model:"
    assert lines[1] == ("  1. reverse    1.61 ms  reads 8.01 MB of weights twice, memory-bound at "
                        "10 GB/s")
    assert lines[2].startswith("  2. forward  ") and len(lines) == 3


def test_measured_times_are_set_beside_and_the_pick_checked() -> None:
    lines = ranking_lines(POINT, ranking(), "a test model",
                          {"reverse": 2.5e-3, "forward": 4e-7})
    assert lines[1].endswith("  (measured 2.5 ms)") and lines[2].endswith("  (measured 400 ns)")
    assert lines[-1] == "check: measured fastest: forward, 6250.00x faster than the pick reverse"
    same = ranking_lines(POINT, ranking(), "a test model", {"reverse": 1.0})
    assert same[1].endswith("  (measured 1 s)")
    assert same[-1] == "check: the pick is the fastest measured"


def test_the_json_keeps_every_number_and_the_words() -> None:
    ranked = ranking()
    (first, second) = json.loads(ranking_json(ranked, {"reverse": 2e-3}))
    assert first["mode"] == "reverse" and first["measured_s"] == 2e-3
    assert first["dominant_words"] == words(ranked[0]) and first["dominant"] == "weights"
    assert first["terms_s"] == ranked[0].terms and second["measured_s"] is None
