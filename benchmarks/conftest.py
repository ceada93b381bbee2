"""Fixtures and settings for the pytest-benchmark suite in this folder.

- ``jacobian_reference``: an independent float64 Jacobian, the explicit chain product
  ``W_F · diag(s_L) · W_L · ... · diag(s_1) · W_1`` with ``s_i = act'(h_i)`` written from the
  pre-activation h (not from the activation output, as the modes do). Every benchmark checks its
  mode against it once, untimed, before timing.
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

HERE = Path(__file__).parent

#: pytest-benchmark's default max_time is 1.0 s per benchmark; with ~40 cases a quarter of a second
#: each keeps the suite well under a minute. Its min_rounds (5) still gives slow cases 5 rounds.
SUITE_TIMING = {"max_time": 0.25}

_DERIVATIVES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": lambda h: 1.0 / torch.cosh(h) ** 2,
    "sigmoid": lambda h: torch.sigmoid(h) * torch.sigmoid(-h),
    "relu": lambda h: (h > 0).to(h.dtype),
}


def chain_jacobian_float64(net: MLP, x: torch.Tensor) -> torch.Tensor:
    """dy/dx in float64 on the CPU, sample by sample: (P, D) for x (D,), (N, P, D) for (N, D)."""
    weights = [W.detach().to("cpu", torch.float64) for W in net.weights]
    biases = (
        [torch.zeros(W.shape[0], dtype=torch.float64) for W in weights]
        if net.biases is None
        else [b.detach().to("cpu", torch.float64) for b in net.biases]
    )
    act, act_prime = net.act.fn, _DERIVATIVES[net.activation]
    samples = x.detach().to("cpu", torch.float64).reshape(-1, net.D)
    jacobians = []
    for x_n in samples:
        h = weights[0] @ x_n + biases[0]
        J = weights[0]  # dh_1/dx
        for W, b in zip(weights[1:], biases[1:], strict=True):
            J = W @ torch.diag(act_prime(h)) @ J
            h = W @ act(h) + b
        jacobians.append(J)
    J = torch.stack(jacobians)
    return J[0] if x.dim() == 1 else J


@pytest.fixture(scope="session")
def jacobian_reference() -> Callable[[MLP, torch.Tensor], torch.Tensor]:
    """The float64 reference Jacobian, ``(net, x) -> J`` on the CPU."""
    return chain_jacobian_float64


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
