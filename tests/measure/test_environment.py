"""The run environment: every key is a schema column, one run id per run, the CPU's name."""

from __future__ import annotations

import socket

import torch

from jacbench.measure import environment as env
from jacbench.results.schema import COLUMN_NAMES


def test_run_environment_fills_schema_columns() -> None:
    environment = env.run_environment()
    assert set(environment) <= set(COLUMN_NAMES)
    assert environment["torch_version"] == torch.__version__
    assert environment["host"] == socket.gethostname()
    assert environment["num_threads"] == torch.get_num_threads()
    assert environment["cpu_model"] and environment["started_at"].endswith("+00:00")
    assert env.run_environment()["run_id"] != environment["run_id"]  # one id per run


def test_device_name_of_the_cpu_is_its_model() -> None:
    assert env.device_name("cpu") == env.cpu_model()
