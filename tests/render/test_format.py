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
    fmt_gflops,
    fmt_percent,
    fmt_point,
    fmt_si,
    fmt_time,
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


def test_fmt_point_titles_a_group() -> None:
    ok = ok_sweep(frame_of(default_rows()))
    (width,) = find_sweeps(ok, "K")
    assert fmt_point(width.fixed) == "L=4, D=64, P=64, N=1 (cpu float32 tanh)"
    assert fmt_point(width.fixed, skip=("D", "P")) == "L=4, N=1 (cpu float32 tanh)"
    assert fmt_point({"L": 2.0, "K": None, "bias": True, "device": "cuda"}) == "L=2 (cuda bias)"


def test_the_examples_in_the_docstring_run() -> None:
    assert doctest.testmod(fmt).failed == 0
