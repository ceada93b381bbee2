"""The check's tolerance per precision (``model.reference.tolerance``) against values worked out
by hand from its formula: SAFETY · (L + 1) · (u + sqrt(width) · u_acc), never below float32's
and float64's least tolerance."""

from __future__ import annotations

import pytest

from jacbench.catalog import DTYPES, MATMUL_PRECISION
from jacbench.model.reference import SAFETY, TOLERANCE, UNIT_ROUNDOFF, tolerance

# (dtype, L, width, expected), each worked out by hand:
HAND_VALUES = [
    # 4 · 4 · (2^-8 + 4 · 2^-24) = 0.0625 + 16 · 4 / 16777216
    ("bfloat16", 3, 16, 0.0625 + 64 / 16777216),
    # 4 · 2 · (2^-11 + 10 · 2^-24) = 8 · (0.00048828125 + 0.000000596046...) = 0.0039110183...
    ("float16", 1, 100, 0.003911018371582031),
    # 4 · 11 · (2^-11 + 32 · 2^-24) = 44 · 2^-11 + 1408 · 2^-24 = 0.021484375 + 0.0000839233...
    ("tf32", 10, 1024, 0.021484375 + 1408 / 16777216),
    # float32 deep and wide enough to pass its least tolerance: 4 · 101 · (1 + 100) · 2^-24
    ("float32", 100, 10_000, 40804 / 16777216),
    # float64 likewise: 4 · 1001 · (1 + 1000) · 2^-53
    ("float64", 1000, 1_000_000, 4008004 / 2.0**53),
]


@pytest.mark.parametrize(("dtype", "L", "width", "expected"), HAND_VALUES,
                         ids=[v[0] for v in HAND_VALUES])
def test_the_tolerance_is_the_formula_worked_by_hand(dtype, L, width, expected):
    assert tolerance(dtype, L, width) == pytest.approx(expected, rel=1e-12)


def test_float32_and_float64_keep_their_tolerance_at_the_shapes_swept_so_far():
    # float32 at L = 10, width 1000: 4 · 11 · (1 + 31.6) · 2^-24 = 8.6e-5, below 1e-4
    assert tolerance("float32", 10, 1000) == TOLERANCE["float32"] == 1e-4
    assert tolerance("float64", 10, 1000) == TOLERANCE["float64"] == 1e-10
    assert tolerance("float32", 1, 1) == 1e-4


def test_the_tolerance_grows_with_depth_and_width_and_falls_with_precision():
    assert tolerance("bfloat16", 8, 64) < tolerance("bfloat16", 16, 64)
    assert tolerance("bfloat16", 8, 64) < tolerance("bfloat16", 8, 4096)
    # bf16 has 7 mantissa bits, fp16 and TF32 10, float32 23
    assert tolerance("float16", 8, 64) < tolerance("bfloat16", 8, 64)
    assert tolerance("float32", 8, 64) < tolerance("tf32", 8, 64)
    assert SAFETY >= 1


def test_every_dtype_has_the_unit_roundoff_of_its_products():
    assert set(UNIT_ROUNDOFF) == set(DTYPES)
    assert UNIT_ROUNDOFF["bfloat16"] == 2.0**-8  # 8 significant bits
    assert UNIT_ROUNDOFF["float16"] == UNIT_ROUNDOFF["tf32"] == 2.0**-11  # 11
    # tf32 stores float32, but its products round to TF32: its roundoff is not float32's
    assert MATMUL_PRECISION["tf32"] == "tf32" and UNIT_ROUNDOFF["tf32"] > UNIT_ROUNDOFF["float32"]


@pytest.mark.parametrize(("dtype", "L", "width"), [("float8", 1, 1), ("float32", 0, 4),
                                                   ("bfloat16", 2, 0)])
def test_a_bad_question_is_refused(dtype, L, width):
    with pytest.raises(ValueError):
        tolerance(dtype, L, width)


def test_a_kink_adds_the_units_that_rounding_switches_in_the_reduced_precisions():
    # bf16: 4 · 4 · (2^-8 + 4 · 2^-24) + 4 · sqrt(4 · 2^-8) = 0.0625038... + 4 · 0.125
    assert tolerance("bfloat16", 3, 16, "relu") == pytest.approx(0.5625 + 64 / 16777216,
                                                                 rel=1e-12)
    # fp16: 4 · 2 · (2^-11 + 10 · 2^-24) + 4 · sqrt(2 · 2^-11) = 0.0039110... + 4 · 2^-5
    assert tolerance("float16", 1, 100, "relu") == pytest.approx(0.003911018371582031 + 0.125,
                                                                 rel=1e-12)
    # float32 and float64 keep theirs: no unit is expected to switch at their roundoff
    assert tolerance("float32", 10, 1000, "relu") == 1e-4
    assert tolerance("float64", 3, 16, "relu") == 1e-10
    assert tolerance("bfloat16", 3, 16, "sigmoid") == tolerance("bfloat16", 3, 16)
