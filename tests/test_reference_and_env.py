"""jacbench.model.reference (what the sweep verifies against) and jacbench.measure.environment (what rows carry)."""

from __future__ import annotations

import socket

import pytest
import torch
from hypothesis import given
from reference import cases
from reference import reference_jacobian as independent_jacobian

from jacbench import env
from jacbench.model.reference import TOLERANCE, reference_jacobian, relative_error
from jacbench.results.storage import COLUMN_NAMES, SCHEMA_VERSION


@given(cases())
def test_the_sweeps_reference_agrees_with_the_tests_independent_one(case) -> None:
    net, x = case.build(torch.float64)
    J = reference_jacobian(net, x)
    assert J.dtype == torch.float64 and J.shape == (*x.shape[:-1], net.P, net.D)
    assert relative_error(J, independent_jacobian(net, x)) <= 1e-12


def test_reference_of_a_float32_model_uses_its_float32_weights_in_float64() -> None:
    from reference import Case

    net, x = Case(4, 5, 6, 3, 2, "sigmoid", True, seed=3).build(torch.float32)
    assert relative_error(reference_jacobian(net, x), independent_jacobian(net, x)) <= 1e-12


def test_relative_error_is_absolute_against_a_zero_reference() -> None:
    zero = torch.zeros(2, 3, dtype=torch.float64)
    assert relative_error(zero, zero) == 0.0
    assert relative_error(torch.full((2, 3), 0.5), zero) == pytest.approx(0.5 * 6**0.5)


def test_sweep_tolerances_are_no_looser_than_float32_rounding_needs() -> None:
    assert TOLERANCE["float64"] <= 1e-10 and TOLERANCE["float32"] <= 1e-4


def test_run_environment_fills_schema_columns() -> None:
    environment = env.run_environment()
    assert set(environment) <= set(COLUMN_NAMES)
    assert environment["schema_version"] == SCHEMA_VERSION
    assert environment["torch_version"] == torch.__version__
    assert environment["host"] == socket.gethostname()
    assert environment["num_threads"] == torch.get_num_threads()
    assert environment["cpu_model"] and environment["started_at"].endswith("+00:00")
    assert env.run_environment()["run_id"] != environment["run_id"]  # one id per run


def test_device_name_of_the_cpu_is_its_model() -> None:
    assert env.device_name("cpu") == env.cpu_model()
