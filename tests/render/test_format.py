"""render.format: every formatter, the one way each kind of number reads."""

from __future__ import annotations

import doctest
import math

import pytest
from factories import default_rows, frame_of

import jacbench.render.format as fmt
from jacbench.analysis.fits import find_sweeps
from jacbench.analysis.table import ok_sweep
from jacbench.render.format import (
    fmt_bytes,
    fmt_duration,
    fmt_gflops,
    fmt_percent,
    fmt_point,
    fmt_quantity,
    fmt_si,
    fmt_time,
    fmt_us,
)


def test_fmt_time_units() -> None:
    assert fmt_time(3.123e-3) == "3.12 ms"
    assert fmt_time(4.5e-4) == "450 us"
    assert fmt_time(2.0) == "2 s"
    assert fmt_time(4e-9) == "4 ns"
    assert fmt_time(3.1e-3, compact=True) == "3.1ms"
    assert fmt_time(25e-6, compact=True) == "25us"
    assert fmt_time(math.nan) == "-" and fmt_time(None) == "-"


@pytest.mark.parametrize(("value", "text"), [(512, "512 B"), (2048, "2 KiB"),
                                              (3 * 2**20, "3 MiB"), (1.5 * 2**30, "1.5 GiB"),
                                              (math.nan, "-"), (None, "-")])
def test_fmt_bytes_in_binary_units(value: float | None, text: str) -> None:
    assert fmt_bytes(value) == text


def test_percent_si_and_rates() -> None:
    assert fmt_percent(0.0425) == "4.25%" and fmt_percent(1.0) == "100%"
    assert fmt_si(1.5e9) == "1.5G" and fmt_si(2e12) == "2T" and fmt_si(20) == "20"
    assert fmt_gflops(1.7e11) == "170.0" and fmt_gflops(math.nan) == "-"


def test_quantities_with_a_unit_and_per_call_microseconds() -> None:
    assert fmt_quantity(4e6, "B") == "4 MB" and fmt_quantity(1.0e10, "B/s") == "10 GB/s"
    assert fmt_quantity(1.8e10, "FLOP") == "18 GFLOP"
    assert fmt_quantity(2e12, "FLOP") == "2e+03 GFLOP"  # no T: the time model's words say G
    assert fmt_quantity(1.33e5, "elements") == "133 kelements"
    assert fmt_quantity(950, "elements") == "950 elements" and fmt_quantity(-2e6, "B") == "-2 MB"
    assert fmt_us(4e-6) == "4 us" and fmt_us(1e-3) == "1e+03 us" and fmt_us(2.5e-7) == "0.25 us"


@pytest.mark.parametrize(("seconds", "text"), [(0, "0 s"), (45, "45 s"), (89.4, "89 s"),
                                                (90, "2 min"), (720, "12 min"), (5399, "90 min"),
                                                (5400, "1 h 30 min"), (7800, "2 h 10 min")])
def test_durations_read_as_people_say_them(seconds: float, text: str) -> None:
    assert fmt_duration(seconds) == text


def test_fmt_point_titles_a_group() -> None:
    ok = ok_sweep(frame_of(default_rows()))
    (width,) = find_sweeps(ok, "K")
    assert fmt_point(width.fixed) == "L=4, D=64, P=64, N=1 (cpu float32 tanh)"
    assert fmt_point(width.fixed, skip=("D", "P")) == "L=4, N=1 (cpu float32 tanh)"
    assert fmt_point({"L": 2.0, "K": None, "bias": True, "device": "cuda"}) == "L=2 (cuda bias)"


def test_the_examples_in_the_docstring_run() -> None:
    assert doctest.testmod(fmt).failed == 0
