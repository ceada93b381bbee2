"""Fixtures and settings for the pytest-benchmark suite in this folder.

- ``jacobian_reference``: the float64 reference the sweep checks against
  (``jacbench.model.reference``: the chain product with act'(h_i) written from the pre-activation h,
  not from the activation output as the modes do). Every benchmark checks its mode against it once,
  untimed, before timing.
- Suite timing defaults (``SUITE_TIMING``), applied as a ``pytest.mark.benchmark`` marker to each
  benchmark here unless the same setting is given on the command line, in ``PYTEST_ADDOPTS`` or in
  the ini ``addopts``: ``--benchmark-max-time=1`` still means one second per benchmark.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from jacbench import MLP
from jacbench.model.reference import reference_jacobian

HERE = Path(__file__).parent

#: pytest-benchmark's default max_time is 1.0 s per benchmark; with ~40 cases a quarter of a second
#: each keeps the suite well under a minute. Its min_rounds (5) still gives slow cases 5 rounds.
SUITE_TIMING = {"max_time": 0.25}

@pytest.fixture(scope="session")
def jacobian_reference() -> Callable[[MLP, torch.Tensor], torch.Tensor]:
    """The float64 reference Jacobian, ``(net, x) -> J`` on x's device: the sweep's own."""
    return reference_jacobian


def _given_by_user(config: pytest.Config, option: str) -> bool:
    """Whether ``--option`` appears on the command line, in PYTEST_ADDOPTS or in the ini addopts."""
    words = [
        *config.invocation_params.args,
        *shlex.split(os.environ.get("PYTEST_ADDOPTS", "")),
        *config.getini("addopts"),
    ]
    return any(w == option or w.startswith(option + "=") for w in words)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    defaults = {
        name: value
        for name, value in SUITE_TIMING.items()
        if not _given_by_user(config, "--benchmark-" + name.replace("_", "-"))
    }
    if not defaults:
        return
    for item in items:
        if item.path.is_relative_to(HERE) and "benchmark" in getattr(item, "fixturenames", ()):
            # Appended: the plugin reads the closest benchmark marker, so a test's own wins.
            item.add_marker(pytest.mark.benchmark(**defaults))
