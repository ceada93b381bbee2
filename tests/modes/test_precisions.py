"""Precision as an axis, for real on the CPU: every mode that claims bfloat16 or float16 agrees
with the float64 reference within that precision's tolerance (``model.reference.tolerance``),
through the runner's own check; a mode that cannot run a precision is ``unavailable`` with why.

The modes a default sweep runs are checked at small shapes, single and batched; one
torch.compile mode stands for the compiled ones (compiling costs seconds a shape).
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from jacbench.catalog import CATALOG, DTYPES, FULL_PRECISION, default_modes
from jacbench.model.reference import relative_error, tolerance
from jacbench.results.point import Point
from jacbench.run import check
from jacbench.run.case import TORCH_DTYPES, build_case, mode_unavailable

HALVES = ("bfloat16", "float16")
SHAPES = {"single": (3, 4, 6, 5, 1), "batched": (2, 5, 4, 3, 3)}  # L, D, K, P, batch


def point_in(dtype: str, shape: str = "single", activation: str = "tanh") -> Point:
    L, D, K, P, batch = SHAPES[shape]
    return Point("cpu", dtype, activation, True, L, D, K, P, batch, seed=3)


def claims(dtype: str) -> list[str]:
    return [m for m in default_modes()
            if dtype in CATALOG[m].dtypes and "cpu" in CATALOG[m].devices]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", HALVES)
def test_every_mode_that_claims_a_half_precision_agrees_with_the_reference(dtype, shape):
    point = point_in(dtype, shape)
    case = build_case(point)
    assert case.net.dtype == case.x.dtype == TORCH_DTYPES[dtype]  # weights and inputs in it
    assert case.reference.dtype == torch.float64
    tol = tolerance(dtype, point.L, max(point.D, point.K))
    assert claims(dtype), dtype
    for mode in claims(dtype):
        outcome, ready = check.check_mode(case, point, mode, max_call_time=5.0)
        assert outcome.status == "ok", (mode, outcome.reason)
        assert ready is not None and 0 <= outcome.rel_error <= tol, mode
        J = ready.to_torch(ready.call())
        assert J.shape == case.reference.shape
        # the error is that of the half precision, not of float32 work rounded at the end
        assert relative_error(J, case.reference) <= tol


def test_a_half_precision_mode_really_computes_in_half_precision():
    """bf16 has 8 significant bits: its Jacobian is measurably off the reference, and more so
    than float32's; a mode that silently ran float32 would fail this."""
    errors = {}
    for dtype in ("float32", "bfloat16"):
        point = point_in(dtype)
        outcome, _ = check.check_mode(build_case(point), point, "reverse", max_call_time=5.0)
        errors[dtype] = outcome.rel_error
    assert errors["bfloat16"] > 2.0**-10 > 100 * errors["float32"]


def test_a_compiled_mode_agrees_in_bfloat16():
    point = point_in("bfloat16")
    outcome, _ = check.check_mode(build_case(point), point, "reverse-compiled", 30.0)
    assert outcome.status == "ok", outcome.reason
    assert outcome.rel_error <= tolerance("bfloat16", point.L, max(point.D, point.K))


@pytest.mark.parametrize("dtype", ("bfloat16", "float16", "tf32"))
def test_the_native_modes_are_unavailable_outside_full_precision_and_say_why(dtype):
    case = build_case(point_in("bfloat16"))  # a tf32 point never reaches a mode on a CPU
    point = dataclasses.replace(point_in("bfloat16"), dtype=dtype)
    for mode in ("forward-native", "reverse-native", "chain-native"):
        assert CATALOG[mode].dtypes == FULL_PRECISION
        outcome, ready = check.check_mode(case, point, mode, 5.0)
        assert (outcome.status, ready) == ("unavailable", None)
        assert outcome.reason == mode_unavailable(mode, dtype)
        assert "float32 and float64 only" in outcome.reason and dtype in outcome.reason


def test_the_eager_jax_and_inductor_modes_claim_every_precision():
    for name, info in CATALOG.items():
        if info.implementation in ("eager", "jax-jit", "torch.compile", "aoti"):
            assert info.dtypes == DTYPES, name
    assert mode_unavailable("reverse", "bfloat16") == ""
    assert mode_unavailable("no-such-mode", "bfloat16") == ""


def test_relu_in_bfloat16_agrees_within_its_kinked_tolerance():
    """Rounding switches some ReLUs on or off: at width 256 bf16 measured 0.16, above the
    roundoff term, within the kink's."""
    point = Point("cpu", "bfloat16", "relu", True, 4, 256, 256, 16, 1, seed=3)
    case = build_case(point)
    tol = tolerance("bfloat16", 4, 256, "relu")
    for mode in ("forward", "reverse", "chain"):
        outcome, _ = check.check_mode(case, point, mode, max_call_time=5.0)
        assert outcome.status == "ok", (mode, outcome.reason)
        assert outcome.rel_error <= tol


def test_a_jacobian_below_float16s_range_is_a_mismatch_that_says_so():
    point = Point("cpu", "float16", "sigmoid", False, 16, 16, 64, 16, 1, seed=3)
    case = build_case(point)
    assert float(case.reference.abs().max()) < torch.finfo(torch.float16).tiny
    outcome, ready = check.check_mode(case, point, "reverse", max_call_time=5.0)
    assert (outcome.status, ready) == ("mismatch", None)
    assert "below float16's smallest normal number" in outcome.reason
    assert check.out_of_range(case.reference.to(torch.float32) + 1, torch.float16) == ""
